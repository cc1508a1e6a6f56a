package replicaset

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
)

func TestScale(t *testing.T) {
	cases := []struct {
		name          string
		steps         []int32
		creates, dels int
	}{
		{"up from zero", []int32{0, 3}, 3, 0},
		{"up and down", []int32{4, 1}, 4, 3},
		{"down to zero", []int32{2, 0}, 2, 2},
		{"up, up, down", []int32{1, 5, 2}, 5, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, 0)
			e.h.Create(newRS("web", tc.steps[0]))
			e.h.Settle()
			for _, n := range tc.steps[1:] {
				e.kubelet()
				e.h.Settle()
				e.scale("web", n)
				e.h.Settle()
			}
			want := tc.steps[len(tc.steps)-1]
			if got := len(e.active()); got != int(want) {
				t.Fatalf("active pods = %d, want %d", got, want)
			}
			if got := e.countReasons("SuccessfulCreate"); got != tc.creates {
				t.Errorf("SuccessfulCreate events = %d, want %d", got, tc.creates)
			}
			if got := e.countReasons("SuccessfulDelete"); got != tc.dels {
				t.Errorf("SuccessfulDelete events = %d, want %d", got, tc.dels)
			}
			rs := e.rs("web")
			if rs.Status.Replicas != want || rs.Status.ObservedGeneration != rs.Generation {
				t.Errorf("status = %+v, generation %d", rs.Status, rs.Generation)
			}
			for _, p := range e.active() {
				if !strings.HasPrefix(p.Name, "web-") || len(p.Name) != len("web-")+5 {
					t.Errorf("pod name %q, want web-xxxxx", p.Name)
				}
				ref := metav1.GetControllerOf(p)
				if ref == nil || ref.UID != rs.UID || ref.Kind != "ReplicaSet" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
					t.Errorf("pod %s controller ref %+v", p.Name, ref)
				}
			}
		})
	}
}

func TestStatusCounts(t *testing.T) {
	e := setup(t, 0)
	e.h.Create(newRS("web", 3))
	e.h.Settle()
	pods := e.active()
	e.markReady(pods[0].Name)
	e.markReady(pods[1].Name)
	e.h.Settle()
	rs := e.rs("web")
	if s := rs.Status; s.Replicas != 3 || s.ReadyReplicas != 2 || s.AvailableReplicas != 2 || s.FullyLabeledReplicas != 3 {
		t.Fatalf("status = %+v", s)
	}
	// A pod matching the selector but lacking a template label is adopted
	// and counted, but not fully labeled; it makes one pod surplus.
	e.h.Create(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "stray", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}})
	e.h.Settle()
	if n := len(e.active()); n != 3 {
		t.Fatalf("active = %d, want 3 after adopting and trimming", n)
	}
	// The unready, unscheduled stray or an unready sibling goes; the two ready ones stay.
	ready := 0
	for _, p := range e.active() {
		if IsPodReady(p) {
			ready++
		}
	}
	if ready != 2 {
		t.Fatalf("ready pods left = %d, want 2", ready)
	}
}

func TestMinReadySeconds(t *testing.T) {
	e := setup(t, 0)
	rs := newRS("web", 2)
	rs.Spec.MinReadySeconds = 10
	e.h.Create(rs)
	e.h.Settle()
	e.kubelet()
	e.h.Settle()
	if s := e.rs("web").Status; s.ReadyReplicas != 2 || s.AvailableReplicas != 0 {
		t.Fatalf("at ready: status = %+v", s)
	}
	e.h.Advance(10 * time.Second)
	if s := e.rs("web").Status; s.AvailableReplicas != 0 {
		t.Fatalf("at exactly minReadySeconds: available = %d, want 0", s.AvailableReplicas)
	}
	e.h.Advance(time.Second)
	if s := e.rs("web").Status; s.AvailableReplicas != 2 {
		t.Fatalf("after minReadySeconds: status = %+v", s)
	}
}

func TestFailedPodsReplaced(t *testing.T) {
	e := setup(t, 0)
	e.h.Create(newRS("web", 2))
	e.h.Settle()
	victim := e.active()[0].Name
	e.setStatus(victim, func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed })
	e.h.Settle()
	if n := len(e.active()); n != 2 {
		t.Fatalf("active = %d, want 2", n)
	}
	if n := len(e.pods()); n != 3 {
		t.Fatalf("stored pods = %d, want 3 (the failed one stays)", n)
	}
	if s := e.rs("web").Status; s.Replicas != 2 {
		t.Fatalf("status.replicas = %d, want 2", s.Replicas)
	}
}

