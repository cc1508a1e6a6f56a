package plugins

import (
	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// NodeResourcesBalancedAllocation prefers nodes whose cpu and memory would
// be used in equal proportions after placing the pod: the score is
// (1 - standard deviation of the two used fractions) on a 0..100 scale. Like
// Kubernetes it counts actual requests and skips pods that request nothing,
// which would otherwise all pile onto one node.
type NodeResourcesBalancedAllocation struct{}

var (
	_ framework.PreScorePlugin = NodeResourcesBalancedAllocation{}
	_ framework.ScorePlugin    = NodeResourcesBalancedAllocation{}
	_ framework.BatchScorer    = NodeResourcesBalancedAllocation{}

	statusSkip = framework.NewStatus(framework.Skip)
)

// Name implements framework.Plugin.
func (NodeResourcesBalancedAllocation) Name() string { return NodeResourcesBalancedName }

// PreScore implements framework.PreScorePlugin.
func (NodeResourcesBalancedAllocation) PreScore(_ *framework.CycleState, pod *framework.PodInfo, _ []*framework.NodeInfo) *framework.Status {
	if pod.Request.MilliCPU == 0 && pod.Request.Memory == 0 {
		return statusSkip
	}
	return nil
}

// Score implements framework.ScorePlugin.
func (NodeResourcesBalancedAllocation) Score(_ *framework.CycleState, pod *framework.PodInfo, ni *framework.NodeInfo) (int64, *framework.Status) {
	return balancedScore(pod, ni), nil
}

// ScoreNodes implements framework.BatchScorer.
func (NodeResourcesBalancedAllocation) ScoreNodes(_ *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo, scores []int64) *framework.Status {
	for i, ni := range nodes {
		scores[i] = balancedScore(pod, ni)
	}
	return nil
}

func balancedScore(pod *framework.PodInfo, ni *framework.NodeInfo) int64 {
	// Two scalars rather than an array keep this in registers.
	var cpu, mem float64
	haveCPU, haveMem := false, false
	if a := ni.Allocatable.MilliCPU; a > 0 {
		cpu, haveCPU = usedFraction(ni.Requested.MilliCPU+pod.Request.MilliCPU, a), true
	}
	if a := ni.Allocatable.Memory; a > 0 {
		mem, haveMem = usedFraction(ni.Requested.Memory+pod.Request.Memory, a), true
	}
	std := 0.0
	if haveCPU && haveMem {
		// The standard deviation of two values is half their distance.
		if std = (cpu - mem) / 2; std < 0 {
			std = -std
		}
	}
	return int64((1 - std) * float64(framework.MaxNodeScore))
}

// usedFraction is requested/allocatable, capped at 1.
func usedFraction(requested, allocatable int64) float64 {
	f := float64(requested) / float64(allocatable)
	if f > 1 {
		return 1
	}
	return f
}
