package endpoints

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/controller"
	"github.com/drydock-sim/drydock/core/informer"
)

// Reconcile brings the Endpoints named key in line with its Service.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	ns, name := informer.SplitKey(key)
	var cur *corev1.Endpoints
	if obj, ok := c.cfg.Endpoints.Get(ns, name); ok {
		cur = obj.(*corev1.Endpoints)
	}
	obj, ok := c.cfg.Services.Get(ns, name)
	if !ok {
		// The Service is gone: so is its Endpoints (leader-election
		// records, which reuse the type, are left alone).
		if cur == nil || cur.Annotations[LeaderAnnotation] != "" {
			return controller.Result{}, nil
		}
		uid := cur.UID
		_, _, err := c.cfg.Client.Delete(ctx, api.Endpoints, ns, name,
			metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return controller.Result{}, err
		}
		return controller.Result{}, nil
	}
	svc := obj.(*corev1.Service)
	if svc.Spec.Selector == nil || svc.Spec.Type == corev1.ServiceTypeExternalName {
		// Selectorless Services get their Endpoints from elsewhere.
		return controller.Result{}, nil
	}

	subsets := Subsets(svc, c.selectedPods(svc))
	subsets, truncated := truncate(subsets, c.cfg.MaxAddresses)
	wantLabels := map[string]string{}
	for k, v := range svc.Labels {
		wantLabels[k] = v
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone || svc.Spec.ClusterIP == "" {
		wantLabels[HeadlessLabel] = ""
	} else {
		delete(wantLabels, HeadlessLabel)
	}

	if cur == nil {
		ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: wantLabels},
			Subsets: subsets}
		if truncated {
			ep.Annotations = map[string]string{OverCapacityAnnotation: "truncated"}
		}
		out, err := c.cfg.Client.Create(ctx, ep, metav1.CreateOptions{})
		if err != nil {
			if apierrors.IsForbidden(err) {
				return controller.Result{}, nil // namespace terminating
			}
			return controller.Result{}, err
		}
		c.written[key] = out.GetResourceVersion()
		return controller.Result{}, nil
	}

	wantAnn := map[string]string{}
	for k, v := range cur.Annotations {
		wantAnn[k] = v
	}
	if truncated {
		wantAnn[OverCapacityAnnotation] = "truncated"
	} else {
		delete(wantAnn, OverCapacityAnnotation)
	}
	if apiequality.Semantic.DeepEqual(cur.Subsets, subsets) && labels.Equals(cur.Labels, wantLabels) &&
		labels.Equals(cur.Annotations, wantAnn) {
		return controller.Result{}, nil
	}
	upd := cur.DeepCopy()
	upd.Subsets, upd.Labels, upd.Annotations = subsets, wantLabels, wantAnn
	out, err := c.cfg.Client.Update(ctx, upd, "")
	if err != nil {
		if apierrors.IsNotFound(err) {
			return controller.Result{Requeue: true}, nil // recreate on the next pass
		}
		return controller.Result{}, err
	}
	c.written[key] = out.GetResourceVersion()
	return controller.Result{}, nil
}

// selectedPods lists the pods the Service selects, reading only the pods
// that carry the selector's rarest label pair.
func (c *Controller) selectedPods(svc *corev1.Service) []*corev1.Pod {
	value := svc.Namespace + "\x00"
	best := -1
	for k, v := range svc.Spec.Selector {
		cand := svc.Namespace + "/" + k + "=" + v
		if n := c.cfg.Pods.CountByIndex(PodLabelIndex, cand); best < 0 || n < best || (n == best && cand < value) {
			value, best = cand, n
		}
	}
	sel := labels.SelectorFromValidatedSet(svc.Spec.Selector)
	var out []*corev1.Pod
	for _, obj := range c.cfg.Pods.ByIndex(PodLabelIndex, value) {
		if p := obj.(*corev1.Pod); sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}
