package apiserver

import (
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
)

// unchanged reports whether an update writes nothing new:
// apiequality.Semantic.DeepEqual(old, obj), computed without walking the
// half of the object the update path has just copied from old. Every write
// (a lease renewal, a kubelet status report) asks, and the reflective walk
// over a whole pod was one of the API server's largest costs.
//
// It relies on updateLocked having applied keepStatus (main resource: obj's
// status is old's) or keepAllButStatus (status subresource: obj's spec is
// old's) for the types below; other types and subresources compare in full.
func unchanged(old, obj api.Object, subresource string) bool {
	var a, b any // the part of obj that may differ, and old's
	switch o := obj.(type) {
	case *corev1.Pod:
		p := old.(*corev1.Pod)
		if subresource == SubresourceStatus && podStatusDiffers(&o.Status, &p.Status) {
			return false
		}
		a, b = changeable(subresource, &o.Spec, &p.Spec, &o.Status, &p.Status)
	case *corev1.Node:
		p := old.(*corev1.Node)
		if subresource == SubresourceStatus && nodeStatusDiffers(&o.Status, &p.Status) {
			return false
		}
		a, b = changeable(subresource, &o.Spec, &p.Spec, &o.Status, &p.Status)
	case *appsv1.ReplicaSet:
		p := old.(*appsv1.ReplicaSet)
		a, b = changeable(subresource, &o.Spec, &p.Spec, &o.Status, &p.Status)
	case *appsv1.Deployment:
		p := old.(*appsv1.Deployment)
		a, b = changeable(subresource, &o.Spec, &p.Spec, &o.Status, &p.Status)
	case *corev1.Service:
		p := old.(*corev1.Service)
		a, b = changeable(subresource, &o.Spec, &p.Spec, &o.Status, &p.Status)
	case *coordinationv1.Lease:
		if subresource == "" {
			// A renewal per node every 10 s: compared by hand.
			return leaseSpecEqual(&o.Spec, &old.(*coordinationv1.Lease).Spec) && headEqual(old, obj)
		}
	}
	if a == nil {
		return apiequality.Semantic.DeepEqual(old, obj)
	}
	// The part that usually differs first: most writes are not no-ops.
	return apiequality.Semantic.DeepEqual(a, b) && headEqual(old, obj)
}

// changeable picks the part an update of subresource can change.
func changeable(subresource string, spec, oldSpec, status, oldStatus any) (any, any) {
	switch subresource {
	case "":
		return spec, oldSpec
	case SubresourceStatus:
		return status, oldStatus
	}
	return nil, nil
}

// headEqual compares TypeMeta and ObjectMeta with Semantic.DeepEqual's
// rules (nil equals empty; times compared in UTC) field by field.
// TestHeadEqualCoversObjectMeta keeps it in step with the types.
func headEqual(x, y api.Object) bool {
	tx, okx := x.GetObjectKind().(*metav1.TypeMeta)
	ty, oky := y.GetObjectKind().(*metav1.TypeMeta)
	if !okx || !oky {
		return apiequality.Semantic.DeepEqual(x, y)
	}
	if *tx != *ty {
		return false
	}
	a, b := x.(metav1.ObjectMetaAccessor).GetObjectMeta(), y.(metav1.ObjectMetaAccessor).GetObjectMeta()
	ma, oka := a.(*metav1.ObjectMeta)
	mb, okb := b.(*metav1.ObjectMeta)
	if !oka || !okb {
		return apiequality.Semantic.DeepEqual(x, y)
	}
	return objectMetaEqual(ma, mb)
}

func objectMetaEqual(a, b *metav1.ObjectMeta) bool {
	return a.Name == b.Name && a.GenerateName == b.GenerateName && a.Namespace == b.Namespace &&
		a.SelfLink == b.SelfLink && a.UID == b.UID && a.ResourceVersion == b.ResourceVersion &&
		a.Generation == b.Generation && a.CreationTimestamp.UTC() == b.CreationTimestamp.UTC() &&
		timePtrEqual(a.DeletionTimestamp, b.DeletionTimestamp) &&
		int64PtrEqual(a.DeletionGracePeriodSeconds, b.DeletionGracePeriodSeconds) &&
		stringMapEqual(a.Labels, b.Labels) && stringMapEqual(a.Annotations, b.Annotations) &&
		ownerRefsEqual(a.OwnerReferences, b.OwnerReferences) && stringsEqual(a.Finalizers, b.Finalizers) &&
		(len(a.ManagedFields) == 0 && len(b.ManagedFields) == 0 || apiequality.Semantic.DeepEqual(a.ManagedFields, b.ManagedFields))
}

