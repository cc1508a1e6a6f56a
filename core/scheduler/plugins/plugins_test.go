package plugins

import (
	"math/rand/v2"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
	"github.com/drydock-sim/drydock/core/scheduler/internal/testobj"
)

// env is a snapshot with nodes and bound pods, and a framework handle over
// it for plugins that need one.
type env struct {
	snap *framework.Snapshot
	fw   *framework.Framework
}

func newEnv(nodes []*corev1.Node, pods ...*corev1.Pod) *env {
	e := &env{snap: framework.NewSnapshot()}
	for _, n := range nodes {
		e.snap.AddNode(n)
	}
	for _, p := range pods {
		e.snap.AddPod(framework.NewPodInfo(p), p.Spec.NodeName)
	}
	e.fw = framework.New(e.snap, framework.NewNominator(), rand.New(rand.NewPCG(1, 2)))
	return e
}

// filter runs pl's PreFilter (if any) and Filter for pod on node, the way
// the framework would, and returns the status.
func (e *env) filter(t *testing.T, pl framework.FilterPlugin, pod *corev1.Pod, node string) *framework.Status {
	t.Helper()
	state := framework.NewCycleState()
	pi := framework.NewPodInfo(pod)
	if pf, ok := pl.(framework.PreFilterPlugin); ok {
		res, s := pf.PreFilter(state, pi)
		if s.IsSkip() {
			return nil
		}
		if !s.IsSuccess() {
			return s
		}
		if res != nil && !contains(res.NodeNames, node) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, "excluded by PreFilter")
		}
	}
	got := pl.Filter(state, pi, e.snap.Get(node))
	if bf, ok := pl.(framework.BatchFilter); ok {
		sts := make([]*framework.Status, 2)
		sts[1] = framework.NewStatus(framework.Unschedulable, "earlier")
		ni := e.snap.Get(node)
		bf.FilterNodes(state, pi, []*framework.NodeInfo{ni, ni}, sts)
		if !reflect.DeepEqual(sts[0], got) || sts[1].Reasons()[0] != "earlier" {
			t.Fatalf("batch filter %v differs from Filter %v (or overwrote an earlier rejection)", sts, got)
		}
	}
	return got
}

// scores runs PreScore, Score and NormalizeScore over all nodes.
func (e *env) scores(t *testing.T, pl framework.ScorePlugin, pod *corev1.Pod) []int64 {
	t.Helper()
	state := framework.NewCycleState()
	pi := framework.NewPodInfo(pod)
	nodes := e.snap.List()
	if ps, ok := pl.(framework.PreScorePlugin); ok {
		if s := ps.PreScore(state, pi, nodes); s.IsSkip() {
			return make([]int64, len(nodes))
		} else if !s.IsSuccess() {
			t.Fatalf("PreScore: %v", s)
		}
	}
	out := make([]int64, len(nodes))
	for i, ni := range nodes {
		s, st := pl.Score(state, pi, ni)
		if !st.IsSuccess() {
			t.Fatalf("Score: %v", st)
		}
		out[i] = s
	}
	if bs, ok := pl.(framework.BatchScorer); ok {
		batch := make([]int64, len(nodes))
		bs.ScoreNodes(state, pi, nodes, batch)
		if !reflect.DeepEqual(batch, out) {
			t.Fatalf("batch scores %v differ from per-node %v", batch, out)
		}
	}
	if n, ok := pl.(framework.ScoreNormalizer); ok {
		n.NormalizeScore(state, pi, nodes, out)
	}
	return out
}

func wantStatus(t *testing.T, got *framework.Status, code framework.Code, reasons ...string) {
	t.Helper()
	if got.Code() != code || !reflect.DeepEqual(got.Reasons(), reasons) {
		t.Errorf("got %v %q, want %v %q", got.Code(), got.Reasons(), code, reasons)
	}
}

func TestNodeUnschedulable(t *testing.T) {
	e := newEnv([]*corev1.Node{testobj.Node("ok", "4", "8Gi", 110), testobj.Node("cordoned", "4", "8Gi", 110, testobj.Cordon)})
	tolerant := testobj.Toleration(corev1.TaintNodeUnschedulable, corev1.TolerationOpExists, "", corev1.TaintEffectNoSchedule)
	tests := []struct {
		name    string
		pod     *corev1.Pod
		node    string
		code    framework.Code
		reasons []string
	}{
		{"schedulable node", testobj.Pod("p", "1", ""), "ok", framework.Success, nil},
		{"cordoned node", testobj.Pod("p", "1", ""), "cordoned", framework.UnschedulableAndUnresolvable, []string{"node(s) were unschedulable"}},
		{"tolerates cordon", testobj.Pod("p", "1", "", tolerant), "cordoned", framework.Success, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, e.filter(t, NodeUnschedulable{}, tc.pod, tc.node), tc.code, tc.reasons...)
		})
	}
}

