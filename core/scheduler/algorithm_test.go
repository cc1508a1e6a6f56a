package scheduler

import (
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/scheduler/internal/testobj"
)

// pinTo is the node affinity the DaemonSet controller gives its pods.
func pinTo(node string) *corev1.Affinity {
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
		}}}}}
}

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		percent int32
		nodes   int
		want    int
	}{
		{0, 10, 10},
		{0, 99, 99},
		{0, 100, 100},
		{0, 150, 100},     // 48% = 72, raised to the 100 minimum
		{0, 1000, 420},    // 50 - 8 = 42%
		{0, 5000, 500},    // 50 - 40 = 10%
		{0, 6000, 300},    // 50 - 48 = 2% -> 5% floor
		{0, 10000, 500},   // 50 - 80 < 5 -> 5%
		{0, 20000, 1000},  // 5%
		{10, 500, 100},    // 50 -> minimum 100
		{50, 5000, 2500},  // explicit percentage
		{100, 5000, 5000}, // score everything
	}
	for _, tc := range tests {
		if got := numFeasibleNodesToFind(tc.percent, tc.nodes); got != tc.want {
			t.Errorf("percent %d nodes %d: %d, want %d", tc.percent, tc.nodes, got, tc.want)
		}
	}
}

func TestSamplingRotatesStart(t *testing.T) {
	h := newHarness(t, 0, 1)
	for i := range 1000 {
		h.addNode(testobj.Node(fmt.Sprintf("n%04d", i), "4", "32Gi", 110))
	}
	h.addPod(testobj.Pod("a", "100m", "500Mi"))
	h.addPod(testobj.Pod("b", "100m", "500Mi"))
	h.run()
	if len(h.decisions) != 2 {
		t.Fatalf("%d decisions", len(h.decisions))
	}
	a, b := h.decisions[0], h.decisions[1]
	// 1000 nodes: 42% adaptive; all fit, so exactly 420 are filtered and scored.
	for _, d := range []Decision{a, b} {
		if d.NumToFind != 420 || d.Evaluated != 420 || len(d.Scored) != 420 || d.Feasible != 420 {
			t.Errorf("find %d evaluated %d scored %d feasible %d", d.NumToFind, d.Evaluated, len(d.Scored), d.Feasible)
		}
	}
	if a.Scored[0] != "n0000" || b.Scored[0] != "n0420" {
		t.Errorf("start nodes %s, %s: want n0000, n0420", a.Scored[0], b.Scored[0])
	}
	// Per-plugin rows add up to the totals.
	for i := range b.Scored {
		var sum int64
		for _, row := range b.PluginScores {
			sum += row[i]
		}
		if sum != b.Totals[i] {
			t.Fatalf("node %d: plugin scores sum %d, total %d", i, sum, b.Totals[i])
		}
	}
	if !slices.Contains(b.ScorePlugins, "NodeResourcesBalancedAllocation") {
		t.Errorf("score plugins %v", b.ScorePlugins)
	}
}

func TestSamplingPercent100ScoresAll(t *testing.T) {
	h := newHarness(t, 100, 1)
	for i := range 300 {
		h.addNode(testobj.Node(fmt.Sprintf("n%04d", i), "4", "32Gi", 110))
	}
	h.addPod(testobj.Pod("a", "100m", "500Mi"))
	h.run()
	if d := h.decisions[0]; d.Evaluated != 300 || len(d.Scored) != 300 {
		t.Errorf("evaluated %d scored %d", d.Evaluated, len(d.Scored))
	}
}

// placements schedules n identical pods on 8 identical nodes with seed and
// returns the chosen nodes.
func placements(t *testing.T, seed uint64, n int) []string {
	h := newHarness(t, 0, seed)
	for i := range 8 {
		h.addNode(testobj.Node(fmt.Sprintf("n%d", i), "64", "256Gi", 110))
	}
	for i := range n {
		h.addPod(testobj.Pod(fmt.Sprintf("p%02d", i), "", ""))
	}
	h.run()
	var out []string
	for _, d := range h.decisions {
		out = append(out, d.Winner)
	}
	return out
}

func TestTieBreakDeterministic(t *testing.T) {
	// Best-effort pods score every node equally, so every choice is a tie.
	a, b := placements(t, 7, 20), placements(t, 7, 20)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different placements:\n%v\n%v", a, b)
	}
	if c := placements(t, 8, 20); slices.Equal(a, c) {
		t.Errorf("different seeds gave identical placements %v", a)
	}
	distinct := map[string]bool{}
	for _, n := range a {
		distinct[n] = true
	}
	if len(distinct) < 4 {
		t.Errorf("ties not spread: %v", a)
	}
}

func TestSelectHost(t *testing.T) {
	h := newHarness(t, 0, 3)
	if got := h.s.selectHost([]int64{1, 5, 3}); got != 1 {
		t.Errorf("max at %d", got)
	}
	counts := make([]int, 4)
	for range 4000 {
		counts[h.s.selectHost([]int64{9, 2, 9, 9})]++
	}
	if counts[1] != 0 || counts[0] < 1200 || counts[2] < 1200 || counts[3] < 1200 {
		t.Errorf("tie choice not uniform: %v", counts)
	}
}

func TestNodeAffinityPinnedNodesNarrowFiltering(t *testing.T) {
	h := newHarness(t, 0, 1)
	for i := range 200 {
		h.addNode(testobj.Node(fmt.Sprintf("n%03d", i), "4", "32Gi", 110))
	}
	pinned := testobj.Pod("ds", "100m", "", func(p *corev1.Pod) {
		p.Spec.Affinity = pinTo("n150")
	})
	h.addPod(pinned)
	h.run()
	if d := h.decisions[0]; d.Winner != "n150" || d.Evaluated != 1 {
		t.Errorf("winner %s evaluated %d", d.Winner, d.Evaluated)
	}
	// A pin to a missing node reports all nodes as excluded by the plugin.
	h.addPod(testobj.Pod("lost", "100m", "", func(p *corev1.Pod) { p.Spec.Affinity = pinTo("gone") }))
	h.run()
	want := "0/200 nodes are available: 200 node(s) didn't satisfy plugin(s) [NodeAffinity]. " +
		"preemption: 0/200 nodes are available: 200 Preemption is not helpful for scheduling.."
	if d := h.decisions[1]; d.Message != want {
		t.Errorf("message %q\nwant    %q", d.Message, want)
	}
	// It waits as unschedulable until its node appears.
	if _, _, u := h.s.QueueLengths(); u != 1 {
		t.Fatal("pinned pod not waiting as unschedulable")
	}
	h.addNode(testobj.Node("gone", "4", "32Gi", 110))
	h.clk.Advance(time.Second)
	h.run()
	if h.nodeOf("lost") != "gone" {
		t.Error("pinned pod not placed when its node appeared")
	}
}
