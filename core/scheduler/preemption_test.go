package scheduler

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/scheduler/internal/testobj"
)

func started(sec int64) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		t := metav1.NewTime(epoch.Add(time.Duration(sec) * time.Second))
		p.Status.StartTime = &t
	}
}

func TestPreemptionMinimalVictims(t *testing.T) {
	h := newHarness(t, 0, 1)
	h.addNode(testobj.Node("n1", "4", "8Gi", 110))
	h.addPod(testobj.Pod("a", "1", "", testobj.Priority(1), testobj.OnNode("n1")))
	h.addPod(testobj.Pod("b", "2", "", testobj.Priority(2), testobj.OnNode("n1")))
	h.addPod(testobj.Pod("c", "1", "", testobj.Priority(5), testobj.OnNode("n1")))
	h.addPod(testobj.Pod("urgent", "2", "", testobj.Priority(100)))
	h.run()
	// All three removed leave 4 cpu; c (most important) and then a are
	// reprieved, so only b is evicted.
	h.wantLog(
		"delete b",
		"event Normal Preempted b: Preempted by pod urgent on node n1",
		`nominate urgent -> "n1"`,
		"event Warning FailedScheduling urgent: 0/1 nodes are available: 1 Insufficient cpu.",
		"condition urgent False Unschedulable",
	)
	if d := h.decisions[0]; d.NominatedNode != "n1" || len(d.Victims) != 1 {
		t.Errorf("decision nominated %q victims %d", d.NominatedNode, len(d.Victims))
	}
	// While b terminates, the nomination holds and no further preemption
	// happens; a lower-priority newcomer does not take the space.
	h.addPod(testobj.Pod("late", "2", "", testobj.Priority(3)))
	h.clk.Advance(time.Second)
	h.run()
	if h.nodeOf("late") != "" || h.nodeOf("urgent") != "" {
		t.Fatal("space taken before the victim left")
	}
	for _, l := range h.log {
		if l == "delete a" || l == "delete c" {
			t.Fatalf("preempted again while a victim terminates: %v", h.log)
		}
	}
	h.takeLog()
	// The victim goes; the preemptor is requeued by the delete and lands
	// on its nominated node.
	h.finishDeletion("b")
	h.clk.Advance(2 * time.Second)
	h.run()
	if got := h.nodeOf("urgent"); got != "n1" {
		t.Fatalf("urgent on %q", got)
	}
	if h.s.NominatedNode("urgent") != "" {
		t.Error("nomination kept after binding")
	}
}

func TestPreemptionPicksNodeByVictimPriority(t *testing.T) {
	tests := []struct {
		name string
		pods []*corev1.Pod
		want string
	}{
		{"lowest highest-victim priority", []*corev1.Pod{
			testobj.Pod("x1", "4", "", testobj.Priority(5), testobj.OnNode("n1")),
			testobj.Pod("y1", "4", "", testobj.Priority(1), testobj.OnNode("n2")),
		}, "n2"},
		{"smallest priority sum", []*corev1.Pod{
			testobj.Pod("x1", "2", "", testobj.Priority(3), testobj.OnNode("n1")),
			testobj.Pod("x2", "2", "", testobj.Priority(3), testobj.OnNode("n1")),
			testobj.Pod("y1", "2", "", testobj.Priority(3), testobj.OnNode("n2")),
			testobj.Pod("y2", "2", "", testobj.Priority(1), testobj.OnNode("n2")),
		}, "n2"},
		{"fewest victims", []*corev1.Pod{
			testobj.Pod("x1", "2", "", testobj.Priority(-5), testobj.OnNode("n1")),
			testobj.Pod("x2", "2", "", testobj.Priority(-5), testobj.OnNode("n1")),
			testobj.Pod("y1", "4", "", testobj.Priority(-5), testobj.OnNode("n2")),
		}, "n2"},
		{"latest start of highest-priority victims", []*corev1.Pod{
			testobj.Pod("x1", "4", "", testobj.Priority(1), testobj.OnNode("n1"), started(100)),
			testobj.Pod("y1", "4", "", testobj.Priority(1), testobj.OnNode("n2"), started(10)),
		}, "n1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0, 1)
			h.addNode(testobj.Node("n1", "4", "8Gi", 110))
			h.addNode(testobj.Node("n2", "4", "8Gi", 110))
			for _, p := range tc.pods {
				h.addPod(p)
			}
			h.addPod(testobj.Pod("urgent", "4", "", testobj.Priority(10)))
			h.run()
			if got := h.decisions[0].NominatedNode; got != tc.want {
				t.Errorf("nominated %q, want %q (log %v)", got, tc.want, h.log)
			}
		})
	}
}

