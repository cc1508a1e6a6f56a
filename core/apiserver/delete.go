package apiserver

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
)

// Finalizers the garbage collector acts on.
const (
	FinalizerForeground = metav1.FinalizerDeleteDependents // "foregroundDeletion"
	FinalizerOrphan     = metav1.FinalizerOrphanDependents // "orphan"
)

// Delete deletes an object following Kubernetes: objects with finalizers (or
// a Foreground/Orphan propagation policy) only get a deletionTimestamp; pods
// bound to a node are deleted gracefully (the kubelet stops them and then
// deletes with grace 0); namespaces are finalized by the namespace controller.
// It returns the object as it stands after the call and whether it is gone.
//
// With DryRun ["All"] every check runs and the answer is what the delete
// would answer (the stored object for an immediate delete, the object with
// its deletionTimestamp for a graceful or finalizer delete), but nothing is
// written and no address is released.
func (s *Server) Delete(ctx context.Context, r *api.Resource, ns, name string, opts metav1.DeleteOptions) (api.Object, bool, error) {
	dry, err := dryRunAll(opts.DryRun, "DeleteOptions")
	if err != nil {
		return nil, false, err
	}
	if !r.Namespaced {
		ns = ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.Key(ns, name)
	cur, err := s.store.Get(key)
	if err != nil {
		return nil, false, storeError(err, r, name)
	}
	old := cur.(api.Object)
	if p := opts.Preconditions; p != nil {
		if p.UID != nil && *p.UID != old.GetUID() {
			return nil, false, apierrors.NewConflict(r.GroupResource(), name,
				fmt.Errorf("Precondition failed: UID in precondition: %s, UID in object meta: %s", *p.UID, old.GetUID()))
		}
		if p.ResourceVersion != nil && *p.ResourceVersion != old.GetResourceVersion() {
			return nil, false, apierrors.NewConflict(r.GroupResource(), name,
				fmt.Errorf("Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s", *p.ResourceVersion, old.GetResourceVersion()))
		}
	}
	policy := metav1.DeletePropagationBackground
	if opts.PropagationPolicy != nil {
		policy = *opts.PropagationPolicy
	} else if opts.OrphanDependents != nil && *opts.OrphanDependents {
		policy = metav1.DeletePropagationOrphan
	}
	switch policy {
	case metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan:
	default:
		return nil, false, apierrors.NewBadRequest(fmt.Sprintf("DeletionPropagation policy %q is not supported", policy))
	}

	grace, graceful := s.gracePeriod(old, opts)
	finalizers := old.GetFinalizers()
	switch policy {
	case metav1.DeletePropagationForeground:
		finalizers = withFinalizer(finalizers, FinalizerForeground)
	case metav1.DeletePropagationOrphan:
		finalizers = withFinalizer(finalizers, FinalizerOrphan)
	}
	_, isNS := old.(*corev1.Namespace)
	if !graceful && len(finalizers) == 0 && !isNS {
		if dry {
			return old, true, nil
		}
		rev, _ := strconv.ParseInt(old.GetResourceVersion(), 10, 64)
		// Like Kubernetes, answer with the last state at the deletion's
		// revision (what watchers see in DELETED), not the previous one.
		last, _, err := s.store.Delete(key, rev)
		if err != nil {
			return nil, false, storeError(err, r, name)
		}
		s.releaseService(old)
		return last.(api.Object), true, nil
	}

	// Only metadata (and a namespace's phase) change below, through
	// setters that replace rather than modify: a shallow copy suffices.
	obj := shallowCopy(old)
	obj.SetFinalizers(finalizers)
	now := s.now()
	if obj.GetDeletionTimestamp() == nil {
		ts := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
		obj.SetDeletionTimestamp(&ts)
		g := grace
		obj.SetDeletionGracePeriodSeconds(&g)
	} else if cg := obj.GetDeletionGracePeriodSeconds(); graceful && cg != nil && grace < *cg {
		// A second delete may only shorten the grace period.
		ts := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
		obj.SetDeletionTimestamp(&ts)
		g := grace
		obj.SetDeletionGracePeriodSeconds(&g)
	} else if !graceful && len(finalizers) == len(old.GetFinalizers()) {
		return old, false, nil
	}
	if n, ok := obj.(*corev1.Namespace); ok {
		n.Status.Phase = corev1.NamespaceTerminating
	}
	if p, ok := obj.(*corev1.Pod); ok && !graceful && p.Spec.NodeName != "" {
		g := int64(0)
		p.DeletionGracePeriodSeconds = &g
	}
	if dry {
		return obj, finalized(obj), nil
	}
	rev, _ := strconv.ParseInt(old.GetResourceVersion(), 10, 64)
	if finalized(obj) {
		last, _, err := s.store.Delete(key, rev)
		if err != nil {
			return nil, false, storeError(err, r, name)
		}
		return last.(api.Object), true, nil
	}
	if _, err := s.store.Update(key, obj, rev); err != nil {
		return nil, false, storeError(err, r, name)
	}
	return obj, false, nil
}

// gracePeriod decides whether a delete is graceful and for how long: only
// pods that are bound to a node and not yet terminal, as in Kubernetes.
func (s *Server) gracePeriod(obj api.Object, opts metav1.DeleteOptions) (int64, bool) {
	p, ok := obj.(*corev1.Pod)
	if !ok || p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return 0, false
	}
	grace := api.DefaultTerminationGracePeriodSeconds
	if p.Spec.TerminationGracePeriodSeconds != nil {
		grace = *p.Spec.TerminationGracePeriodSeconds
	}
	if opts.GracePeriodSeconds != nil {
		grace = *opts.GracePeriodSeconds
	}
	if grace <= 0 {
		// Grace 0 on a bound pod is a forced delete: remove it at once.
		return 0, false
	}
	return grace, true
}

