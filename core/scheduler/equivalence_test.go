package scheduler

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
	"github.com/drydock-sim/drydock/core/scheduler/internal/testobj"
)

// randomCluster builds nodes with mixed sizes, zones, taints and cordons,
// and random bound pods, from a fixed seed.
func randomCluster(r *rand.Rand, nodes int) (*framework.Snapshot, []*corev1.Pod) {
	snap := framework.NewSnapshot()
	for i := range nodes {
		var opts []func(*corev1.Node)
		opts = append(opts, testobj.Labels("zone", fmt.Sprintf("z%d", r.IntN(3))))
		switch r.IntN(10) {
		case 0:
			opts = append(opts, testobj.Taint("dedicated", "gpu", corev1.TaintEffectNoSchedule))
		case 1:
			opts = append(opts, testobj.Cordon)
		case 2:
			opts = append(opts, testobj.Taint("spot", "", corev1.TaintEffectPreferNoSchedule))
		}
		if r.IntN(4) == 0 {
			opts = append(opts, testobj.Labels("disk", "ssd"))
		}
		name := fmt.Sprintf("n%03d", i)
		snap.AddNode(testobj.Node(name, fmt.Sprint(2+r.IntN(6)), fmt.Sprintf("%dGi", 4+r.IntN(12)), int64(3+r.IntN(8))))
		snap.UpdateNode(testobj.Node(name, fmt.Sprint(2+r.IntN(6)), fmt.Sprintf("%dGi", 4+r.IntN(12)), int64(3+r.IntN(8)), opts...))
		for j := range r.IntN(5) {
			bopts := []func(*corev1.Pod){testobj.PodLabels("app", fmt.Sprintf("a%d", r.IntN(3)))}
			if r.IntN(10) == 0 {
				bopts = append(bopts, testobj.RequiredAntiAffinity(testobj.Term(corev1.LabelHostname, fmt.Sprintf("a%d", r.IntN(3)))))
			}
			if r.IntN(10) == 0 {
				bopts = append(bopts, testobj.HostPort(80, "", ""))
			}
			p := testobj.Pod(fmt.Sprintf("b%03d-%d", i, j), fmt.Sprintf("%dm", 100+r.IntN(1500)), fmt.Sprintf("%dMi", 100+r.IntN(3000)), bopts...)
			snap.AddPod(framework.NewPodInfo(p), name)
		}
	}
	var pods []*corev1.Pod
	for i := range 60 {
		var opts []func(*corev1.Pod)
		opts = append(opts, testobj.PodLabels("app", fmt.Sprintf("a%d", r.IntN(3))))
		if r.IntN(3) == 0 {
			opts = append(opts, testobj.Toleration("dedicated", corev1.TolerationOpExists, "", ""))
		}
		if r.IntN(4) == 0 {
			opts = append(opts, testobj.NodeSelector("disk", "ssd"))
		}
		if r.IntN(4) == 0 {
			opts = append(opts, testobj.Spread(1, "zone", corev1.DoNotSchedule, fmt.Sprintf("a%d", r.IntN(3))))
		}
		switch r.IntN(8) {
		case 0:
			opts = append(opts, testobj.RequiredAntiAffinity(testobj.Term(corev1.LabelHostname, fmt.Sprintf("a%d", r.IntN(3)))))
		case 1:
			opts = append(opts, testobj.RequiredAffinity(testobj.Term("zone", fmt.Sprintf("a%d", r.IntN(3)))))
		case 2:
			opts = append(opts, testobj.PreferredAntiAffinity(int32(1+r.IntN(100)), testobj.Term("zone", fmt.Sprintf("a%d", r.IntN(3)))))
		case 3:
			opts = append(opts, testobj.HostPort(80, "", ""))
		}
		pods = append(pods, testobj.Pod(fmt.Sprintf("p%02d", i), fmt.Sprintf("%dm", 100+r.IntN(7000)), fmt.Sprintf("%dMi", 100+r.IntN(6000)), opts...))
	}
	return snap, pods
}

