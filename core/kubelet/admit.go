package kubelet

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// resources counts requests: cpu in millicores, everything else in units.
type resources map[corev1.ResourceName]int64

func (r resources) add(o resources, sign int64) {
	for name, v := range o {
		r[name] += sign * v
	}
}

func amount(name corev1.ResourceName, q resource.Quantity) int64 {
	if name == corev1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

// podRequests is the pod's effective request, as the scheduler and kubelet
// compute it: the larger of the containers' sum and any one init
// container, plus overhead, plus one pod.
func podRequests(pod *corev1.Pod) resources {
	sum := resources{}
	for i := range pod.Spec.Containers {
		for name, q := range pod.Spec.Containers[i].Resources.Requests {
			sum[name] += amount(name, q)
		}
	}
	for i := range pod.Spec.InitContainers {
		for name, q := range pod.Spec.InitContainers[i].Resources.Requests {
			if v := amount(name, q); v > sum[name] {
				sum[name] = v
			}
		}
	}
	for name, q := range pod.Spec.Overhead {
		sum[name] += amount(name, q)
	}
	sum[corev1.ResourcePods] = 1
	return sum
}

// standard resources are not required to be listed by a node: a template
// without cpu or memory means "not limited" (handy for tests).
func optionalResource(name corev1.ResourceName) bool {
	switch name {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		return true
	}
	return false
}

// admit runs the kubelet's resource admission: a pod that does not fit
// what the admitted pods leave of the node's allocatable is rejected, with
// reason OutOf<resource> and Kubernetes' message, and becomes Failed.
func (k *Kubelet) admit(ps *podState) {
	req := podRequests(ps.pod)
	alloc := k.allocatable()
	// Kubernetes checks pods first, then cpu, memory, ephemeral storage,
	// then extended resources in name order.
	names := []corev1.ResourceName{corev1.ResourcePods, corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage}
	var ext []string
	for name := range req {
		switch name {
		case corev1.ResourcePods, corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		default:
			ext = append(ext, string(name))
		}
	}
	sort.Strings(ext)
	for _, e := range ext {
		names = append(names, corev1.ResourceName(e))
	}
	for _, name := range names {
		want := req[name]
		if want == 0 {
			continue
		}
		q, ok := alloc[name]
		if !ok && optionalResource(name) {
			continue
		}
		capacity := int64(0)
		if ok {
			capacity = amount(name, q)
		}
		if used := k.used[name]; used+want > capacity {
			msg := fmt.Sprintf("Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d", name, want, used, capacity)
			k.reject(ps, "OutOf"+string(name), msg)
			return
		}
	}
	ps.admitted = true
	ps.req = req
	ps.counted = true
	k.used.add(req, 1)
	if ps.startTime == nil {
		t := k.now()
		ps.startTime = &t
	}
	for _, c := range ps.all {
		if c.phase == cRunning {
			k.startProbes(ps, c)
		}
	}
	k.enqueue(ps)
}

func (k *Kubelet) reject(ps *podState, reason, msg string) {
	k.rec.Event(ps.pod, corev1.EventTypeWarning, reason, msg)
	ps.rejected, ps.finished = true, true
	ps.failReason, ps.failMessage = reason, "Pod was rejected: "+msg
	k.enqueue(ps)
}

// release returns a pod's requests once its containers are stopped.
func (k *Kubelet) release(ps *podState) {
	if ps.counted {
		k.used.add(ps.req, -1)
		ps.counted = false
	}
}
