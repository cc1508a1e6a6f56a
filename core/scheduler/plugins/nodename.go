package plugins

import (
	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// NodeName makes a pod with spec.nodeName fit only that node. Its PreFilter
// narrows filtering to the one node, so such pods cost O(1), not O(nodes).
type NodeName struct{}

var (
	_ framework.PreFilterPlugin   = NodeName{}
	_ framework.FilterPlugin      = NodeName{}
	_ framework.EnqueueExtensions = NodeName{}

	statusNodeName = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeName)
)

// Name implements framework.Plugin.
func (NodeName) Name() string { return NodeNameName }

// PreFilter implements framework.PreFilterPlugin.
func (NodeName) PreFilter(_ *framework.CycleState, pod *framework.PodInfo) (*framework.PreFilterResult, *framework.Status) {
	if pod.Pod.Spec.NodeName == "" {
		return nil, framework.NewStatus(framework.Skip)
	}
	return &framework.PreFilterResult{NodeNames: []string{pod.Pod.Spec.NodeName}}, nil
}

// Filter implements framework.FilterPlugin.
func (NodeName) Filter(_ *framework.CycleState, pod *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	if n := pod.Pod.Spec.NodeName; n == "" || n == ni.Name {
		return nil
	}
	return statusNodeName
}

// EventsToRegister implements framework.EnqueueExtensions.
func (NodeName) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.NodeResource, Action: framework.Add}}
}
