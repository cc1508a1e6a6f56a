package plugins

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

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