func TestNodeName(t *testing.T) {
	e := newEnv([]*corev1.Node{testobj.Node("a", "4", "8Gi", 110), testobj.Node("b", "4", "8Gi", 110)})
	pinned := func(p *corev1.Pod) { p.Spec.NodeName = "a" }
	tests := []struct {
		name    string
		pod     *corev1.Pod
		node    string
		code    framework.Code
		reasons []string
	}{
		{"no node name", testobj.Pod("p", "1", ""), "b", framework.Success, nil},
		{"named node", testobj.Pod("p", "1", "", pinned), "a", framework.Success, nil},
		{"other node", testobj.Pod("p", "1", "", pinned), "b", framework.UnschedulableAndUnresolvable, []string{"node(s) didn't match the requested node name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NodeName{}.Filter(framework.NewCycleState(), framework.NewPodInfo(tc.pod), e.snap.Get(tc.node))
			wantStatus(t, st, tc.code, tc.reasons...)
		})
	}
	res, st := NodeName{}.PreFilter(framework.NewCycleState(), framework.NewPodInfo(testobj.Pod("p", "", "", pinned)))
	if !st.IsSuccess() || !reflect.DeepEqual(res.NodeNames, []string{"a"}) {
		t.Errorf("PreFilter narrows to %v, %v", res, st)
	}
}

func TestNodeResourcesFit(t *testing.T) {
	nodes := []*corev1.Node{
		testobj.Node("n", "4", "8Gi", 3),
		testobj.Node("small", "1", "1Gi", 110),
	}
	e := newEnv(nodes,
		testobj.Pod("used1", "3", "4Gi", testobj.OnNode("n")),
		testobj.Pod("used2", "500m", "3Gi", testobj.OnNode("n")),
	)
	tests := []struct {
		name    string
		pod     *corev1.Pod
		node    string
		code    framework.Code
		reasons []string
	}{
		{"fits exactly", testobj.Pod("p", "500m", "1Gi"), "n", framework.Success, nil},
		{"cpu short", testobj.Pod("p", "600m", "1Gi"), "n", framework.Unschedulable, []string{"Insufficient cpu"}},
		{"memory short", testobj.Pod("p", "100m", "2Gi"), "n", framework.Unschedulable, []string{"Insufficient memory"}},
		{"both short", testobj.Pod("p", "1", "2Gi"), "n", framework.Unschedulable, []string{"Insufficient cpu", "Insufficient memory"}},
		{"request above allocatable is unresolvable", testobj.Pod("p", "2", "100Mi"), "small", framework.UnschedulableAndUnresolvable, []string{"Insufficient cpu"}},
		{"no requests always fit resources", testobj.Pod("p", "", ""), "n", framework.Success, nil},
		{"init container counted", testobj.Pod("p", "100m", "", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{testobj.Pod("x", "1", "").Spec.Containers[0]}
		}), "n", framework.Unschedulable, []string{"Insufficient cpu"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, e.filter(t, NodeResourcesFit{}, tc.pod, tc.node), tc.code, tc.reasons...)
		})
	}
	t.Run("too many pods", func(t *testing.T) {
		e := newEnv(nodes, testobj.Pod("a", "", "", testobj.OnNode("n")), testobj.Pod("b", "", "", testobj.OnNode("n")),
			testobj.Pod("c", "", "", testobj.OnNode("n")))
		wantStatus(t, e.filter(t, NodeResourcesFit{}, testobj.Pod("p", "4", ""), "n"), framework.Unschedulable, "Too many pods")
		wantStatus(t, e.filter(t, NodeResourcesFit{}, testobj.Pod("p", "5", ""), "n"), framework.UnschedulableAndUnresolvable, "Too many pods", "Insufficient cpu")
	})
}

