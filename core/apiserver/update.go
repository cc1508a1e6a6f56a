package apiserver

import (
	"context"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/drydock-sim/drydock/core/api"
)

// Subresources an update can target.
const (
	SubresourceStatus   = "status"
	SubresourceFinalize = "finalize" // namespaces: spec.finalizers
)

// Update replaces an object (subresource "") or its status ("status"). A set
// resourceVersion must match the stored one (409 Conflict otherwise); an empty
// one makes the update unconditional, as Kubernetes allows for these types.
func (s *Server) Update(ctx context.Context, in api.Object, subresource string) (api.Object, error) {
	return s.UpdateWithOptions(ctx, in, subresource, metav1.UpdateOptions{})
}

// UpdateWithOptions is Update with Kubernetes' update options. Of them only
// DryRun is acted on: with DryRun ["All"] the update is checked and shaped
// exactly as a real one (defaulting, validation, conflict and UID checks,
// the generation bump, the no-op rule) and the result is returned, but
// nothing is stored: no resourceVersion moves and no watch event fires.
func (s *Server) UpdateWithOptions(ctx context.Context, in api.Object, subresource string, opts metav1.UpdateOptions) (api.Object, error) {
	dry, err := dryRunAll(opts.DryRun, "UpdateOptions")
	if err != nil {
		return nil, err
	}
	r, err := api.For(in)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	ns := in.GetNamespace()
	if r.Namespaced && ns == "" {
		ns = metav1.NamespaceDefault
	}
	if !r.Namespaced {
		ns = ""
	}
	if subresource != "" && !r.HasSubresource(subresource) {
		return nil, apierrors.NewNotFound(r.GroupResource(), in.GetName()+"/"+subresource)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.Key(ns, in.GetName())
	cur, err := s.store.Get(key)
	if err != nil {
		return nil, storeError(err, r, in.GetName())
	}
	old := cur.(api.Object)
	if rv := in.GetResourceVersion(); rv != "" && rv != old.GetResourceVersion() {
		return nil, conflict(r, in.GetName())
	}
	obj := copyForUpdate(in, old, subresource)
	obj.SetNamespace(ns)
	return s.updateLocked(r, key, old, obj, subresource, dry)
}

// dryRunAll reads the DryRun field of kind (UpdateOptions, PatchOptions):
// empty for a real write, ["All"] for a dry run; any other value is
// invalid, as in Kubernetes' metav1 validation.
func dryRunAll(dryRun []string, kind string) (bool, error) {
	if len(dryRun) == 0 {
		return false, nil
	}
	if len(dryRun) == 1 && dryRun[0] == metav1.DryRunAll {
		return true, nil
	}
	return false, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: kind}, "", field.ErrorList{
		field.NotSupported(field.NewPath("dryRun"), dryRun, []string{metav1.DryRunAll})})
}

// copyForUpdate returns the private copy of in that an update works on. A
// status update keeps only status from in (keepAllButStatus puts old's spec,
// labels, annotations, owners and finalizers in place), so for the types
// with a status subresource only status is deep-copied: the rest of in is
// shared until keepAllButStatus replaces it, and nothing writes to it before.
// Kubelets and controllers report status far more often than anything else.
//
// A Lease update (every kubelet's renewal every 10 s) shares old's metadata
// and spec pointers where in's are equal to them (see copyLease).
func copyForUpdate(in, old api.Object, subresource string) api.Object {
	if l, ok := in.(*coordinationv1.Lease); ok && subresource == "" {
		if cp := copyLease(l, old.(*coordinationv1.Lease)); cp != nil {
			return cp
		}
	}
	if subresource == SubresourceStatus {
		switch o := in.(type) {
		case *corev1.Pod:
			return &corev1.Pod{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: o.Spec, Status: *o.Status.DeepCopy()}
		case *corev1.Node:
			return &corev1.Node{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: o.Spec, Status: *o.Status.DeepCopy()}
		case *appsv1.ReplicaSet:
			return &appsv1.ReplicaSet{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: o.Spec, Status: *o.Status.DeepCopy()}
		case *appsv1.Deployment:
			return &appsv1.Deployment{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: o.Spec, Status: *o.Status.DeepCopy()}
		}
	}
	return in.DeepCopyObject().(api.Object)
}

