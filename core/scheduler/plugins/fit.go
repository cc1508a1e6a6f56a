package plugins

import (
	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// NodeResourcesFit rejects nodes without room for the pod's cpu, memory or
// pod-count request. The pod's requests (including init containers and
// overhead) are precomputed in PodInfo, so Filter is a few integer
// comparisons. Ephemeral storage and extended resources are not modelled.
type NodeResourcesFit struct{}

var (
	_ framework.FilterPlugin      = NodeResourcesFit{}
	_ framework.BatchFilter       = NodeResourcesFit{}
	_ framework.EnqueueExtensions = NodeResourcesFit{}
)

// fitStatuses holds one shared status per combination of shortages, so a
// rejection allocates nothing: index bit 0 pods, bit 1 cpu, bit 2 memory,
// bit 3 unresolvable (some request exceeds the node's whole allocatable,
// so preemption cannot help, which Kubernetes reports as
// UnschedulableAndUnresolvable).
// Entry 0 is nil: fits.
var fitStatuses = func() [16]*framework.Status {
	var out [16]*framework.Status
	for i := 1; i < 16; i++ {
		var reasons []string
		if i&1 != 0 {
			reasons = append(reasons, ErrReasonTooManyPods)
		}
		if i&2 != 0 {
			reasons = append(reasons, ErrReasonInsufficientCPU)
		}
		if i&4 != 0 {
			reasons = append(reasons, ErrReasonInsufficientMem)
		}
		code := framework.Unschedulable
		if i&8 != 0 {
			code = framework.UnschedulableAndUnresolvable
		}
		out[i] = framework.NewStatus(code, reasons...)
	}
	return out
}()

// Name implements framework.Plugin.
func (NodeResourcesFit) Name() string { return NodeResourcesFitName }

// Filter implements framework.FilterPlugin.
func (NodeResourcesFit) Filter(_ *framework.CycleState, pod *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return fitStatuses[fitShortage(&pod.Request, ni)]
}

// FilterNodes implements framework.BatchFilter.
func (NodeResourcesFit) FilterNodes(_ *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo, statuses []*framework.Status) {
	r := &pod.Request
	for i, ni := range nodes {
		if statuses[i] == nil {
			statuses[i] = fitStatuses[fitShortage(r, ni)]
		}
	}
}

// fitShortage returns the fitStatuses index for the pod on the node (0
// when it fits).
func fitShortage(r *framework.Resource, ni *framework.NodeInfo) int {
	var bad int
	if int64(len(ni.Pods))+1 > ni.AllowedPods {
		bad |= 1
	}
	if r.MilliCPU > 0 && r.MilliCPU > ni.Allocatable.MilliCPU-ni.Requested.MilliCPU {
		bad |= 2
		if r.MilliCPU > ni.Allocatable.MilliCPU {
			bad |= 8
		}
	}
	if r.Memory > 0 && r.Memory > ni.Allocatable.Memory-ni.Requested.Memory {
		bad |= 4
		if r.Memory > ni.Allocatable.Memory {
			bad |= 8
		}
	}
	return bad
}

// EventsToRegister implements framework.EnqueueExtensions.
func (NodeResourcesFit) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.AssignedPodResource, Action: framework.Delete | framework.UpdatePodScaleDown},
		{Resource: framework.NodeResource, Action: framework.Add | framework.UpdateNodeAllocatable},
	}
}
