package replicaset

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// IsPodActive reports whether a pod counts toward a replica count: not
// terminal and not being deleted, as kube-controller-manager's
// FilterActivePods decides.
func IsPodActive(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp == nil
}

// readyCondition returns the pod's Ready condition, or nil.
func readyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// IsPodReady reports whether the pod's Ready condition is True.
func IsPodReady(p *corev1.Pod) bool {
	c := readyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

// IsPodAvailable reports whether the pod has been ready for more than
// minReadySeconds at now (Kubernetes' podutil.IsPodAvailable: strictly after).
func IsPodAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	return availableByCondition(readyCondition(p), minReadySeconds, now)
}

// availableByCondition is IsPodAvailable given the pod's Ready condition.
func availableByCondition(c *corev1.PodCondition, minReadySeconds int32, now time.Time) bool {
	if c == nil || c.Status != corev1.ConditionTrue {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	return !c.LastTransitionTime.IsZero() && c.LastTransitionTime.Add(time.Duration(minReadySeconds)*time.Second).Before(now)
}

// availableAt is when a ready pod becomes available (zero if it never will
// without another change, i.e. it is not ready).
func availableAt(p *corev1.Pod, minReadySeconds int32) time.Time {
	c := readyCondition(p)
	if c == nil || c.Status != corev1.ConditionTrue || c.LastTransitionTime.IsZero() {
		return time.Time{}
	}
	return c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second)
}

// desired is spec.replicas; the API defaults it to 1, and so does this.
func desired(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}