// updateLocked writes obj over old, stored at key. s.mu must be held; obj
// is owned by the call. Name and namespace cannot change in an update
// (validation rejects it before the write), so key is obj's key too. A dry
// run goes through every check and returns what the write would, but
// writes nothing and releases nothing.
func (s *Server) updateLocked(r *api.Resource, key string, old, obj api.Object, subresource string, dryRun bool) (api.Object, error) {
	if obj.GetUID() != "" && obj.GetUID() != old.GetUID() {
		return nil, apierrors.NewConflict(r.GroupResource(), obj.GetName(),
			fmt.Errorf("Precondition failed: UID in precondition: %s, UID in object meta: %s", obj.GetUID(), old.GetUID()))
	}
	// Fields the API server owns.
	obj.SetUID(old.GetUID())
	obj.SetCreationTimestamp(old.GetCreationTimestamp())
	obj.SetDeletionTimestamp(old.GetDeletionTimestamp())
	obj.SetDeletionGracePeriodSeconds(old.GetDeletionGracePeriodSeconds())
	obj.SetGeneration(old.GetGeneration())
	obj.SetResourceVersion(old.GetResourceVersion())
	obj.SetManagedFields(nil)
	if obj.GetGenerateName() == "" {
		obj.SetGenerateName(old.GetGenerateName())
	}

	specKept := false
	switch subresource {
	case SubresourceStatus:
		specKept = keepAllButStatus(old, obj)
	case SubresourceFinalize:
		n, o := obj.(*corev1.Namespace), old.(*corev1.Namespace)
		fin := n.Spec.Finalizers
		*n = *o.DeepCopy()
		n.Spec.Finalizers = fin
	default:
		keepStatus(old, obj)
		// A deleting object may lose finalizers but not gain new ones.
		if old.GetDeletionTimestamp() != nil && hasNewFinalizer(old.GetFinalizers(), obj.GetFinalizers()) {
			return nil, apierrors.NewForbidden(r.GroupResource(), obj.GetName(),
				fmt.Errorf("no new finalizers can be added if the object is being deleted"))
		}
	}
	api.Default(obj)
	if r.HasGeneration && subresource == "" && !specEqual(old, obj) {
		obj.SetGeneration(old.GetGeneration() + 1)
	}
	// A status update of a type whose spec it cannot touch changes nothing
	// validation looks at: spec, labels, annotations, owners and finalizers
	// are old's, and the immutable metadata was just copied from old. Like
	// Kubernetes' status strategies, skip re-validating them; only a
	// client-supplied generateName is new.
	if (!specKept || obj.GetGenerateName() != old.GetGenerateName()) && !leaseRenewalValid(obj, old) {
		if errs := api.Validate(r, obj, old); len(errs) > 0 {
			return nil, apierrors.NewInvalid(r.GVK().GroupKind(), obj.GetName(), errs)
		}
	}
	api.SetTypeMeta(obj)
	if unchanged(old, obj, subresource) {
		// A no-op write changes nothing, not even the resourceVersion.
		return old, nil
	}
	if dryRun {
		if finalized(obj) {
			// The write would delete the object; a dry run answers with
			// the stored state, as Kubernetes' dry-run storage does.
			return old, nil
		}
		return obj, nil
	}
	oldRev, _ := strconv.ParseInt(old.GetResourceVersion(), 10, 64)
	if finalized(obj) {
		// As in Kubernetes, an update that empties a deleting object's
		// finalizers deletes it instead of writing it: watchers see DELETED
		// (of the stored state) and the caller gets that state at the
		// deletion's revision.
		last, _, err := s.store.Delete(key, oldRev)
		if err != nil {
			return nil, storeError(err, r, obj.GetName())
		}
		s.releaseService(obj)
		return last.(api.Object), nil
	}
	if _, err := s.store.Update(key, obj, oldRev); err != nil {
		return nil, storeError(err, r, obj.GetName())
	}
	return obj, nil
}

// finalized reports whether a deleting object has no finalizers left and so
// must now be removed from storage.
func finalized(obj api.Object) bool {
	if obj.GetDeletionTimestamp() == nil || len(obj.GetFinalizers()) > 0 {
		return false
	}
	if ns, ok := obj.(*corev1.Namespace); ok && len(ns.Spec.Finalizers) > 0 {
		return false
	}
	if p, ok := obj.(*corev1.Pod); ok {
		// Pods on a node are removed by the kubelet's final delete, not here.
		return p.Spec.NodeName == "" || (p.DeletionGracePeriodSeconds != nil && *p.DeletionGracePeriodSeconds == 0)
	}
	return true
}

func hasNewFinalizer(old, cur []string) bool {
	have := map[string]bool{}
	for _, f := range old {
		have[f] = true
	}
	for _, f := range cur {
		if !have[f] {
			return true
		}
	}
	return false
}

// keepStatus makes a main-resource update leave status alone.
func keepStatus(old, obj api.Object) {
	switch o := obj.(type) {
	case *corev1.Pod:
		o.Status = old.(*corev1.Pod).Status
	case *appsv1.Deployment:
		o.Status = old.(*appsv1.Deployment).Status
	case *appsv1.ReplicaSet:
		o.Status = old.(*appsv1.ReplicaSet).Status
	case *corev1.Service:
		o.Status = old.(*corev1.Service).Status
	case *corev1.Namespace:
		o.Status = old.(*corev1.Namespace).Status
		o.Spec.Finalizers = old.(*corev1.Namespace).Spec.Finalizers
	case *corev1.Node:
		o.Status = old.(*corev1.Node).Status
	}
}

