package plugins

import (
	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// NodeResourcesLeastAllocated prefers nodes with the most free cpu and
// memory (equal weights), counting non-zero requests so that pods without
// requests still spread. Kubernetes runs this as the default scoring
// strategy of NodeResourcesFit; here it is its own plugin.
type NodeResourcesLeastAllocated struct{}

var (
	_ framework.ScorePlugin = NodeResourcesLeastAllocated{}
	_ framework.BatchScorer = NodeResourcesLeastAllocated{}
)

// Name implements framework.Plugin.
func (NodeResourcesLeastAllocated) Name() string { return NodeResourcesLeastAllocatedName }

// Score implements framework.ScorePlugin.
func (NodeResourcesLeastAllocated) Score(_ *framework.CycleState, pod *framework.PodInfo, ni *framework.NodeInfo) (int64, *framework.Status) {
	return leastAllocatedScore(pod, ni), nil
}

// ScoreNodes implements framework.BatchScorer.
func (NodeResourcesLeastAllocated) ScoreNodes(_ *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo, scores []int64) *framework.Status {
	for i, ni := range nodes {
		scores[i] = leastAllocatedScore(pod, ni)
	}
	return nil
}

func leastAllocatedScore(pod *framework.PodInfo, ni *framework.NodeInfo) int64 {
	var sum, weights int64
	if a := ni.Allocatable.MilliCPU; a > 0 {
		sum += leastRequested(ni.NonZeroRequested.MilliCPU+pod.NonZeroRequest.MilliCPU, a)
		weights++
	}
	if a := ni.Allocatable.Memory; a > 0 {
		sum += leastRequested(ni.NonZeroRequested.Memory+pod.NonZeroRequest.Memory, a)
		weights++
	}
	if weights == 0 {
		return 0
	}
	return sum / weights
}

// leastRequested is the free fraction of capacity on a 0..MaxNodeScore scale.
func leastRequested(requested, capacity int64) int64 {
	if requested > capacity {
		return 0
	}
	return (capacity - requested) * framework.MaxNodeScore / capacity
}