func TestNodeAffinity(t *testing.T) {
	e := newEnv([]*corev1.Node{
		testobj.Node("ssd-a", "4", "8Gi", 110, testobj.Labels("disk", "ssd", "zone", "a", "gen", "5")),
		testobj.Node("hdd-b", "4", "8Gi", 110, testobj.Labels("disk", "hdd", "zone", "b", "gen", "3")),
	})
	required := func(terms ...corev1.NodeSelectorTerm) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
		}
	}
	expr := func(key string, op corev1.NodeSelectorOperator, vals ...string) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: vals}}}
	}
	const reason = "node(s) didn't match Pod's node affinity/selector"
	tests := []struct {
		name string
		pod  *corev1.Pod
		node string
		code framework.Code
	}{
		{"no constraints", testobj.Pod("p", "", ""), "hdd-b", framework.Success},
		{"selector matches", testobj.Pod("p", "", "", testobj.NodeSelector("disk", "ssd")), "ssd-a", framework.Success},
		{"selector mismatch", testobj.Pod("p", "", "", testobj.NodeSelector("disk", "ssd")), "hdd-b", framework.UnschedulableAndUnresolvable},
		{"In", testobj.Pod("p", "", "", required(expr("zone", corev1.NodeSelectorOpIn, "a", "c"))), "ssd-a", framework.Success},
		{"NotIn", testobj.Pod("p", "", "", required(expr("zone", corev1.NodeSelectorOpNotIn, "a"))), "ssd-a", framework.UnschedulableAndUnresolvable},
		{"DoesNotExist", testobj.Pod("p", "", "", required(expr("gpu", corev1.NodeSelectorOpDoesNotExist))), "hdd-b", framework.Success},
		{"Gt", testobj.Pod("p", "", "", required(expr("gen", corev1.NodeSelectorOpGt, "4"))), "hdd-b", framework.UnschedulableAndUnresolvable},
		{"terms are ORed", testobj.Pod("p", "", "", required(expr("zone", corev1.NodeSelectorOpIn, "x"), expr("disk", corev1.NodeSelectorOpExists))), "hdd-b", framework.Success},
		{"empty term matches nothing", testobj.Pod("p", "", "", required(corev1.NodeSelectorTerm{})), "hdd-b", framework.UnschedulableAndUnresolvable},
		{"selector and affinity both apply", testobj.Pod("p", "", "", testobj.NodeSelector("disk", "ssd"), required(expr("zone", corev1.NodeSelectorOpIn, "b"))), "ssd-a", framework.UnschedulableAndUnresolvable},
		{"metadata.name pins", testobj.Pod("p", "", "", required(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"hdd-b"}}}})), "hdd-b", framework.Success},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var reasons []string
			if tc.code != framework.Success {
				reasons = []string{reason}
			}
			wantStatus(t, e.filter(t, NodeAffinity{}, tc.pod, tc.node), tc.code, reasons...)
		})
	}
	t.Run("preferred scoring", func(t *testing.T) {
		pod := testobj.Pod("p", "", "", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{
					{Weight: 10, Preference: expr("disk", corev1.NodeSelectorOpIn, "ssd")},
					{Weight: 30, Preference: expr("zone", corev1.NodeSelectorOpIn, "b")},
				}}}
		})
		if got := e.scores(t, NodeAffinity{}, pod); !reflect.DeepEqual(got, []int64{33, 100}) {
			t.Errorf("scores %v", got)
		}
	})
}