// keepAllButStatus makes a status update change only status (and, as in
// Kubernetes, labels and annotations are left as stored). It reports
// whether obj's spec is now old's (true for every type with a status
// subresource).
func keepAllButStatus(old, obj api.Object) bool {
	meta := func() {
		obj.SetLabels(old.GetLabels())
		obj.SetAnnotations(old.GetAnnotations())
		obj.SetFinalizers(old.GetFinalizers())
		obj.SetOwnerReferences(old.GetOwnerReferences())
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		o.Spec = old.(*corev1.Pod).Spec
	case *appsv1.Deployment:
		o.Spec = old.(*appsv1.Deployment).Spec
	case *appsv1.ReplicaSet:
		o.Spec = old.(*appsv1.ReplicaSet).Spec
	case *corev1.Service:
		o.Spec = old.(*corev1.Service).Spec
	case *corev1.Namespace:
		o.Spec = old.(*corev1.Namespace).Spec
	case *corev1.Node:
		o.Spec = old.(*corev1.Node).Spec
	default:
		meta()
		return false
	}
	meta()
	return true
}

func specEqual(old, obj api.Object) bool {
	switch o := obj.(type) {
	case *corev1.Pod:
		return apiequality.Semantic.DeepEqual(o.Spec, old.(*corev1.Pod).Spec)
	case *appsv1.Deployment:
		return apiequality.Semantic.DeepEqual(o.Spec, old.(*appsv1.Deployment).Spec)
	case *appsv1.ReplicaSet:
		return apiequality.Semantic.DeepEqual(o.Spec, old.(*appsv1.ReplicaSet).Spec)
	}
	return true
}

// leaseRenewalValid reports, for the write every kubelet makes every 10 s,
// that api.Validate would accept it: a Lease update that leaves metadata as
// stored (so the metadata checks would repeat old's, which passed) and
// whose spec passes the one Lease rule core/api has (leaseDurationSeconds
// > 0; TestLeaseRenewalValidAgreesWithValidate keeps the two in step). Any
// other case, valid or not, goes through api.Validate. Validating the
// metadata again cost as much as the rest of the renewal.
func leaseRenewalValid(obj, old api.Object) bool {
	l, ok := obj.(*coordinationv1.Lease)
	if !ok {
		return false
	}
	if d := l.Spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		return false
	}
	return objectMetaEqual(&l.ObjectMeta, &old.(*coordinationv1.Lease).ObjectMeta)
}

// copyLease copies in for an update over old, sharing old's labels,
// annotations, owner references, finalizers and deletion fields (stored
// objects are never modified) when in's are equal to them, nil where old's
// are nil, and in's spec pointers' targets where they are identical to
// old's. It returns nil when the metadata differs; the caller then makes a
// deep copy. The result is the deep copy's equal.
func copyLease(in, old *coordinationv1.Lease) *coordinationv1.Lease {
	a, b := &in.ObjectMeta, &old.ObjectMeta
	if (a.Labels == nil) != (b.Labels == nil) || !stringMapEqual(a.Labels, b.Labels) ||
		(a.Annotations == nil) != (b.Annotations == nil) || !stringMapEqual(a.Annotations, b.Annotations) ||
		(a.OwnerReferences == nil) != (b.OwnerReferences == nil) || !ownerRefsEqual(a.OwnerReferences, b.OwnerReferences) ||
		(a.Finalizers == nil) != (b.Finalizers == nil) || !stringsEqual(a.Finalizers, b.Finalizers) ||
		a.ManagedFields != nil || b.ManagedFields != nil ||
		(a.DeletionTimestamp == nil) != (b.DeletionTimestamp == nil) || a.DeletionTimestamp != nil && *a.DeletionTimestamp != *b.DeletionTimestamp ||
		!int64PtrEqual(a.DeletionGracePeriodSeconds, b.DeletionGracePeriodSeconds) {
		return nil
	}
	out := &coordinationv1.Lease{TypeMeta: in.TypeMeta, ObjectMeta: in.ObjectMeta, Spec: in.Spec}
	m := &out.ObjectMeta
	m.Labels, m.Annotations, m.OwnerReferences, m.Finalizers = b.Labels, b.Annotations, b.OwnerReferences, b.Finalizers
	m.DeletionTimestamp, m.DeletionGracePeriodSeconds = b.DeletionTimestamp, b.DeletionGracePeriodSeconds
	sp, os := &out.Spec, &old.Spec
	sp.HolderIdentity = sharePtr(sp.HolderIdentity, os.HolderIdentity)
	sp.LeaseDurationSeconds = sharePtr(sp.LeaseDurationSeconds, os.LeaseDurationSeconds)
	sp.AcquireTime = sharePtr(sp.AcquireTime, os.AcquireTime)
	sp.RenewTime = sharePtr(sp.RenewTime, os.RenewTime)
	sp.LeaseTransitions = sharePtr(sp.LeaseTransitions, os.LeaseTransitions)
	sp.Strategy = sharePtr(sp.Strategy, os.Strategy)
	sp.PreferredHolder = sharePtr(sp.PreferredHolder, os.PreferredHolder)
	return out
}

// sharePtr returns old when p points to a value identical to old's, else a
// pointer to a copy of *p (nil for nil).
func sharePtr[T comparable](p, old *T) *T {
	switch {
	case p == nil:
		return nil
	case old != nil && *p == *old:
		return old
	}
	v := *p
	return &v
}
