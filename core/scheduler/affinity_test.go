package scheduler

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/scheduler/internal/testobj"
)

// apiPod is a replica that wants no other replica on its node.
func apiPod(name string, opts ...func(*corev1.Pod)) *corev1.Pod {
	opts = append(opts, testobj.PodLabels("app", "api"),
		testobj.RequiredAntiAffinity(testobj.Term(corev1.LabelHostname, "api")))
	return testobj.Pod(name, "100m", "100Mi", opts...)
}

func TestHarnessAntiAffinityOnePerNode(t *testing.T) {
	h := newHarness(t, 0, 1)
	h.addNode(testobj.Node("n1", "4", "8Gi", 110))
	h.addNode(testobj.Node("n2", "4", "8Gi", 110))
	for i := range 3 {
		h.addPod(apiPod(fmt.Sprintf("api-%d", i)))
	}
	h.run()
	if a, b := h.nodeOf("api-0"), h.nodeOf("api-1"); a == "" || b == "" || a == b {
		t.Fatalf("api-0 on %q, api-1 on %q", a, b)
	}
	last := h.decisions[len(h.decisions)-1]
	want := "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. " +
		"preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.."
	if last.Pod.Name != "api-2" || last.Message != want {
		t.Fatalf("%s: %q\nwant %q", last.Pod.Name, last.Message, want)
	}
	// A replica leaving frees its node for the waiting one.
	victim := "api-0"
	freed := h.nodeOf(victim)
	h.finishDeletion(victim)
	h.clk.Advance(time.Second)
	h.run()
	if got := h.nodeOf("api-2"); got != freed {
		t.Fatalf("api-2 on %q, want %q", got, freed)
	}
}

// Existing pods' anti-affinity (symmetry) keeps a pod off their nodes even
// though the pod itself has no terms.
func TestHarnessExistingAntiAffinity(t *testing.T) {
	h := newHarness(t, 0, 1)
	h.addNode(testobj.Node("n1", "4", "8Gi", 110))
	h.addNode(testobj.Node("n2", "4", "8Gi", 110))
	h.addPod(testobj.Pod("loner", "", "", testobj.OnNode("n1"),
		testobj.RequiredAntiAffinity(testobj.Term(corev1.LabelHostname, "web"))))
	for i := range 3 {
		h.addPod(testobj.Pod(fmt.Sprintf("web-%d", i), "100m", "", testobj.PodLabels("app", "web")))
	}
	h.run()
	for i := range 3 {
		if got := h.nodeOf(fmt.Sprintf("web-%d", i)); got != "n2" {
			t.Errorf("web-%d on %q", i, got)
		}
	}
}

func TestHarnessPodAffinityFollowsItsGroup(t *testing.T) {
	h := newHarness(t, 0, 1)
	for i := range 6 {
		h.addNode(testobj.Node(fmt.Sprintf("n%d", i), "4", "8Gi", 110, testobj.Labels(corev1.LabelTopologyZone, fmt.Sprintf("z%d", i%3))))
	}
	// The first cache pod may go anywhere (it matches its own term); the
	// others must join its zone.
	for i := range 4 {
		h.addPod(testobj.Pod(fmt.Sprintf("cache-%d", i), "100m", "", testobj.PodLabels("app", "cache"),
			testobj.RequiredAffinity(testobj.Term(corev1.LabelTopologyZone, "cache"))))
	}
	h.run()
	zones := map[string]bool{}
	for i := range 4 {
		n := h.nodeOf(fmt.Sprintf("cache-%d", i))
		if n == "" {
			t.Fatalf("cache-%d unscheduled: %v", i, h.log)
		}
		zones[h.s.Snapshot().Get(n).Labels[corev1.LabelTopologyZone]] = true
	}
	if len(zones) != 1 {
		t.Errorf("cache pods in zones %v", zones)
	}
}

func TestHarnessPreemptionForAntiAffinity(t *testing.T) {
	tests := []struct {
		name     string
		low      *corev1.Pod
		incoming *corev1.Pod
		reason   string
	}{
		{"the preemptor's anti-affinity",
			testobj.Pod("low", "", "", testobj.PodLabels("app", "batch"), testobj.OnNode("n1")),
			testobj.Pod("high", "", "", testobj.Priority(100), testobj.RequiredAntiAffinity(testobj.Term(corev1.LabelHostname, "batch"))),
			"node(s) didn't match pod anti-affinity rules"},
		{"a lower-priority pod's anti-affinity",
			testobj.Pod("low", "", "", testobj.OnNode("n1"), testobj.RequiredAntiAffinity(testobj.Term(corev1.LabelHostname, "web"))),
			testobj.Pod("high", "", "", testobj.Priority(100), testobj.PodLabels("app", "web")),
			"node(s) didn't satisfy existing pods anti-affinity rules"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0, 1)
			h.addNode(testobj.Node("n1", "4", "8Gi", 110))
			h.addPod(tc.low)
			h.addPod(tc.incoming)
			h.run()
			h.wantLog(
				"delete low",
				"event Normal Preempted low: Preempted by pod high on node n1",
				`nominate high -> "n1"`,
				"event Warning FailedScheduling high: 0/1 nodes are available: 1 "+tc.reason+".",
				"condition high False Unschedulable",
			)
			h.finishDeletion("low")
			h.clk.Advance(time.Second)
			h.run()
			if h.nodeOf("high") != "n1" {
				t.Fatalf("high on %q", h.nodeOf("high"))
			}
		})
	}
}

func TestHarnessHostPortConflict(t *testing.T) {
	h := newHarness(t, 0, 1)
	h.addNode(testobj.Node("n1", "4", "8Gi", 110))
	h.addPod(testobj.Pod("a", "100m", "", testobj.HostPort(8080, "", "")))
	h.addPod(testobj.Pod("b", "100m", "", testobj.HostPort(8080, corev1.ProtocolTCP, "")))
	h.run()
	h.wantLog(
		"bind a -> n1",
		"event Normal Scheduled a: Successfully assigned default/a to n1",
		"event Warning FailedScheduling b: 0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. "+
			"preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..",
		"condition b False Unschedulable",
	)
}

// ReplicaSet pods spread over nodes by default even where resource scoring
// alone would stack them on the biggest node.
func TestHarnessDefaultSpreading(t *testing.T) {
	for _, owned := range []bool{false, true} {
		t.Run(fmt.Sprintf("owned=%v", owned), func(t *testing.T) {
			h := newHarness(t, 0, 1)
			h.addNode(testobj.Node("big", "32", "128Gi", 110))
			h.addNode(testobj.Node("small", "4", "16Gi", 110))
			for i := range 6 {
				var opts []func(*corev1.Pod)
				if owned {
					opts = append(opts, testobj.Controller("ReplicaSet", "rs-1"))
				}
				h.addPod(testobj.Pod(fmt.Sprintf("r%d", i), "100m", "500Mi", opts...))
			}
			h.run()
			perNode := map[string]int{}
			for i := range 6 {
				perNode[h.nodeOf(fmt.Sprintf("r%d", i))]++
			}
			want := map[string]int{"big": 6}
			if owned {
				want = map[string]int{"big": 3, "small": 3}
			}
			if fmt.Sprint(perNode) != fmt.Sprint(want) {
				t.Errorf("per node %v, want %v", perNode, want)
			}
		})
	}
}
