package gc

import (
	"context"
	"fmt"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/controller"
)

// Reconcile processes one graph node (key: its UID).
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	n := c.graph[types.UID(key)]
	if n == nil {
		return controller.Result{}, nil
	}
	if n.virtual {
		return c.checkVirtual(ctx, n)
	}
	live, err := c.getLive(ctx, n.id, n.uid)
	if err != nil {
		return controller.Result{}, err
	}
	if live == nil {
		c.forget(n.uid) // gone; the informer has yet to say so
		return controller.Result{}, nil
	}
	if live.GetDeletionTimestamp() != nil {
		switch fins := live.GetFinalizers(); {
		case has(fins, metav1.FinalizerOrphanDependents):
			return controller.Result{}, c.orphanDependents(ctx, n, live)
		case has(fins, metav1.FinalizerDeleteDependents):
			return controller.Result{}, c.deleteDependentsFirst(ctx, n, live)
		}
		return controller.Result{}, nil
	}
	refs := live.GetOwnerReferences()
	if len(refs) == 0 {
		return controller.Result{}, nil
	}
	solid, dangling, waiting, err := c.classify(ctx, live, refs)
	if err != nil {
		return controller.Result{}, err
	}
	switch {
	case len(solid) > 0:
		// Still owned: only drop references to owners that are gone or
		// waiting for their dependents to go.
		if len(dangling)+len(waiting) == 0 {
			return controller.Result{}, nil
		}
		drop := map[types.UID]bool{}
		for _, r := range append(dangling, waiting...) {
			drop[r.UID] = true
		}
		return controller.Result{}, c.editOwnerRefs(ctx, live, func(r *metav1.OwnerReference) bool { return !drop[r.UID] })
	case len(waiting) > 0 && len(n.dependents) > 0:
		// An owner is deleted in the foreground and this object has
		// dependents of its own: delete it in the foreground too, so the
		// wait propagates down the chain. Break a possible cycle first.
		for _, d := range n.sortedDependents() {
			if d.foreground {
				if err := c.editOwnerRefs(ctx, live, func(r *metav1.OwnerReference) bool {
					r.BlockOwnerDeletion = nil
					return true
				}); err != nil {
					return controller.Result{}, err
				}
				break
			}
		}
		return controller.Result{}, c.delete(ctx, n, metav1.DeletePropagationForeground)
	default:
		policy := metav1.DeletePropagationBackground
		switch fins := live.GetFinalizers(); {
		case has(fins, metav1.FinalizerOrphanDependents):
			policy = metav1.DeletePropagationOrphan
		case has(fins, metav1.FinalizerDeleteDependents):
			policy = metav1.DeletePropagationForeground
		}
		return controller.Result{}, c.delete(ctx, n, policy)
	}
}

// checkVirtual looks up an owner known only from ownerReferences.
func (c *Controller) checkVirtual(ctx context.Context, n *node) (controller.Result, error) {
	if n.id.res == nil {
		return controller.Result{}, nil // unknown kind: cannot judge, leave dependents be
	}
	live, err := c.getLive(ctx, n.id, n.uid)
	if err != nil {
		return controller.Result{}, err
	}
	if live == nil {
		delete(c.graph, n.uid)
		for _, d := range n.sortedDependents() {
			c.enqueue(d)
		}
		return controller.Result{}, nil
	}
	if c.monitored[n.id.res] {
		return controller.Result{}, nil // its informer will deliver it
	}
	return controller.Result{RequeueAfter: c.cfg.VirtualRecheckPeriod}, nil
}

