package scheduler

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// AddNode records a new node; unschedulable pods that a new node may help
// are moved back to the queue.
func (s *Scheduler) AddNode(node *corev1.Node) {
	s.snapshot.AddNode(node)
	s.queue.MoveAllToActiveOrBackoff(framework.EventNodeAdd)
}

// UpdateNode records a node change and requeues pods the change may help.
func (s *Scheduler) UpdateNode(oldNode, newNode *corev1.Node) {
	s.snapshot.UpdateNode(newNode)
	if oldNode == nil {
		s.queue.MoveAllToActiveOrBackoff(framework.EventNodeAdd)
		return
	}
	if act := nodeChanges(oldNode, newNode); act != 0 {
		s.queue.MoveAllToActiveOrBackoff(framework.ClusterEvent{Resource: framework.NodeResource, Action: act, Label: "NodeUpdate"})
	}
}

// DeleteNode forgets a node.
func (s *Scheduler) DeleteNode(node *corev1.Node) {
	s.snapshot.RemoveNode(node.Name)
	s.queue.MoveAllToActiveOrBackoff(framework.ClusterEvent{Resource: framework.NodeResource, Action: framework.Delete, Label: "NodeDelete"})
}

// nodeChanges classifies a node update into the actions plugins register
// for; status-only churn (heartbeats, images) yields none.
func nodeChanges(o, n *corev1.Node) framework.ActionType {
	var act framework.ActionType
	if !resourceListEqual(o.Status.Allocatable, n.Status.Allocatable) {
		act |= framework.UpdateNodeAllocatable
	}
	if !maps.Equal(o.Labels, n.Labels) {
		act |= framework.UpdateNodeLabel
	}
	if o.Spec.Unschedulable != n.Spec.Unschedulable || !equality.Semantic.DeepEqual(o.Spec.Taints, n.Spec.Taints) {
		act |= framework.UpdateNodeTaint
	}
	if !conditionsEqual(o.Status.Conditions, n.Status.Conditions) {
		act |= framework.UpdateNodeCondition
	}
	return act
}

// resourceListEqual compares quantities by value, cheaply enough for node
// status churn.
func resourceListEqual(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, qa := range a {
		qb, ok := b[k]
		if !ok || qa.Cmp(qb) != 0 {
			return false
		}
	}
	return true
}

func conditionsEqual(a, b []corev1.NodeCondition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || a[i].Status != b[i].Status {
			return false
		}
	}
	return true
}

func assigned(pod *corev1.Pod) bool { return pod.Spec.NodeName != "" }

// terminal pods are invisible to kube-scheduler (its pod informer excludes
// Succeeded and Failed), so they free their node's resources at once.
func terminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// responsible reports whether this scheduler should place pod: its
// scheduler name matches and no scheduling gate holds it back (gated pods
// wait outside the queue, as with kube-scheduler's SchedulingGates).
func (s *Scheduler) responsible(pod *corev1.Pod) bool {
	return (pod.Spec.SchedulerName == "" || pod.Spec.SchedulerName == s.cfg.SchedulerName) &&
		len(pod.Spec.SchedulingGates) == 0
}

// AddPod records a pod from the watch: a bound pod is counted on its node;
// an unbound pod this scheduler serves is queued.
func (s *Scheduler) AddPod(pod *corev1.Pod) {
	switch {
	case terminal(pod):
		return
	case assigned(pod):
		s.addAssigned(pod)
	case s.responsible(pod):
		pi := framework.NewPodInfo(pod)
		s.queue.Add(pi)
		if n := pod.Status.NominatedNodeName; n != "" {
			s.nominator.Add(pi, n)
		}
	}
}

// UpdatePod records a pod change.
func (s *Scheduler) UpdatePod(oldPod, newPod *corev1.Pod) {
	if oldPod != nil && oldPod.UID != newPod.UID {
		s.DeletePod(oldPod)
		s.AddPod(newPod)
		return
	}
	switch {
	case terminal(newPod):
		s.DeletePod(newPod)
	case assigned(newPod):
		if oldPod != nil && assigned(oldPod) && s.snapshot.NodeOf(newPod.UID) != nil {
			s.updateAssigned(oldPod, newPod)
			return
		}
		s.addAssigned(newPod)
	case !s.responsible(newPod):
		s.queue.Delete(newPod.UID)
		s.nominator.Delete(newPod.UID)
	default:
		if _, ok := s.assumed[newPod.UID]; ok {
			// A status write of ours raced the binding; the pod is placed.
			return
		}
		pi := framework.NewPodInfo(newPod)
		s.queue.Update(pi)
		if n := newPod.Status.NominatedNodeName; n != "" && s.nominator.NodeFor(newPod.UID) == "" {
			s.nominator.Add(pi, n)
		} else {
			s.nominator.Update(pi)
		}
	}
}

// DeletePod forgets a pod; if it was counted on a node, pods waiting for
// room are requeued.
func (s *Scheduler) DeletePod(pod *corev1.Pod) {
	uid := pod.UID
	s.queue.Delete(uid)
	s.nominator.Delete(uid)
	delete(s.assumed, uid)
	if s.snapshot.RemovePod(uid) != "" {
		s.queue.MoveAllToActiveOrBackoff(framework.EventAssignedPodDelete)
	}
}

// addAssigned counts a bound pod, confirming it if this scheduler assumed
// it.
func (s *Scheduler) addAssigned(pod *corev1.Pod) {
	s.queue.Delete(pod.UID)
	s.nominator.Delete(pod.UID)
	delete(s.assumed, pod.UID)
	s.snapshot.AddPod(framework.NewPodInfo(pod), pod.Spec.NodeName)
	s.queue.MoveAllToActiveOrBackoff(framework.EventAssignedPodAdd)
}

// updateAssigned refreshes a bound pod (labels, in-place resize, deletion
// timestamp) and requeues pods the change may help.
func (s *Scheduler) updateAssigned(oldPod, newPod *corev1.Pod) {
	var oldReq framework.Resource
	if p := s.snapshot.PodInfoOf(newPod.UID); p != nil {
		oldReq = p.Request
	}
	pi := framework.NewPodInfo(newPod)
	s.snapshot.AddPod(pi, newPod.Spec.NodeName)
	var act framework.ActionType
	if !maps.Equal(oldPod.Labels, newPod.Labels) {
		act |= framework.UpdatePodLabel
	}
	if pi.Request.MilliCPU < oldReq.MilliCPU || pi.Request.Memory < oldReq.Memory {
		act |= framework.UpdatePodScaleDown
	}
	if act != 0 {
		s.queue.MoveAllToActiveOrBackoff(framework.ClusterEvent{Resource: framework.AssignedPodResource, Action: act, Label: "AssignedPodUpdate"})
	}
}