func withFinalizer(list []string, f string) []string {
	for _, x := range list {
		if x == f {
			return list
		}
	}
	return append(append([]string(nil), list...), f)
}

// Bind assigns a pod to a node (the pods/binding subresource).
func (s *Server) Bind(ctx context.Context, b *corev1.Binding) error {
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		return apierrors.NewBadRequest("binding target must be a Node")
	}
	ns := b.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := api.Pods.Key(ns, b.Name)
	cur, err := s.store.Get(key)
	if err != nil {
		return storeError(err, api.Pods, b.Name)
	}
	old := cur.(*corev1.Pod)
	if b.UID != "" && b.UID != old.UID {
		return apierrors.NewConflict(api.Pods.GroupResource(), b.Name, fmt.Errorf("pod UID changed"))
	}
	if old.Spec.NodeName != "" {
		return apierrors.NewConflict(api.Pods.GroupResource(), b.Name,
			fmt.Errorf("pod %s is already assigned to node %q", b.Name, old.Spec.NodeName))
	}
	if old.DeletionTimestamp != nil {
		return apierrors.NewConflict(api.Pods.GroupResource(), b.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", b.Name))
	}
	// Only spec.nodeName and status change: the new version shares the
	// rest of the (immutable) spec with the old one, so every bound pod
	// does not carry a second copy of its containers.
	pod := &corev1.Pod{TypeMeta: old.TypeMeta, ObjectMeta: old.ObjectMeta, Spec: old.Spec, Status: *old.Status.DeepCopy()}
	pod.Spec.NodeName = b.Target.Name
	setPodCondition(&pod.Status, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: s.now()})
	rev, _ := strconv.ParseInt(old.ResourceVersion, 10, 64)
	if _, err := s.store.Update(key, pod, rev); err != nil {
		return storeError(err, api.Pods, b.Name)
	}
	return nil
}

func setPodCondition(st *corev1.PodStatus, c corev1.PodCondition) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			if st.Conditions[i].Status != c.Status {
				st.Conditions[i] = c
			}
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}

// Evict is the pods/eviction subresource: a graceful delete. drydock has no
// PodDisruptionBudgets yet, so every eviction is allowed.
func (s *Server) Evict(ctx context.Context, e *policyv1.Eviction) error {
	opts := metav1.DeleteOptions{}
	if e.DeleteOptions != nil {
		opts = *e.DeleteOptions
	}
	ns := e.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	_, _, err := s.Delete(ctx, api.Pods, ns, e.Name, opts)
	return err
}