// getLive reads an object from the API; nil when it is absent or a
// different object now has its name.
func (c *Controller) getLive(ctx context.Context, id identity, uid types.UID) (api.Object, error) {
	obj, err := c.cfg.Client.Get(ctx, id.res, id.namespace, id.name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if obj.GetUID() != uid {
		return nil, nil
	}
	return obj, nil
}

// classify sorts an object's owner references, checking each owner live:
// solid (exists), dangling (absent) or waiting (deleted in the foreground).
func (c *Controller) classify(ctx context.Context, item api.Object, refs []metav1.OwnerReference) (solid, dangling, waiting []metav1.OwnerReference, err error) {
	for _, r := range refs {
		id := ownerIdentity(r, item.GetNamespace())
		if id.res == nil {
			solid = append(solid, r)
			continue
		}
		if id.res.Namespaced && id.namespace == "" {
			c.cfg.Recorder.Event(item, "Warning", "OwnerRefInvalidNamespace",
				fmt.Sprintf("ownerRef [%s/%s, namespace: , name: %s, uid: %s] does not exist in namespace %q",
					r.APIVersion, r.Kind, r.Name, r.UID, item.GetNamespace()))
			dangling = append(dangling, r)
			continue
		}
		owner, err := c.getLive(ctx, id, r.UID)
		if err != nil {
			return nil, nil, nil, err
		}
		switch {
		case owner == nil:
			dangling = append(dangling, r)
		case owner.GetDeletionTimestamp() != nil && has(owner.GetFinalizers(), metav1.FinalizerDeleteDependents):
			waiting = append(waiting, r)
		default:
			solid = append(solid, r)
		}
	}
	return solid, dangling, waiting, nil
}

// deleteDependentsFirst handles an owner deleted in the foreground: once no
// dependent blocks it, drop its foregroundDeletion finalizer.
func (c *Controller) deleteDependentsFirst(ctx context.Context, n *node, live api.Object) error {
	blocked := false
	for _, d := range n.sortedDependents() {
		if !d.blocks(n.uid) {
			continue
		}
		blocked = true
		if !d.foreground {
			c.enqueue(d)
		}
	}
	if blocked {
		return nil // requeued when a dependent changes or goes
	}
	return c.removeFinalizer(ctx, live, metav1.FinalizerDeleteDependents)
}

// orphanDependents removes the owner's references from its dependents, then
// its orphan finalizer.
func (c *Controller) orphanDependents(ctx context.Context, n *node, live api.Object) error {
	for _, d := range n.sortedDependents() {
		if d.virtual {
			continue
		}
		dep, err := c.getLive(ctx, d.id, d.uid)
		if err != nil {
			return err
		}
		if dep == nil {
			continue
		}
		if err := c.editOwnerRefs(ctx, dep, func(r *metav1.OwnerReference) bool { return r.UID != n.uid }); err != nil {
			return err
		}
	}
	return c.removeFinalizer(ctx, live, metav1.FinalizerOrphanDependents)
}

// editOwnerRefs rewrites an object's ownerReferences: keep returns whether
// to keep each (and may modify it). No write happens if nothing changed.
func (c *Controller) editOwnerRefs(ctx context.Context, obj api.Object, keep func(*metav1.OwnerReference) bool) error {
	cp := obj.DeepCopyObject().(api.Object)
	var refs []metav1.OwnerReference
	for _, r := range cp.GetOwnerReferences() {
		if keep(&r) {
			refs = append(refs, r)
		}
	}
	cp.SetOwnerReferences(refs)
	if apiequality.Semantic.DeepEqual(refs, obj.GetOwnerReferences()) {
		return nil
	}
	_, err := c.cfg.Client.Update(ctx, cp, "")
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func (c *Controller) removeFinalizer(ctx context.Context, obj api.Object, f string) error {
	cp := obj.DeepCopyObject().(api.Object)
	var fins []string
	for _, x := range cp.GetFinalizers() {
		if x != f {
			fins = append(fins, x)
		}
	}
	cp.SetFinalizers(fins)
	_, err := c.cfg.Client.Update(ctx, cp, "")
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func (c *Controller) delete(ctx context.Context, n *node, policy metav1.DeletionPropagation) error {
	uid := n.uid
	_, _, err := c.cfg.Client.Delete(ctx, n.id.res, n.id.namespace, n.id.name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &policy})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or replaced by another object of that name
	}
	return err
}
