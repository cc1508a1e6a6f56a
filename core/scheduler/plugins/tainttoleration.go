package plugins

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// TaintToleration rejects nodes with a NoSchedule or NoExecute taint the
// pod does not tolerate, and prefers nodes with fewer untolerated
// PreferNoSchedule taints.
type TaintToleration struct{}

var (
	_ framework.FilterPlugin      = TaintToleration{}
	_ framework.BatchFilter       = TaintToleration{}
	_ framework.PreScorePlugin    = TaintToleration{}
	_ framework.ScorePlugin       = TaintToleration{}
	_ framework.BatchScorer       = TaintToleration{}
	_ framework.ScoreNormalizer   = TaintToleration{}
	_ framework.EnqueueExtensions = TaintToleration{}
)

// Name implements framework.Plugin.
func (TaintToleration) Name() string { return TaintTolerationName }

// Filter implements framework.FilterPlugin. The reason names the first
// untolerated taint, as Kubernetes does.
func (TaintToleration) Filter(_ *framework.CycleState, pod *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return untoleratedTaint(pod.Pod.Spec.Tolerations, ni.Taints)
}

// FilterNodes implements framework.BatchFilter.
func (TaintToleration) FilterNodes(_ *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo, statuses []*framework.Status) {
	for i, ni := range nodes {
		if statuses[i] == nil && len(ni.Taints) > 0 {
			statuses[i] = untoleratedTaint(pod.Pod.Spec.Tolerations, ni.Taints)
		}
	}
}

func untoleratedTaint(tols []corev1.Toleration, taints []corev1.Taint) *framework.Status {
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if !toleratesAny(tols, t) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable,
				"node(s) had untolerated taint {"+t.Key+": "+t.Value+"}")
		}
	}
	return nil
}

type preferTolerations struct{ tols []corev1.Toleration }

func (s *preferTolerations) Clone() framework.StateData { return s }

// PreScore implements framework.PreScorePlugin: it keeps the tolerations
// that can apply to PreferNoSchedule taints.
func (TaintToleration) PreScore(state *framework.CycleState, pod *framework.PodInfo, _ []*framework.NodeInfo) *framework.Status {
	var tols []corev1.Toleration
	for _, t := range pod.Pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == corev1.TaintEffectPreferNoSchedule {
			tols = append(tols, t)
		}
	}
	if len(tols) == 0 {
		state.Write(taintScoreKey, noPreferTolerations)
		return nil
	}
	state.Write(taintScoreKey, &preferTolerations{tols: tols})
	return nil
}

// noPreferTolerations is shared by the common pods without such
// tolerations, so PreScore allocates nothing for them.
var noPreferTolerations = &preferTolerations{}

// Score implements framework.ScorePlugin: the raw score counts untolerated
// PreferNoSchedule taints (normalised in reverse).
func (TaintToleration) Score(state *framework.CycleState, _ *framework.PodInfo, ni *framework.NodeInfo) (int64, *framework.Status) {
	return intolerablePreferNoSchedule(preferTolerationsOf(state), ni), nil
}

// ScoreNodes implements framework.BatchScorer.
func (TaintToleration) ScoreNodes(state *framework.CycleState, _ *framework.PodInfo, nodes []*framework.NodeInfo, scores []int64) *framework.Status {
	tols := preferTolerationsOf(state)
	for i, ni := range nodes {
		scores[i] = intolerablePreferNoSchedule(tols, ni)
	}
	return nil
}

func preferTolerationsOf(state *framework.CycleState) []corev1.Toleration {
	if s, ok := state.Read(taintScoreKey).(*preferTolerations); ok {
		return s.tols
	}
	return nil
}

func intolerablePreferNoSchedule(tols []corev1.Toleration, ni *framework.NodeInfo) int64 {
	var n int64
	for i := range ni.Taints {
		t := &ni.Taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule && !toleratesAny(tols, t) {
			n++
		}
	}
	return n
}

// NormalizeScore implements framework.ScoreNormalizer.
func (TaintToleration) NormalizeScore(_ *framework.CycleState, _ *framework.PodInfo, _ []*framework.NodeInfo, scores []int64) *framework.Status {
	defaultNormalize(scores, true)
	return nil
}

// EventsToRegister implements framework.EnqueueExtensions.
func (TaintToleration) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.NodeResource, Action: framework.Add | framework.UpdateNodeTaint}}
}