func timePtrEqual(a, b *metav1.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.UTC() == b.UTC()
}

func int64PtrEqual(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func boolPtrEqual(a, b *bool) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func stringMapEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func stringsEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func ownerRefsEqual(a, b []metav1.OwnerReference) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.APIVersion != y.APIVersion || x.Kind != y.Kind || x.Name != y.Name || x.UID != y.UID ||
			!boolPtrEqual(x.Controller, y.Controller) || !boolPtrEqual(x.BlockOwnerDeletion, y.BlockOwnerDeletion) {
			return false
		}
	}
	return true
}

func microTimePtrEqual(a, b *metav1.MicroTime) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.UTC() == b.UTC()
}

func int32PtrEqual(a, b *int32) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func stringPtrEqual(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// leaseSpecEqual is Semantic.DeepEqual for LeaseSpec (TestHeadEqualCoversObjectMeta
// pins the fields).
func leaseSpecEqual(a, b *coordinationv1.LeaseSpec) bool {
	return microTimePtrEqual(a.RenewTime, b.RenewTime) && stringPtrEqual(a.HolderIdentity, b.HolderIdentity) &&
		int32PtrEqual(a.LeaseDurationSeconds, b.LeaseDurationSeconds) && microTimePtrEqual(a.AcquireTime, b.AcquireTime) &&
		int32PtrEqual(a.LeaseTransitions, b.LeaseTransitions) &&
		(a.Strategy == nil) == (b.Strategy == nil) && (a.Strategy == nil || *a.Strategy == *b.Strategy) &&
		stringPtrEqual(a.PreferredHolder, b.PreferredHolder)
}

// podStatusDiffers reports a difference in the fields a kubelet's status
// report usually changes, each one that Semantic.DeepEqual would also find
// (strings compared exactly, lengths of slices, nil against non-nil
// pointers); false means "compare in full". Most reports change something,
// and the reflective walk reached container states only after every
// condition's timestamps.
func podStatusDiffers(a, b *corev1.PodStatus) bool {
	if a.Phase != b.Phase || len(a.Conditions) != len(b.Conditions) || len(a.ContainerStatuses) != len(b.ContainerStatuses) ||
		a.PodIP != b.PodIP || a.HostIP != b.HostIP || (a.StartTime == nil) != (b.StartTime == nil) {
		return true
	}
	for i := range a.Conditions {
		if x, y := &a.Conditions[i], &b.Conditions[i]; x.Type != y.Type || x.Status != y.Status {
			return true
		}
	}
	for i := range a.ContainerStatuses {
		x, y := &a.ContainerStatuses[i], &b.ContainerStatuses[i]
		if x.Ready != y.Ready || x.RestartCount != y.RestartCount || x.ContainerID != y.ContainerID ||
			(x.State.Running == nil) != (y.State.Running == nil) || (x.State.Waiting == nil) != (y.State.Waiting == nil) ||
			(x.State.Terminated == nil) != (y.State.Terminated == nil) {
			return true
		}
	}
	return false
}

// nodeStatusDiffers is podStatusDiffers for a node status report: a
// difference in a condition (a kubelet's report renews every condition's
// heartbeat time), compared as Semantic.DeepEqual compares (times in UTC).
// The reflective walk reached the conditions only after both resource
// lists, and allocated for every quantity it compared.
func nodeStatusDiffers(a, b *corev1.NodeStatus) bool {
	if a.Phase != b.Phase || len(a.Conditions) != len(b.Conditions) {
		return true
	}
	for i := range a.Conditions {
		x, y := &a.Conditions[i], &b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message ||
			x.LastHeartbeatTime.UTC() != y.LastHeartbeatTime.UTC() ||
			x.LastTransitionTime.UTC() != y.LastTransitionTime.UTC() {
			return true
		}
	}
	return false
}
