package framework

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

const (
	// MaxNodeScore is the highest score a Score plugin may give after
	// normalisation, as in Kubernetes.
	MaxNodeScore int64 = 100
	// DefaultMilliCPURequest is the CPU that scoring assumes for a container
	// without a CPU request (Kubernetes: 0.1 core), so that best-effort pods
	// still spread.
	DefaultMilliCPURequest int64 = 100
	// DefaultMemoryRequest is the memory scoring assumes for a container
	// without a memory request (Kubernetes: 200 MiB).
	DefaultMemoryRequest int64 = 200 * 1024 * 1024
)

// Resource is the part of a resource list the scheduler accounts for.
type Resource struct {
	MilliCPU int64
	Memory   int64
}

// Add adds r2 to r.
func (r *Resource) Add(r2 Resource) {
	r.MilliCPU += r2.MilliCPU
	r.Memory += r2.Memory
}

// Sub subtracts r2 from r.
func (r *Resource) Sub(r2 Resource) {
	r.MilliCPU -= r2.MilliCPU
	r.Memory -= r2.Memory
}

// maxWith raises each field of r to at least r2's.
func (r *Resource) maxWith(r2 Resource) {
	r.MilliCPU = max(r.MilliCPU, r2.MilliCPU)
	r.Memory = max(r.Memory, r2.Memory)
}

// PodInfo is a pod with the figures the scheduler needs computed once, so
// that filters and scorers never parse quantities on the hot path. The pod
// is shared with the driver's caches and must never be mutated.
type PodInfo struct {
	Pod *corev1.Pod
	// Request is the effective request used for fitting: the larger of the
	// running containers (plus sidecars) and the peak init container, plus
	// the pod overhead.
	Request Resource
	// NonZeroRequest is Request with per-container defaults for missing CPU
	// and memory requests, used only by scoring.
	NonZeroRequest Resource
	// Priority is spec.priority (resolved by admission), 0 when unset.
	Priority int32
	// Affinity is the parsed pod affinity and anti-affinity, nil when the
	// pod has neither (the common case, which costs nothing).
	Affinity *AffinityInfo
	// HostPorts are the host ports the pod binds, nil for most pods.
	HostPorts []HostPort
	// ControllerUID and ControllerKind identify the pod's controller
	// (the ownerReference with controller: true), empty when it has none.
	ControllerUID  types.UID
	ControllerKind string
}

// NewPodInfo computes the scheduling figures of pod.
func NewPodInfo(pod *corev1.Pod) *PodInfo {
	req, nz := podRequests(pod)
	pi := &PodInfo{Pod: pod, Request: req, NonZeroRequest: nz, Priority: PodPriority(pod),
		Affinity: newAffinityInfo(pod), HostPorts: hostPorts(pod)}
	for i := range pod.OwnerReferences {
		if r := &pod.OwnerReferences[i]; r.Controller != nil && *r.Controller {
			pi.ControllerUID, pi.ControllerKind = r.UID, r.Kind
			break
		}
	}
	return pi
}

// HasAffinity reports whether the pod has any pod affinity or
// anti-affinity term (kube-scheduler's PodsWithAffinity membership).
func (pi *PodInfo) HasAffinity() bool { return pi.Affinity != nil }

// HasRequiredAntiAffinity reports whether the pod has required
// anti-affinity terms, which constrain every pod scheduled after it.
func (pi *PodInfo) HasRequiredAntiAffinity() bool {
	return pi.Affinity != nil && len(pi.Affinity.RequiredAntiAffinity) > 0
}

// PodPriority is the pod's resolved priority, 0 when unset.
func PodPriority(pod *corev1.Pod) int32 {
	if pod.Spec.Priority != nil {
		return *pod.Spec.Priority
	}
	return 0
}

// podRequests aggregates container requests the way Kubernetes does:
// regular containers and restartable (sidecar) init containers run together;
// each ordinary init container runs alone next to the sidecars started
// before it; the pod needs the larger of the two phases, plus its overhead.
// Pod-level requests (spec.resources), when set, replace the aggregate for
// that resource.
func podRequests(pod *corev1.Pod) (req, nonZero Resource) {
	for i := range pod.Spec.Containers {
		r, nz := containerRequests(pod.Spec.Containers[i].Resources.Requests)
		req.Add(r)
		nonZero.Add(nz)
	}
	var sidecars, sidecarsNZ, initPeak, initPeakNZ Resource
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		r, nz := containerRequests(c.Resources.Requests)
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars.Add(r)
			sidecarsNZ.Add(nz)
			initPeak.maxWith(sidecars)
			initPeakNZ.maxWith(sidecarsNZ)
			continue
		}
		r.Add(sidecars)
		nz.Add(sidecarsNZ)
		initPeak.maxWith(r)
		initPeakNZ.maxWith(nz)
	}
	req.Add(sidecars)
	nonZero.Add(sidecarsNZ)
	req.maxWith(initPeak)
	nonZero.maxWith(initPeakNZ)
	if pr := pod.Spec.Resources; pr != nil {
		if q, ok := pr.Requests[corev1.ResourceCPU]; ok {
			req.MilliCPU = q.MilliValue()
			nonZero.MilliCPU = req.MilliCPU
		}
		if q, ok := pr.Requests[corev1.ResourceMemory]; ok {
			req.Memory = q.Value()
			nonZero.Memory = req.Memory
		}
	}
	if oh := pod.Spec.Overhead; oh != nil {
		var o Resource
		if q, ok := oh[corev1.ResourceCPU]; ok {
			o.MilliCPU = q.MilliValue()
		}
		if q, ok := oh[corev1.ResourceMemory]; ok {
			o.Memory = q.Value()
		}
		req.Add(o)
		nonZero.Add(o)
	}
	return req, nonZero
}

// containerRequests reads one container's CPU and memory requests; the
// non-zero variant substitutes the defaults for absent (not zero) entries.
func containerRequests(rl corev1.ResourceList) (req, nonZero Resource) {
	nonZero = Resource{MilliCPU: DefaultMilliCPURequest, Memory: DefaultMemoryRequest}
	if q, ok := rl[corev1.ResourceCPU]; ok {
		req.MilliCPU = q.MilliValue()
		nonZero.MilliCPU = req.MilliCPU
	}
	if q, ok := rl[corev1.ResourceMemory]; ok {
		req.Memory = q.Value()
		nonZero.Memory = req.Memory
	}
	return req, nonZero
}