func TestTaintToleration(t *testing.T) {
	e := newEnv([]*corev1.Node{
		testobj.Node("clean", "4", "8Gi", 110),
		testobj.Node("gpu", "4", "8Gi", 110, testobj.Taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
		testobj.Node("evict", "4", "8Gi", 110, testobj.Taint("maint", "", corev1.TaintEffectNoExecute)),
		testobj.Node("soft", "4", "8Gi", 110, testobj.Taint("spot", "true", corev1.TaintEffectPreferNoSchedule),
			testobj.Taint("old", "", corev1.TaintEffectPreferNoSchedule)),
	})
	tests := []struct {
		name    string
		pod     *corev1.Pod
		node    string
		code    framework.Code
		reasons []string
	}{
		{"no taints", testobj.Pod("p", "", ""), "clean", framework.Success, nil},
		{"untolerated NoSchedule", testobj.Pod("p", "", ""), "gpu", framework.UnschedulableAndUnresolvable, []string{"node(s) had untolerated taint {dedicated: gpu}"}},
		{"untolerated NoExecute, empty value", testobj.Pod("p", "", ""), "evict", framework.UnschedulableAndUnresolvable, []string{"node(s) had untolerated taint {maint: }"}},
		{"Equal toleration", testobj.Pod("p", "", "", testobj.Toleration("dedicated", corev1.TolerationOpEqual, "gpu", corev1.TaintEffectNoSchedule)), "gpu", framework.Success, nil},
		{"wrong value", testobj.Pod("p", "", "", testobj.Toleration("dedicated", corev1.TolerationOpEqual, "cpu", "")), "gpu", framework.UnschedulableAndUnresolvable, []string{"node(s) had untolerated taint {dedicated: gpu}"}},
		{"wrong effect", testobj.Pod("p", "", "", testobj.Toleration("dedicated", corev1.TolerationOpExists, "", corev1.TaintEffectNoExecute)), "gpu", framework.UnschedulableAndUnresolvable, []string{"node(s) had untolerated taint {dedicated: gpu}"}},
		{"tolerate everything", testobj.Pod("p", "", "", testobj.Toleration("", corev1.TolerationOpExists, "", "")), "evict", framework.Success, nil},
		{"PreferNoSchedule never filters", testobj.Pod("p", "", ""), "soft", framework.Success, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, e.filter(t, TaintToleration{}, tc.pod, tc.node), tc.code, tc.reasons...)
		})
	}
	t.Run("score prefers fewer PreferNoSchedule taints", func(t *testing.T) {
		if got := e.scores(t, TaintToleration{}, testobj.Pod("p", "", "")); !reflect.DeepEqual(got, []int64{100, 100, 100, 0}) {
			t.Errorf("scores %v", got)
		}
		tol := testobj.Pod("p", "", "", testobj.Toleration("spot", corev1.TolerationOpExists, "", corev1.TaintEffectPreferNoSchedule))
		if got := e.scores(t, TaintToleration{}, tol); !reflect.DeepEqual(got, []int64{100, 100, 100, 0}) {
			t.Errorf("scores with one toleration %v", got)
		}
	})
}

func TestLeastAllocatedAndBalanced(t *testing.T) {
	e := newEnv([]*corev1.Node{
		testobj.Node("empty", "4", "8Gi", 110),
		testobj.Node("half-cpu", "4", "8Gi", 110),
		testobj.Node("half-both", "4", "8Gi", 110),
	},
		testobj.Pod("a", "2", "", testobj.OnNode("half-cpu")),
		testobj.Pod("b", "2", "4Gi", testobj.OnNode("half-both")),
	)
	pod := testobj.Pod("p", "1", "2Gi")
	// least: cpu (4-1)/4=75, mem (8-2)/8=75 -> 75; half-cpu: cpu 25, mem
	// (8-2-0.2)/8 (the bound pod's missing memory counts 200Mi) -> 72 -> 48;
	// half-both: cpu 25, mem 25 -> 25.
	if got := e.scores(t, NodeResourcesLeastAllocated{}, pod); !reflect.DeepEqual(got, []int64{75, 48, 25}) {
		t.Errorf("least allocated %v", got)
	}
	// balanced: empty 1/4 vs 2/8 -> 100; half-cpu 3/4 vs 2/8 -> 75;
	// half-both 3/4 vs 6/8 -> 100.
	if got := e.scores(t, NodeResourcesBalancedAllocation{}, pod); !reflect.DeepEqual(got, []int64{100, 75, 100}) {
		t.Errorf("balanced %v", got)
	}
	// Best-effort pods are skipped by balanced allocation.
	if got := e.scores(t, NodeResourcesBalancedAllocation{}, testobj.Pod("be", "", "")); !reflect.DeepEqual(got, []int64{0, 0, 0}) {
		t.Errorf("balanced best effort %v", got)
	}
}

