package live

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/drydock-sim/drydock/core/feed"
	"github.com/drydock-sim/drydock/tui"
)

func node(name string, ready corev1.ConditionStatus) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}}}
}

// waitFor runs frames into a dashboard state until cond holds or the
// deadline passes.
func waitFor(t *testing.T, src *Source, st *tui.State, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st.Apply(src.Frame(0, nil))
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, with a deadline
	}
}

func TestLiveFeed(t *testing.T) {
	ctx := context.Background()
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default", UID: "rs-uid"}}
	ctrl := true
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1-a", Namespace: "default", UID: "pod-a",
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-1", UID: "rs-uid", Controller: &ctrl}}},
		Spec:   corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	cs := fake.NewClientset(node("n1", corev1.ConditionTrue), node("n2", corev1.ConditionTrue), rs, pod)
	src := New(cs, "https://test", time.Now)
	defer src.Close()
	st := tui.NewState()

	waitFor(t, src, st, "initial objects", func() bool {
		return len(st.Nodes) == 2 && len(st.Pods) == 1 && len(st.ReplicaSets) == 1
	})
	if st.Status.Source != "live" || st.Status.Controllable || st.Status.Name != "https://test" {
		t.Fatalf("status %+v", st.Status)
	}

	// A node going NotReady starts a recovery timeline by itself.
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, node("n1", corev1.ConditionUnknown), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, src, st, "NotReady", func() bool { return len(st.Recoveries) == 1 })
	if r := st.Recoveries[0]; r.Node != "n1" || r.Cause != "NotReady" || r.Lost != 1 || !r.Has(tui.StepNotReady) {
		t.Fatalf("recovery %+v", r)
	}

	// Deletions come through.
	if err := cs.CoreV1().Pods("default").Delete(ctx, "web-1-a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, src, st, "pod deleted", func() bool { return len(st.Pods) == 0 })
	if !st.Recoveries[0].Has(tui.StepEvicted) {
		t.Errorf("the deleted pod was not counted as evicted: %+v", st.Recoveries[0].Steps)
	}

	// Commands are refused, with a reason.
	if b := src.Frame(time.Second, []feed.Command{{Op: feed.OpPause}}); b.Status.Err == "" {
		t.Error("a command to a live source gave no error")
	}
}

// TestWatchErrorStaysUntilThatKindWorks: a kind whose list and watch are
// refused keeps its error in the header while other kinds' events flow,
// and loses it once that kind works again.
func TestWatchErrorStaysUntilThatKindWorks(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset(node("n1", corev1.ConditionTrue))
	var refuse atomic.Bool
	refuse.Store(true)
	forbidden := func(k8stesting.Action) (bool, runtime.Object, error) {
		if refuse.Load() {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", nil)
		}
		return false, nil, nil
	}
	cs.PrependReactor("list", "pods", forbidden)
	// client-go may list through a watch (WatchListClient): refuse that too.
	cs.PrependWatchReactor("pods", func(a k8stesting.Action) (bool, watch.Interface, error) {
		if refuse.Load() {
			_, _, err := forbidden(a)
			return true, nil, err
		}
		return false, nil, nil
	})
	src := New(cs, "https://test", time.Now)
	defer src.Close()
	st := tui.NewState()

	waitFor(t, src, st, "the pods error", func() bool { return strings.Contains(st.Status.Err, "watch Pod:") })
	if _, err := cs.CoreV1().Nodes().Create(ctx, node("n2", corev1.ConditionTrue), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, src, st, "the second node", func() bool { return len(st.Nodes) == 2 })
	if !strings.Contains(st.Status.Err, "watch Pod:") {
		t.Errorf("a node event cleared the pods error: header error %q", st.Status.Err)
	}

	refuse.Store(false)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "default"}, Spec: corev1.PodSpec{NodeName: "n1"}}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, src, st, "pods listed and the error gone", func() bool { return len(st.Pods) == 1 && st.Status.Err == "" })
}
