package replicaset

import (
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
)

// TestFactsMemoMatchesFreshFacts changes a ReplicaSet's pod list in every
// way a sync can see between two runs (pods replaced, added, removed, several
// at once) and checks the memoized facts against facts computed from scratch.
func TestFactsMemoMatchesFreshFacts(t *testing.T) {
	rs := newRS("web", 3)
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	next := 0
	newPod := func(name string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "web"}}}
		switch r.IntN(4) {
		case 0:
			p.Status.Phase = corev1.PodFailed
		case 1:
			p.Labels = map[string]string{"app": "other"}
		case 2:
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue,
				LastTransitionTime: metav1.Unix(int64(r.IntN(100)), 0)}}
		}
		return p
	}
	var pods []*corev1.Pod // kept sorted by name, like ByIndex
	for i := 0; i < 20; i++ {
		pods = append(pods, newPod(fmt.Sprintf("p%03d", 10*i)))
	}
	m := &factsMemo{}
	for step := 0; step < 500; step++ {
		for n := r.IntN(4); n >= 0; n-- {
			switch op := r.IntN(3); {
			case op == 0 && len(pods) > 0: // replace
				i := r.IntN(len(pods))
				pods[i] = newPod(pods[i].Name)
			case op == 1 && len(pods) > 0: // remove
				i := r.IntN(len(pods))
				pods = append(pods[:i:i], pods[i+1:]...)
			default: // add, keeping name order
				next++
				name := fmt.Sprintf("p%03d-%d", r.IntN(200), next)
				i := 0
				for i < len(pods) && pods[i].Name < name {
					i++
				}
				pods = append(pods[:i:i], append([]*corev1.Pod{newPod(name)}, pods[i:]...)...)
			}
		}
		objs := make([]api.Object, len(pods))
		for i, p := range pods {
			objs[i] = p
		}
		got := m.factsOf(rs, sel, objs)
		if len(got) != len(pods) {
			t.Fatalf("step %d: %d facts for %d pods", step, len(got), len(pods))
		}
		fresh := &factsMemo{}
		for i, p := range pods {
			if want := fresh.compute(rs, sel, p); got[i] != want {
				t.Fatalf("step %d: pod %s facts %+v, want %+v", step, p.Name, got[i], want)
			}
		}
	}
}
