package metrics

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func pod(owner types.UID, node string, ready bool) *corev1.Pod {
	p := &corev1.Pod{Spec: corev1.PodSpec{NodeName: node}}
	tr := true
	p.OwnerReferences = []metav1.OwnerReference{{UID: owner, Controller: &tr}}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	return p
}

func TestLatenciesAndRecovery(t *testing.T) {
	c := New()
	s := time.Second
	c.PodChanged(0, "a", pod("rs", "", false))
	c.PodChanged(0, "b", pod("rs", "", false))
	c.PodChanged(1*s, "a", pod("rs", "n1", false))
	c.PodChanged(2*s, "b", pod("rs", "n2", false))
	c.PodChanged(4*s, "a", pod("rs", "n1", true))
	c.PodChanged(5*s, "b", pod("rs", "n2", true))

	c.NodeCrashed(10*s, "n1")
	c.PodChanged(60*s, "a", nil) // evicted
	c.PodChanged(61*s, "c", pod("rs", "", false))
	c.PodChanged(62*s, "c", pod("rs", "n2", false))
	if got := c.Summary().Recoveries[0].Seconds; got != -1 {
		t.Fatalf("recovered before the replacement was ready: %v", got)
	}
	c.PodChanged(70*s, "c", pod("rs", "n2", true))

	sum := c.Summary()
	if sum.SchedulingLatency.Count != 3 || sum.SchedulingLatency.Max != 2 {
		t.Errorf("scheduling = %+v", sum.SchedulingLatency)
	}
	if sum.PodStartup.Count != 3 || sum.PodStartup.P50 != 5 {
		t.Errorf("startup = %+v", sum.PodStartup)
	}
	if len(sum.Recoveries) != 1 || sum.Recoveries[0].Seconds != 60 || sum.Recoveries[0].PodsLost != 1 {
		t.Errorf("recoveries = %+v", sum.Recoveries)
	}
	if sum.Replacement.Count != 1 || sum.Replacement.Max != 60 {
		t.Errorf("replacement = %+v", sum.Replacement)
	}
}