func TestAdoptionAndRelease(t *testing.T) {
	e := setup(t, 0)
	mk := func(name string, lbl map[string]string, owner []metav1.OwnerReference) {
		e.h.Create(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: lbl, OwnerReferences: owner},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}})
	}
	tr := true
	mk("orphan", map[string]string{"app": "web", "tier": "web"}, nil)
	mk("other", map[string]string{"app": "web"}, []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "else", UID: "u-else", Controller: &tr}})
	mk("unrelated", map[string]string{"app": "db"}, nil)
	e.h.Create(newRS("web", 2))
	e.h.Settle()
	rs := e.rs("web")
	owner := func(name string) *metav1.OwnerReference {
		return metav1.GetControllerOf(e.h.Get(api.Pods, "default", name))
	}
	if ref := owner("orphan"); ref == nil || ref.UID != rs.UID {
		t.Fatalf("orphan not adopted: %+v", ref)
	}
	if ref := owner("other"); ref == nil || ref.UID != "u-else" {
		t.Fatalf("other controller's pod touched: %+v", ref)
	}
	if owner("unrelated") != nil {
		t.Fatal("non-matching pod adopted")
	}
	if n := e.countReasons("SuccessfulCreate"); n != 1 {
		t.Fatalf("creates = %d, want 1 (adoption fills one replica)", n)
	}
	// Relabel the adopted pod: it is released and replaced.
	p := e.h.Get(api.Pods, "default", "orphan").(*corev1.Pod).DeepCopy()
	p.Labels = map[string]string{"app": "moved"}
	if _, err := e.h.API.Update(context.Background(), p, ""); err != nil {
		t.Fatal(err)
	}
	e.h.Settle()
	if ref := owner("orphan"); ref != nil {
		t.Fatalf("relabelled pod not released: %+v", ref)
	}
	if n := len(e.active()) - 3; n != 2 { // orphan, other, unrelated are not web's
		t.Fatalf("web pods = %d, want 2", n)
	}
}

// TestExpectationsUnderWatchLatency: watch events arrive 3s after each
// write, so for a while the cache shows none of the controller's own
// creations or deletions. Checked after every clock step: never more pods
// than wanted, never more deletions than the surplus.
func TestExpectationsUnderWatchLatency(t *testing.T) {
	cases := []struct {
		name         string
		from, to     int32
		maxCreates   int
		maxDeletions int
	}{
		{"scale up", 0, 20, 20, 0},
		{"scale down", 12, 3, 12, 9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, 3*time.Second)
			e.h.Create(newRS("web", tc.from))
			e.h.Advance(30 * time.Second)
			e.kubelet() // bound pods: deletion is graceful, seen first as an update
			e.h.Advance(30 * time.Second)
			e.scale("web", tc.to)
			end := e.h.Clock.Now().Add(60 * time.Second)
			for {
				at, ok := e.h.Clock.Next()
				if !ok || at.After(end) {
					break
				}
				e.h.Clock.Step()
				if n := len(e.active()); n > int(max(tc.from, tc.to)) {
					t.Fatalf("%v: %d active pods, never more than %d", e.h.Clock.Now(), n, max(tc.from, tc.to))
				}
				if n := e.countReasons("SuccessfulDelete"); n > tc.maxDeletions {
					t.Fatalf("%d deletions, want at most %d", n, tc.maxDeletions)
				}
			}
			if n := len(e.active()); n != int(tc.to) {
				t.Fatalf("active = %d, want %d", n, tc.to)
			}
			if n := e.countReasons("SuccessfulCreate"); n != tc.maxCreates {
				t.Fatalf("creates = %d, want %d", n, tc.maxCreates)
			}
			if n := e.countReasons("SuccessfulDelete"); n != tc.maxDeletions {
				t.Fatalf("deletes = %d, want %d", n, tc.maxDeletions)
			}
			add, del := e.c.Expectations.Pending("default/web")
			if add > 0 || del > 0 {
				t.Fatalf("expectations still pending: add %d del %d", add, del)
			}
		})
	}
}

// TestExternalDeleteReplacedOnce: a pod deleted by someone else is replaced
// exactly once even when the watch lags.
func TestExternalDeleteReplacedOnce(t *testing.T) {
	e := setup(t, 2*time.Second)
	e.h.Create(newRS("web", 3))
	e.h.Advance(20 * time.Second)
	victim := e.active()[0].Name
	if _, _, err := e.h.API.Delete(context.Background(), api.Pods, "default", victim, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.h.Advance(20 * time.Second)
	if n := len(e.active()); n != 3 {
		t.Fatalf("active = %d, want 3", n)
	}
	if n := e.countReasons("SuccessfulCreate"); n != 4 {
		t.Fatalf("creates = %d, want 4", n)
	}
}
