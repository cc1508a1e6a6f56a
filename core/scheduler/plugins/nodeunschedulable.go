package plugins

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// NodeUnschedulable rejects cordoned nodes (spec.unschedulable) unless the
// pod tolerates the node.kubernetes.io/unschedulable:NoSchedule taint.
type NodeUnschedulable struct{}

var (
	_ framework.FilterPlugin      = NodeUnschedulable{}
	_ framework.BatchFilter       = NodeUnschedulable{}
	_ framework.EnqueueExtensions = NodeUnschedulable{}

	unschedulableTaint  = corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}
	statusUnschedulable = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnschedulable)
)

// Name implements framework.Plugin.
func (NodeUnschedulable) Name() string { return NodeUnschedulableName }

// Filter implements framework.FilterPlugin.
func (NodeUnschedulable) Filter(_ *framework.CycleState, pod *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	if !ni.Unschedulable || toleratesAny(pod.Pod.Spec.Tolerations, &unschedulableTaint) {
		return nil
	}
	return statusUnschedulable
}

// FilterNodes implements framework.BatchFilter.
func (NodeUnschedulable) FilterNodes(_ *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo, statuses []*framework.Status) {
	for i, ni := range nodes {
		if statuses[i] == nil && ni.Unschedulable && !toleratesAny(pod.Pod.Spec.Tolerations, &unschedulableTaint) {
			statuses[i] = statusUnschedulable
		}
	}
}

// EventsToRegister implements framework.EnqueueExtensions: uncordoning is
// reported as a taint change, as in Kubernetes.
func (NodeUnschedulable) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.NodeResource, Action: framework.Add | framework.UpdateNodeTaint}}
}