// TestBatchFilterEquivalence checks that the batched filter path rejects
// exactly the nodes, with exactly the plugins and reasons, that filtering
// node by node does.
func TestBatchFilterEquivalence(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 1))
	snap, pods := randomCluster(r, 150)
	fw := newFramework(snap, framework.NewNominator(), r)
	nodes := snap.List()
	rejected := 0
	byPlugin := map[string]int{}
	for _, p := range pods {
		pi := framework.NewPodInfo(p)
		state := framework.NewCycleState()
		if _, st, _ := fw.RunPreFilterPlugins(state, pi); !st.IsSuccess() {
			t.Fatalf("%s: prefilter %v", p.Name, st)
		}
		sts := make([]*framework.Status, len(nodes))
		pls := make([]string, len(nodes))
		fw.RunFilterPluginsBatch(state, pi, nodes, sts, pls)
		for i, ni := range nodes {
			st, pl := fw.RunFilterPlugins(state, pi, ni)
			if st.Code() != sts[i].Code() || pl != pls[i] || !reflect.DeepEqual(st.Reasons(), sts[i].Reasons()) {
				t.Fatalf("%s on %s: node-by-node %v by %q, batch %v by %q", p.Name, ni.Name, st, pl, sts[i], pls[i])
			}
			if st != nil {
				rejected++
				byPlugin[pl]++
			}
		}
	}
	if rejected == 0 || rejected == len(pods)*len(nodes) {
		t.Fatalf("degenerate workload: %d rejections", rejected)
	}
	for _, pl := range []string{"InterPodAffinity", "NodePorts", "PodTopologySpread", "TaintToleration"} {
		if byPlugin[pl] == 0 {
			t.Errorf("workload exercises no %s rejection: %v", pl, byPlugin)
		}
	}
}

// trace schedules a mixed workload and returns the decision transcript.
func trace(t *testing.T, seed uint64) string {
	h := newHarness(t, 0, seed)
	r := rand.New(rand.NewPCG(seed, 9))
	snap, pods := randomCluster(r, 150)
	for _, ni := range snap.List() {
		h.addNode(ni.Node())
	}
	for _, ni := range snap.List() {
		for _, p := range ni.Pods {
			h.addPod(testobj.Bound(p.Pod, ni.Name))
		}
	}
	for i, p := range pods {
		prio := int32(r.IntN(3) * 100)
		c := *p
		c.Spec.Priority = &prio
		c.Name = fmt.Sprintf("%s-%d", p.Name, i)
		c.UID = c.ObjectMeta.UID + "-x"
		h.addPod(&c)
	}
	h.run()
	var b strings.Builder
	for _, d := range h.decisions {
		fmt.Fprintf(&b, "%s winner=%s nominated=%s victims=%d msg=%s\n", d.Pod.Name, d.Winner, d.NominatedNode, len(d.Victims), d.Message)
	}
	b.WriteString(strings.Join(h.log, "\n"))
	return b.String()
}

func TestDeterministicTrace(t *testing.T) {
	a, b := trace(t, 5), trace(t, 5)
	if a != b {
		t.Fatal("same seed, different traces")
	}
	if !strings.Contains(a, "winner=n") || !strings.Contains(a, "FailedScheduling") || !strings.Contains(a, "Preempted by") {
		t.Fatalf("workload too easy or too hard:\n%s", a)
	}
}

func TestHardSpreadAcrossZones(t *testing.T) {
	h := newHarness(t, 0, 1)
	for i := range 6 {
		h.addNode(testobj.Node(fmt.Sprintf("n%d", i), "8", "16Gi", 110, testobj.Labels("zone", fmt.Sprintf("z%d", i%3))))
	}
	for i := range 9 {
		h.addPod(testobj.Pod(fmt.Sprintf("web-%d", i), "100m", "100Mi", testobj.PodLabels("app", "web"),
			testobj.Spread(1, "zone", corev1.DoNotSchedule, "web")))
	}
	h.run()
	perZone := map[string]int{}
	for i := range 9 {
		n := h.nodeOf(fmt.Sprintf("web-%d", i))
		if n == "" {
			t.Fatalf("web-%d unscheduled: %v", i, h.log)
		}
		perZone[h.s.Snapshot().Get(n).Labels["zone"]]++
	}
	if perZone["z0"] != 3 || perZone["z1"] != 3 || perZone["z2"] != 3 {
		t.Errorf("per zone %v", perZone)
	}
}
