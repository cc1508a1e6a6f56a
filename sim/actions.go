package sim

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/controllers/deployment"
	"github.com/drydock-sim/drydock/sim/scenario"
)

// apply creates each object, or replaces the stored object's desired state
// with it when it exists (what `kubectl apply` amounts to for a whole
// manifest): metadata labels and annotations and everything but status.
func (w *World) apply(objs []scenario.Manifest) error {
	ctx := context.Background()
	for _, m := range objs {
		obj, ok := m.Object.DeepCopyObject().(api.Object)
		if !ok {
			return fmt.Errorf("%s:%d: %s is not an API object", m.File, m.Line, m.GVK.Kind)
		}
		r, err := api.For(obj)
		if err != nil {
			return fmt.Errorf("%s:%d: kind %s is not served by drydock", m.File, m.Line, m.GVK.Kind)
		}
		if r.Namespaced && obj.GetNamespace() == "" {
			obj.SetNamespace(metav1.NamespaceDefault)
		}
		cur, err := w.api.Get(ctx, r, obj.GetNamespace(), obj.GetName())
		switch {
		case apierrors.IsNotFound(err) || obj.GetName() == "":
			_, err = w.api.Create(ctx, obj, metav1.CreateOptions{})
		case err == nil:
			obj.SetResourceVersion(cur.GetResourceVersion())
			obj.SetUID(cur.GetUID())
			_, err = w.api.Update(ctx, obj, "")
		}
		if err != nil {
			return fmt.Errorf("%s:%d: apply %s %s: %w", m.File, m.Line, r.Kind, obj.GetName(), err)
		}
	}
	return nil
}

func resourceOf(ref scenario.ObjectRef) (*api.Resource, error) {
	r, ok := api.ForName(ref.Kind)
	if !ok {
		return nil, fmt.Errorf("kind %s is not served", ref.Kind)
	}
	return r, nil
}

func refNamespace(r *api.Resource, ref scenario.ObjectRef) string {
	if !r.Namespaced {
		return ""
	}
	if ref.Namespace == "" {
		return metav1.NamespaceDefault
	}
	return ref.Namespace
}

