package replicaset

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func node(n string) podOpt { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
func phase(ph corev1.PodPhase) podOpt {
	return func(p *corev1.Pod) { p.Status.Phase = ph }
}
func readySince(d time.Duration) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(epoch.Add(d))}}
	}
}
func restarts(n int32) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", RestartCount: n}}
	}
}
func created(d time.Duration) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(epoch.Add(d)) }
}
func cost(v string) podOpt {
	return func(p *corev1.Pod) { p.Annotations = map[string]string{PodDeletionCostAnnotation: v} }
}
func uid(u string) podOpt { return func(p *corev1.Pod) { p.UID = types.UID(u) } }

func mkPod(opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	p.CreationTimestamp = metav1.NewTime(epoch)
	for _, o := range opts {
		o(p)
	}
	return p
}

// TestVictimOrder checks that a is deleted before b, and not the reverse.
func TestVictimOrder(t *testing.T) {
	now := epoch.Add(1000 * time.Hour)
	cases := []struct {
		name         string
		a, b         *corev1.Pod
		rankA, rankB int
	}{
		{"unscheduled first", mkPod(), mkPod(node("n1")), 0, 0},
		{"pending before running", mkPod(node("n"), phase(corev1.PodPending)), mkPod(node("n")), 0, 0},
		{"unknown before running", mkPod(node("n"), phase(corev1.PodUnknown)), mkPod(node("n")), 0, 0},
		{"not ready before ready", mkPod(node("n")), mkPod(node("n"), readySince(0)), 0, 0},
		{"lower deletion cost first", mkPod(node("n"), readySince(0), cost("-5")), mkPod(node("n"), readySince(0)), 0, 0},
		{"doubled up first", mkPod(node("n"), readySince(0)), mkPod(node("m"), readySince(0)), 3, 1},
		{"ready more recently first", mkPod(node("n"), readySince(900*time.Hour)), mkPod(node("n"), readySince(time.Hour)), 0, 0},
		{"more restarts first", mkPod(node("n"), restarts(5)), mkPod(node("n"), restarts(1)), 0, 0},
		{"newer first", mkPod(node("n"), created(999*time.Hour)), mkPod(node("n"), created(time.Hour)), 0, 0},
		{"same log bucket: by uid", mkPod(node("n"), created(time.Hour), uid("a")), mkPod(node("n"), created(time.Hour+time.Minute), uid("b")), 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := rankedPods{pods: []*corev1.Pod{tc.a, tc.b}, rank: []int{tc.rankA, tc.rankB}, now: now}
			if !s.Less(0, 1) {
				t.Errorf("a should go before b")
			}
			s = rankedPods{pods: []*corev1.Pod{tc.b, tc.a}, rank: []int{tc.rankB, tc.rankA}, now: now}
			if s.Less(0, 1) {
				t.Errorf("b should not go before a")
			}
		})
	}
}

func TestVictimsSpreadAcrossNodes(t *testing.T) {
	now := epoch.Add(time.Hour)
	pods := []*corev1.Pod{
		mkPod(node("n1"), readySince(0), uid("1")), mkPod(node("n1"), readySince(0), uid("2")),
		mkPod(node("n1"), readySince(0), uid("3")), mkPod(node("n2"), readySince(0), uid("4")),
	}
	got := victims(pods, pods, 2, now)
	for _, p := range got {
		if p.Spec.NodeName != "n1" {
			t.Fatalf("victim on %s; the doubled-up node n1 should lose pods first", p.Spec.NodeName)
		}
	}
}

func TestExpectationsExpire(t *testing.T) {
	clk := &stepClock{now: epoch}
	e := NewExpectations(clk)
	e.ExpectCreations("k", 2)
	e.CreationObserved("k")
	if e.Satisfied("k") {
		t.Fatal("satisfied with one creation outstanding")
	}
	clk.now = clk.now.Add(ExpectationsTimeout + time.Second)
	if !e.Satisfied("k") {
		t.Fatal("not satisfied after the timeout")
	}
	e.ExpectDeletions("k", []string{"ns/a", "ns/b"})
	e.DeletionObserved("k", "ns/a")
	e.DeletionObserved("k", "ns/a") // seen again (terminating, then gone)
	if add, del := e.Pending("k"); add != 0 || del != 1 {
		t.Fatalf("pending = %d/%d, want 0/1", add, del)
	}
	e.DeletionObserved("k", "ns/b")
	if !e.Satisfied("k") {
		t.Fatal("not satisfied after both deletions")
	}
}