func TestPreemptionNeverPolicy(t *testing.T) {
	h := newHarness(t, 0, 1)
	h.addNode(testobj.Node("n1", "2", "8Gi", 110))
	h.addPod(testobj.Pod("low", "2", "", testobj.OnNode("n1")))
	never := corev1.PreemptNever
	h.addPod(testobj.Pod("polite", "1", "", testobj.Priority(100), func(p *corev1.Pod) { p.Spec.PreemptionPolicy = &never }))
	h.run()
	h.wantLog(
		"event Warning FailedScheduling polite: 0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never..",
		"condition polite False Unschedulable",
	)
}

func TestPreemptionNotHelpful(t *testing.T) {
	h := newHarness(t, 0, 1)
	h.addNode(testobj.Node("n1", "2", "8Gi", 110, testobj.Taint("k", "v", corev1.TaintEffectNoSchedule)))
	h.addNode(testobj.Node("n2", "2", "8Gi", 110))
	h.addPod(testobj.Pod("same", "2", "", testobj.Priority(100), testobj.OnNode("n2")))
	h.addPod(testobj.Pod("p", "1", "", testobj.Priority(100)))
	h.run()
	h.wantLog(
		"event Warning FailedScheduling p: 0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {k: v}. "+
			"preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling..",
		"condition p False Unschedulable",
	)
}

func TestPreemptionClearsLowerNominations(t *testing.T) {
	h := newHarness(t, 0, 1)
	h.addNode(testobj.Node("n1", "4", "8Gi", 110))
	h.addPod(testobj.Pod("v1", "2", "", testobj.Priority(0), testobj.OnNode("n1")))
	h.addPod(testobj.Pod("v2", "2", "", testobj.Priority(0), testobj.OnNode("n1")))
	h.addPod(testobj.Pod("mid", "2", "", testobj.Priority(50)))
	h.run()
	if h.s.NominatedNode("mid") != "n1" {
		t.Fatal("mid not nominated")
	}
	h.takeLog()
	// A higher-priority pod needing the whole node preempts the remaining
	// low pod and takes over the nomination from mid.
	h.addPod(testobj.Pod("top", "4", "", testobj.Priority(100)))
	h.run()
	// v2 is already terminating: it is not deleted again.
	h.wantLog(
		"delete v1",
		"event Normal Preempted v1: Preempted by pod top on node n1",
		`nominate mid -> ""`,
		`nominate top -> "n1"`,
		"event Warning FailedScheduling top: 0/1 nodes are available: 1 Insufficient cpu.",
		"condition top False Unschedulable",
	)
	if h.s.NominatedNode("top") != "n1" || h.s.NominatedNode("mid") != "" {
		t.Fatalf("nominations top=%q mid=%q", h.s.NominatedNode("top"), h.s.NominatedNode("mid"))
	}
}

func TestPreemptionNoCandidateReasons(t *testing.T) {
	h := newHarness(t, 0, 1)
	h.addNode(testobj.Node("a", "4", "8Gi", 110))
	h.addNode(testobj.Node("b", "4", "8Gi", 110))
	h.addPod(testobj.Pod("important", "4", "", testobj.Priority(20), testobj.OnNode("a")))
	h.addPod(testobj.Pod("low", "1", "", testobj.Priority(0), testobj.OnNode("b")))
	h.addPod(testobj.Pod("rest", "3", "", testobj.Priority(20), testobj.OnNode("b")))
	h.addPod(testobj.Pod("p", "2", "", testobj.Priority(10)))
	h.run()
	// a has nothing of lower priority; on b even evicting "low" leaves too
	// little room.
	h.wantLog(
		"event Warning FailedScheduling p: 0/2 nodes are available: 2 Insufficient cpu. "+
			"preemption: 0/2 nodes are available: 1 Insufficient cpu, 1 No preemption victims found for incoming pod..",
		"condition p False Unschedulable",
	)
}
