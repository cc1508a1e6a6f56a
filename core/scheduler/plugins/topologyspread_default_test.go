package plugins

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
	"github.com/drydock-sim/drydock/core/scheduler/internal/testobj"
)

// System default spreading: hostname maxSkew 3 and zone maxSkew 5, soft,
// for pods of ReplicaSets (and the like) without constraints of their own,
// counting the pods of the same controller.
func TestPodTopologySpreadSystemDefaults(t *testing.T) {
	rs := testobj.Controller("ReplicaSet", "rs-1")
	nodes := []*corev1.Node{
		testobj.Node("a1", "4", "8Gi", 110, zoned("a")),
		testobj.Node("a2", "4", "8Gi", 110, zoned("a")),
		testobj.Node("b1", "4", "8Gi", 110, zoned("b")),
		testobj.Node("bare", "4", "8Gi", 110),
	}
	e := newEnv(nodes,
		testobj.Pod("r1", "", "", rs, testobj.OnNode("a1")),
		testobj.Pod("r2", "", "", rs, testobj.OnNode("a1")),
		testobj.Pod("r3", "", "", rs, testobj.OnNode("a2")),
		// Terminating pods and other controllers' pods do not count.
		testobj.Pod("r4", "", "", rs, testobj.Terminating, testobj.OnNode("b1")),
		testobj.Pod("o1", "", "", testobj.Controller("ReplicaSet", "rs-2"), testobj.OnNode("b1")),
	)
	pl := NewPodTopologySpread(e.fw)
	// hostname weight ln(4+2), zone weight ln(3+2) (domains a, b and the
	// label-less ""); raw a1 2*1.79+2 + 3*1.61+4 = 14, a2 13, b1 2+4 = 6,
	// bare 2 (no zone label: the zone constraint adds nothing). Normalised
	// 100*(14+2-s)/14.
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []int64
	}{
		{"ReplicaSet pod", testobj.Pod("p", "", "", rs), []int64{14, 21, 71, 100}},
		{"StatefulSet pod", testobj.Pod("p", "", "", testobj.Controller("StatefulSet", "rs-1")), []int64{14, 21, 71, 100}},
		{"no controller", testobj.Pod("p", "", ""), []int64{0, 0, 0, 0}},
		{"Job pod", testobj.Pod("p", "", "", testobj.Controller("Job", "rs-1")), []int64{0, 0, 0, 0}},
		{"own hard constraints replace the defaults", testobj.Pod("p", "", "", rs, testobj.Spread(1, "zone", corev1.DoNotSchedule, "x")), []int64{0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.scores(t, pl, tc.pod); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("scores %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("node affinity limits the pods counted per zone", func(t *testing.T) {
		// With nodeAffinityPolicy Honor (the default), pods on nodes the
		// pod cannot select do not count for the zone domains: zone a
		// counts 0. Raw a1 2*1.79+2 + 4 = 10, a2 8, b1 6, bare 2.
		pod := testobj.Pod("p", "", "", rs, testobj.NodeSelector(zoneKey, "b"))
		if got := e.scores(t, pl, pod); !reflect.DeepEqual(got, []int64{20, 40, 60, 100}) {
			t.Errorf("scores %v", got)
		}
	})
}

// The snapshot's incremental per-controller counts (through node
// relabelling, removal, re-adding, terminating and replaced pods) give the
// scores a from-scratch count over all pods gives.
func TestPodTopologySpreadDefaultsMatchRecount(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	snap := framework.NewSnapshot()
	nodeObj := func(i int) *corev1.Node {
		opts := []func(*corev1.Node){testobj.Labels("pool", "all")}
		if z := r.IntN(4); z < 3 {
			opts = append(opts, zoned(fmt.Sprintf("z%d", z)))
		}
		return testobj.Node(fmt.Sprintf("n%02d", i), "64", "256Gi", 500, opts...)
	}
	for i := range 30 {
		snap.AddNode(nodeObj(i))
	}
	owners := []string{"rs-a", "rs-b"}
	var live []string
	for step := range 400 {
		switch op := r.IntN(10); {
		case op < 6:
			opts := []func(*corev1.Pod){testobj.Controller("ReplicaSet", owners[r.IntN(2)])}
			if r.IntN(8) == 0 {
				opts = append(opts, testobj.Terminating)
			}
			name := fmt.Sprintf("p%03d", step)
			snap.AddPod(framework.NewPodInfo(testobj.Pod(name, "", "", opts...)), fmt.Sprintf("n%02d", r.IntN(32)))
			live = append(live, name)
		case op < 8 && len(live) > 0:
			i := r.IntN(len(live))
			snap.RemovePod(types.UID(live[i]))
			live = append(live[:i], live[i+1:]...)
		case op < 9:
			snap.UpdateNode(nodeObj(r.IntN(30))) // relabel
		default:
			n := fmt.Sprintf("n%02d", r.IntN(30))
			snap.RemoveNode(n)
			if r.IntN(2) == 0 {
				var i int
				fmt.Sscanf(n, "n%d", &i)
				snap.AddNode(nodeObj(i))
			}
		}
	}
	fw := framework.New(snap, framework.NewNominator(), r)
	pl := NewPodTopologySpread(fw)
	nodes := snap.List()
	for _, owner := range owners {
		for _, viaSelector := range []bool{false, true} {
			opts := []func(*corev1.Pod){testobj.Controller("ReplicaSet", owner)}
			if viaSelector {
				opts = append(opts, testobj.NodeSelector("pool", "all")) // same nodes, the non-indexed path
			}
			pi := framework.NewPodInfo(testobj.Pod("x", "", "", opts...))
			state := framework.NewCycleState()
			if st := pl.PreScore(state, pi, nodes); !st.IsSuccess() {
				t.Fatal(st)
			}
			got := make([]int64, len(nodes))
			for i, ni := range nodes {
				got[i], _ = pl.Score(state, pi, ni)
			}
			if want := recountDefaultScores(nodes, types.UID(owner)); !reflect.DeepEqual(got, want) {
				t.Errorf("%s selector=%v: raw scores %v, recount %v", owner, viaSelector, got, want)
			}
		}
	}
}

// recountDefaultScores is Kubernetes' raw default-spreading score computed
// from scratch by scanning every pod.
func recountDefaultScores(nodes []*framework.NodeInfo, owner types.UID) []int64 {
	live := func(ni *framework.NodeInfo) int {
		n := 0
		for _, p := range ni.Pods {
			if p.ControllerUID == owner && p.Pod.DeletionTimestamp == nil {
				n++
			}
		}
		return n
	}
	zones := map[string]int{}
	for _, ni := range nodes {
		zones[ni.Labels[zoneKey]] += live(ni)
	}
	hostW, zoneW := math.Log(float64(len(nodes)+2)), math.Log(float64(len(zones)+2))
	out := make([]int64, len(nodes))
	for i, ni := range nodes {
		s := float64(live(ni))*hostW + 2
		if z, ok := ni.Labels[zoneKey]; ok {
			s += float64(zones[z])*zoneW + 4
		}
		out[i] = int64(math.Round(s))
	}
	return out
}
