package expect

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/drydock-sim/drydock/sim/scenario"
)

// The pod states the checks count, in Kubernetes' terms. A pod with a
// deletionTimestamp is terminating: it no longer counts as running, ready or
// pending (controllers do not count it either), but it still occupies its
// node.

func terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func terminating(p *corev1.Pod) bool { return p.DeletionTimestamp != nil }

func running(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && !terminating(p)
}

func pending(p *corev1.Pod) bool {
	return (p.Status.Phase == corev1.PodPending || p.Status.Phase == "") && !terminating(p)
}

func ready(p *corev1.Pod) bool {
	if terminating(p) {
		return false
	}
	return podCondition(p, corev1.PodReady) == corev1.ConditionTrue
}

// unschedulable: pending, unbound, and the scheduler said it does not fit.
func unschedulable(p *corev1.Pod) bool {
	if !pending(p) || p.Spec.NodeName != "" {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			return c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable
		}
	}
	return false
}

// onNode: bound and not finished, terminating or not.
func onNode(p *corev1.Pod) bool { return p.Spec.NodeName != "" && !terminal(p) }

func podCondition(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func restarts(p *corev1.Pod) int {
	n := 0
	for _, s := range p.Status.InitContainerStatuses {
		n += int(s.RestartCount)
	}
	for _, s := range p.Status.ContainerStatuses {
		n += int(s.RestartCount)
	}
	return n
}

func waitingWith(p *corev1.Pod, reason string) bool {
	if terminating(p) {
		return false
	}
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, s := range list {
			if s.State.Waiting != nil && s.State.Waiting.Reason == reason {
				return true
			}
		}
	}
	return false
}

func hasImage(p *corev1.Pod, image string) bool {
	for _, c := range p.Spec.Containers {
		if c.Image == image {
			return true
		}
	}
	return false
}

// podMatches applies a check's pod filters: namespace, selector, node or
// pool, image.
func (c *Checker) podMatches(ck *scenario.Check, p *corev1.Pod) bool {
	if ck.Namespace != "" && p.Namespace != ck.Namespace {
		return false
	}
	if ck.Selector != nil && !ck.Selector.Empty() && !ck.Selector.Matches(labels.Set(p.Labels)) {
		return false
	}
	if ck.Node != "" && p.Spec.NodeName != ck.Node {
		return false
	}
	if ck.Pool != "" && (p.Spec.NodeName == "" || c.poolOfNode(p.Spec.NodeName) != ck.Pool) {
		return false
	}
	return ck.Image == "" || hasImage(p, ck.Image)
}