func TestPodTopologySpreadFilter(t *testing.T) {
	zone := func(z string) func(*corev1.Node) { return testobj.Labels("zone", z) }
	nodes := []*corev1.Node{
		testobj.Node("a1", "4", "8Gi", 110, zone("a")),
		testobj.Node("a2", "4", "8Gi", 110, zone("a")),
		testobj.Node("b1", "4", "8Gi", 110, zone("b")),
		testobj.Node("c1", "4", "8Gi", 110, zone("c")),
		testobj.Node("nozone", "4", "8Gi", 110),
	}
	web := testobj.PodLabels("app", "web")
	e := newEnv(nodes,
		testobj.Pod("w1", "", "", web, testobj.OnNode("a1")),
		testobj.Pod("w2", "", "", web, testobj.OnNode("a2")),
		testobj.Pod("w3", "", "", web, testobj.OnNode("b1")),
		testobj.Pod("other", "", "", testobj.PodLabels("app", "db"), testobj.OnNode("c1")),
	)
	pl := NewPodTopologySpread(e.fw)
	spread := testobj.Spread(1, "zone", corev1.DoNotSchedule, "web")
	const notMatch = "node(s) didn't match pod topology spread constraints"
	tests := []struct {
		name    string
		pod     *corev1.Pod
		node    string
		code    framework.Code
		reasons []string
	}{
		// counts a=2 b=1 c=0: only zone c keeps skew <= 1.
		{"emptiest zone fits", testobj.Pod("p", "", "", web, spread), "c1", framework.Success, nil},
		{"skew too big", testobj.Pod("p", "", "", web, spread), "b1", framework.Unschedulable, []string{notMatch}},
		{"skew too big in fullest zone", testobj.Pod("p", "", "", web, spread), "a1", framework.Unschedulable, []string{notMatch}},
		{"missing topology key", testobj.Pod("p", "", "", web, spread), "nozone", framework.UnschedulableAndUnresolvable, []string{notMatch + " (missing required label)"}},
		{"pod not matching its own selector adds no self count", testobj.Pod("p", "", "", spread), "b1", framework.Success, nil},
		{"maxSkew 2 allows b", testobj.Pod("p", "", "", web, testobj.Spread(2, "zone", corev1.DoNotSchedule, "web")), "b1", framework.Success, nil},
		{"ScheduleAnyway never filters", testobj.Pod("p", "", "", web, testobj.Spread(1, "zone", corev1.ScheduleAnyway, "web")), "a1", framework.Success, nil},
		{"node selector narrows domains", testobj.Pod("p", "", "", web, spread, testobj.NodeSelector("zone", "a")), "a1", framework.Success, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, e.filter(t, pl, tc.pod, tc.node), tc.code, tc.reasons...)
		})
	}
	t.Run("minDomains raises the floor", func(t *testing.T) {
		pod := testobj.Pod("p", "", "", web, spread, func(p *corev1.Pod) {
			four := int32(4)
			p.Spec.TopologySpreadConstraints[0].MinDomains = &four
		})
		// 3 domains < minDomains 4: global minimum is 0, so c (0+1) fits but b (1+1) does not.
		wantStatus(t, e.filter(t, pl, pod, "c1"), framework.Success)
		wantStatus(t, e.filter(t, pl, pod, "b1"), framework.Unschedulable, notMatch)
	})
	t.Run("remove pod via extension", func(t *testing.T) {
		state := framework.NewCycleState()
		pi := framework.NewPodInfo(testobj.Pod("p", "", "", web, spread))
		pl.PreFilter(state, pi)
		b1 := e.snap.Get("b1")
		st := state.Clone()
		pl.RemovePod(st, pi, b1.Pods[0], b1)
		wantStatus(t, pl.Filter(st, pi, e.snap.Get("b1")), framework.Success)
		// The original state is untouched by the clone's change.
		wantStatus(t, pl.Filter(state, pi, e.snap.Get("b1")), framework.Unschedulable, notMatch)
	})
}

func TestPodTopologySpreadScore(t *testing.T) {
	zone := func(z string) func(*corev1.Node) { return testobj.Labels("zone", z) }
	web := testobj.PodLabels("app", "web")
	e := newEnv([]*corev1.Node{
		testobj.Node("a1", "4", "8Gi", 110, zone("a")),
		testobj.Node("b1", "4", "8Gi", 110, zone("b")),
		testobj.Node("nozone", "4", "8Gi", 110),
	},
		testobj.Pod("w1", "", "", web, testobj.OnNode("a1")),
		testobj.Pod("w2", "", "", web, testobj.OnNode("a1")),
	)
	pod := testobj.Pod("p", "", "", web, testobj.Spread(1, "zone", corev1.ScheduleAnyway, "web"))
	got := e.scores(t, NewPodTopologySpread(e.fw), pod)
	if !(got[1] > got[0]) || got[2] != 0 || got[1] != framework.MaxNodeScore {
		t.Errorf("scores %v: want the empty zone best and the unlabeled node 0", got)
	}
}
