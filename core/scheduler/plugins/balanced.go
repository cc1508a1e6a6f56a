package plugins

import (
	"math"

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
	var f [2]float64
	n := 0
	if a := ni.Allocatable.MilliCPU; a > 0 {
		f[n] = min(float64(ni.Requested.MilliCPU+pod.Request.MilliCPU)/float64(a), 1)
		n++
	}
	if a := ni.Allocatable.Memory; a > 0 {
		f[n] = min(float64(ni.Requested.Memory+pod.Request.Memory)/float64(a), 1)
		n++
	}
	std := 0.0
	if n == 2 {
		// The standard deviation of two values is half their distance.
		std = math.Abs(f[0]-f[1]) / 2
	}
	return int64((1 - std) * float64(framework.MaxNodeScore))
}
