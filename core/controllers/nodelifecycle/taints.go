package nodelifecycle

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type taintID struct {
	key    string
	effect corev1.TaintEffect
}

// conditionTaints maps node conditions to NoSchedule taints, as
// TaintNodesByCondition does.
var conditionTaints = []struct {
	cond   corev1.NodeConditionType
	status corev1.ConditionStatus
	key    string
}{
	{corev1.NodeReady, corev1.ConditionFalse, corev1.TaintNodeNotReady},
	{corev1.NodeReady, corev1.ConditionUnknown, corev1.TaintNodeUnreachable},
	{corev1.NodeMemoryPressure, corev1.ConditionTrue, corev1.TaintNodeMemoryPressure},
	{corev1.NodeDiskPressure, corev1.ConditionTrue, corev1.TaintNodeDiskPressure},
	{corev1.NodeNetworkUnavailable, corev1.ConditionTrue, corev1.TaintNodeNetworkUnavailable},
	{corev1.NodePIDPressure, corev1.ConditionTrue, corev1.TaintNodePIDPressure},
}

// managed lists every taint this controller owns; others are left alone.
var managed = map[taintID]bool{
	{corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute}:            true,
	{corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute}:         true,
	{corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule}:           true,
	{corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule}:        true,
	{corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule}:     true,
	{corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule}:       true,
	{corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule}: true,
	{corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule}:        true,
	{corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule}:      true,
}

// wantedTaints lists the managed taints the node's state calls for, in a
// fixed order.
func wantedTaints(node *corev1.Node) []taintID {
	var want []taintID
	switch readyStatus(node) {
	case corev1.ConditionFalse:
		want = append(want, taintID{corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute})
	case corev1.ConditionUnknown:
		want = append(want, taintID{corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute})
	}
	for _, ct := range conditionTaints {
		if c := condition(node, ct.cond); c != nil && c.Status == ct.status {
			want = append(want, taintID{ct.key, corev1.TaintEffectNoSchedule})
		}
	}
	if node.Spec.Unschedulable {
		want = append(want, taintID{corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule})
	}
	return want
}

// desiredTaints returns the node's taints with the managed ones brought in
// line with its state: stale ones dropped, kept ones untouched (their
// timeAdded matters for evictions), missing ones appended with timeAdded now.
// It runs for every node each monitor period, so the common no-change case
// allocates nothing beyond the short wanted list.
func desiredTaints(node *corev1.Node, now time.Time) ([]corev1.Taint, bool) {
	want := wantedTaints(node)
	keep := func(i int) bool {
		t := node.Spec.Taints[i]
		id := taintID{t.Key, t.Effect}
		if !managed[id] {
			return true
		}
		if !slices.Contains(want, id) {
			return false
		}
		for _, u := range node.Spec.Taints[:i] { // drop duplicates
			if u.Key == t.Key && u.Effect == t.Effect {
				return false
			}
		}
		return true
	}
	present := func(id taintID) bool {
		return slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == id.key && t.Effect == id.effect })
	}
	changed := false
	for i := range node.Spec.Taints {
		if !keep(i) {
			changed = true
			break
		}
	}
	for _, id := range want {
		if !present(id) {
			changed = true
		}
	}
	if !changed {
		return node.Spec.Taints, false
	}
	var out []corev1.Taint
	for i, t := range node.Spec.Taints {
		if keep(i) {
			out = append(out, t)
		}
	}
	ts := metav1.NewTime(now.Truncate(time.Second))
	for _, id := range want {
		if !present(id) {
			out = append(out, corev1.Taint{Key: id.key, Effect: id.effect, TimeAdded: &ts})
		}
	}
	return out, true
}

// noExecuteTaints are the node's NoExecute taints.
func noExecuteTaints(node *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

func sameTaints(a, b []corev1.Taint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Value != b[i].Value || a[i].Effect != b[i].Effect ||
			!a[i].TimeAdded.Equal(b[i].TimeAdded) {
			return false
		}
	}
	return true
}

// tolerates reports whether a toleration matches a taint (Kubernetes'
// Toleration.ToleratesTaint without the alpha numeric operators).
func tolerates(tol *corev1.Toleration, taint *corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != taint.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != taint.Key {
		return false
	}
	switch tol.Operator {
	case corev1.TolerationOpExists:
		return true
	case "", corev1.TolerationOpEqual:
		return tol.Value == taint.Value
	}
	return false
}