// runAction carries out one timeline entry.
func (w *World) runAction(a *scenario.Action) error {
	ctx := context.Background()
	switch a.Kind {
	case scenario.ActionApply:
		return w.apply(a.Objects)
	case scenario.ActionDelete:
		r, err := resourceOf(a.Target)
		if err != nil {
			return err
		}
		_, _, err = w.api.Delete(ctx, r, refNamespace(r, a.Target), a.Target.Name, metav1.DeleteOptions{})
		return err
	case scenario.ActionScale:
		r, err := resourceOf(a.Target)
		if err != nil {
			return err
		}
		patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, a.Replicas)
		_, err = w.api.Patch(ctx, r, refNamespace(r, a.Target), a.Target.Name, types.MergePatchType, []byte(patch), "")
		return err
	case scenario.ActionCrashNode:
		return w.crashNode(a.Node)
	case scenario.ActionRestoreNode:
		return w.restoreNode(a.Node)
	case scenario.ActionPartitionNode:
		return w.partitionNode(a.Node, true)
	case scenario.ActionHealNode:
		return w.partitionNode(a.Node, false)
	case scenario.ActionCordon, scenario.ActionUncordon:
		return w.cordon(a.Node, a.Kind == scenario.ActionCordon)
	case scenario.ActionDrain:
		return w.drain(a.Node)
	case scenario.ActionTaint:
		return w.taint(a.Node, a.Taint)
	case scenario.ActionUntaint:
		return w.untaint(a.Node, a.Taint)
	case scenario.ActionSetImage:
		return w.setImage(a.Target, a.Container, a.Image)
	case scenario.ActionRolloutUndo:
		return w.rolloutUndo(a.Target)
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

func (w *World) cordon(node string, on bool) error {
	v := "null"
	if on {
		v = "true"
	}
	_, err := w.api.Patch(context.Background(), api.Nodes, "", node, types.StrategicMergePatchType,
		[]byte(`{"spec":{"unschedulable":`+v+`}}`), "")
	return err
}

// taint is `kubectl taint nodes NODE key=value:effect --overwrite`: the
// taint is added, or replaces the node's taint with the same key and effect.
func (w *World) taint(node string, t corev1.Taint) error {
	return w.updateTaints(node, func(taints []corev1.Taint) ([]corev1.Taint, error) {
		for i := range taints {
			if taints[i].Key == t.Key && taints[i].Effect == t.Effect {
				taints[i] = t
				return taints, nil
			}
		}
		return append(taints, t), nil
	})
}

// untaint is `kubectl taint nodes NODE key:effect-` (every effect when the
// effect is empty); like kubectl, removing a taint the node lacks fails.
func (w *World) untaint(node string, t corev1.Taint) error {
	return w.updateTaints(node, func(taints []corev1.Taint) ([]corev1.Taint, error) {
		out := taints[:0]
		for _, x := range taints {
			if x.Key != t.Key || (t.Effect != "" && x.Effect != t.Effect) {
				out = append(out, x)
			}
		}
		if len(out) == len(taints) {
			name := t.Key
			if t.Effect != "" {
				name += ":" + string(t.Effect)
			}
			return nil, fmt.Errorf("taint %q not found on node %s", name, node)
		}
		return out, nil
	})
}

func (w *World) updateTaints(node string, change func([]corev1.Taint) ([]corev1.Taint, error)) error {
	ctx := context.Background()
	o, err := w.api.Get(ctx, api.Nodes, "", node)
	if err != nil {
		return err
	}
	n := o.(*corev1.Node).DeepCopy()
	if n.Spec.Taints, err = change(n.Spec.Taints); err != nil {
		return err
	}
	_, err = w.api.Update(ctx, n, "")
	return err
}

// drain does what `kubectl drain` does: cordon, then evict every pod on the
// node that is not already finished (drydock has no DaemonSets or mirror pods
// to skip).
func (w *World) drain(node string) error {
	if err := w.cordon(node, true); err != nil {
		return err
	}
	ctx := context.Background()
	pods, _, err := w.api.List(ctx, api.Pods, "", metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return err
	}
	for _, o := range pods {
		p := o.(*corev1.Pod)
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
		if err := w.api.Evict(ctx, ev); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("evict %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
	return nil
}

// setImage is `kubectl set image deployment/web container=image`.
func (w *World) setImage(ref scenario.ObjectRef, container, image string) error {
	r, err := resourceOf(ref)
	if err != nil {
		return err
	}
	ctx := context.Background()
	o, err := w.api.Get(ctx, r, refNamespace(r, ref), ref.Name)
	if err != nil {
		return err
	}
	obj := o.DeepCopyObject().(api.Object)
	var spec *corev1.PodSpec
	switch t := obj.(type) {
	case *appsv1.Deployment:
		spec = &t.Spec.Template.Spec
	case *appsv1.ReplicaSet:
		spec = &t.Spec.Template.Spec
	default:
		return fmt.Errorf("setImage: %s has no pod template", r.Kind)
	}
	found := false
	for i := range spec.Containers {
		if spec.Containers[i].Name == container || container == "" || container == "*" {
			spec.Containers[i].Image = image
			found = true
		}
	}
	if !found {
		return fmt.Errorf("setImage: %s %s has no container %q", r.Kind, ref.Name, container)
	}
	_, err = w.api.Update(ctx, obj, "")
	return err
}

// rolloutUndo is `kubectl rollout undo deployment/NAME`: back to the
// previous revision.
func (w *World) rolloutUndo(ref scenario.ObjectRef) error {
	r, err := resourceOf(ref)
	if err != nil {
		return err
	}
	if r != api.Deployments {
		return fmt.Errorf("rolloutUndo: %s is not a Deployment", ref)
	}
	o, err := w.api.Get(context.Background(), r, refNamespace(r, ref), ref.Name)
	if err != nil {
		return err
	}
	return deployment.Rollback(context.Background(), w.api, o.(*appsv1.Deployment), 0)
}
