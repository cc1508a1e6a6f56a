package plugins

import (
	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// NodePorts rejects nodes where a host port the pod asks for is already
// bound by a counted pod: same protocol and port, on the same host IP or
// where either side binds 0.0.0.0. The pod's ports are precomputed in its
// PodInfo and each node keeps its ports in use, so pods without host ports
// (nearly all) skip the plugin at PreFilter.
type NodePorts struct{}

var (
	_ framework.PreFilterPlugin   = NodePorts{}
	_ framework.FilterPlugin      = NodePorts{}
	_ framework.EnqueueExtensions = NodePorts{}

	// Preemption can free a port, so the rejection is resolvable.
	statusNodePorts = framework.NewStatus(framework.Unschedulable, ErrReasonNodePorts)
)

// Name implements framework.Plugin.
func (NodePorts) Name() string { return NodePortsName }

// PreFilter implements framework.PreFilterPlugin: pods without host ports
// skip Filter.
func (NodePorts) PreFilter(_ *framework.CycleState, pod *framework.PodInfo) (*framework.PreFilterResult, *framework.Status) {
	if len(pod.HostPorts) == 0 {
		return nil, statusSkip
	}
	return nil, nil
}

// Filter implements framework.FilterPlugin.
func (NodePorts) Filter(_ *framework.CycleState, pod *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	if ni.UsedPorts.Len() == 0 {
		return nil
	}
	for _, p := range pod.HostPorts {
		if ni.UsedPorts.Conflicts(p) {
			return statusNodePorts
		}
	}
	return nil
}

// EventsToRegister implements framework.EnqueueExtensions: a port frees
// when a pod goes, and a new node has all ports free.
func (NodePorts) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.AssignedPodResource, Action: framework.Delete},
		{Resource: framework.NodeResource, Action: framework.Add},
	}
}
