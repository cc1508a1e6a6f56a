package namespace

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/controller"
)

// Reconcile empties and finalizes one terminating namespace.
func (c *Controller) Reconcile(ctx context.Context, name string) (controller.Result, error) {
	obj, ok := c.cfg.Namespaces.Get("", name)
	if !ok {
		return controller.Result{}, nil
	}
	ns := obj.(*corev1.Namespace)
	if ns.DeletionTimestamp == nil || !hasFinalizer(ns) {
		return controller.Result{}, nil
	}
	tally, errs := c.deleteContent(ctx, name)

	cur := ns
	if upd := withConditions(ns, conditionsFor(tally, errs), c.cfg.Clock.Now()); upd != nil {
		out, err := c.cfg.Client.Update(ctx, upd, "status")
		if apierrors.IsNotFound(err) {
			return controller.Result{}, nil
		}
		if err != nil {
			return controller.Result{}, err
		}
		cur = out.(*corev1.Namespace)
	}
	if len(errs) > 0 {
		return controller.Result{}, fmt.Errorf("namespace %s: %s", name, strings.Join(errs, "; "))
	}
	if tally.total > 0 {
		return controller.Result{RequeueAfter: time.Duration(tally.estimate/2+1) * time.Second}, nil
	}

	fin := cur.DeepCopy()
	var keep []corev1.FinalizerName
	for _, f := range fin.Spec.Finalizers {
		if f != corev1.FinalizerKubernetes {
			keep = append(keep, f)
		}
	}
	fin.Spec.Finalizers = keep
	if _, err := c.cfg.Client.Update(ctx, fin, "finalize"); err != nil && !apierrors.IsNotFound(err) {
		return controller.Result{}, err
	}
	return controller.Result{}, nil
}

// tally is what remains in a namespace after a deletion pass.
type tally struct {
	total       int
	byResource  map[*api.Resource]int
	byFinalizer map[string]int
	// estimate is how many seconds the remaining content may take to go.
	estimate int64
}

// deleteContent deletes every object of every namespaced resource in ns and
// reports what is left.
func (c *Controller) deleteContent(ctx context.Context, ns string) (tally, []string) {
	t := tally{byResource: map[*api.Resource]int{}, byFinalizer: map[string]int{}}
	var errs []string
	now := c.cfg.Clock.Now()
	bg := metav1.DeletePropagationBackground
	for _, r := range c.cfg.Resources {
		objs, _, err := c.cfg.Client.List(ctx, r, ns, metav1.ListOptions{})
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		var left int
		var est int64
		fins := false
		for _, o := range objs {
			if o.GetDeletionTimestamp() == nil {
				uid := o.GetUID()
				out, gone, err := c.cfg.Client.Delete(ctx, r, ns, o.GetName(), metav1.DeleteOptions{
					PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &uid}})
				switch {
				case apierrors.IsNotFound(err) || apierrors.IsConflict(err) || gone:
					continue
				case err != nil:
					errs = append(errs, err.Error())
					continue
				}
				o = out
			}
			left++
			for _, f := range o.GetFinalizers() {
				t.byFinalizer[f]++
				fins = true
			}
			if dt := o.GetDeletionTimestamp(); dt != nil && dt.After(now) {
				est = max(est, int64((dt.Sub(now)+time.Second-1)/time.Second))
			}
		}
		if left == 0 {
			continue
		}
		t.total += left
		t.byResource[r] = left
		switch {
		case est > 0:
		case fins:
			// Content held by finalizers is normal: give the GC time.
			est = FinalizerEstimateSeconds
		default:
			// Nothing explains why it is still there: back off as an error.
			errs = append(errs, fmt.Sprintf("unexpected items still remain in namespace: %s for gvr: %s", ns, r.GroupVersion().WithResource(r.Name)))
		}
		t.estimate = max(t.estimate, est)
	}
	return t, errs
}

func hasFinalizer(ns *corev1.Namespace) bool {
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return true
		}
	}
	return false
}

// The namespace conditions the controller maintains, and their values when
// all is well, as in Kubernetes.
var conditionOrder = []corev1.NamespaceConditionType{
	corev1.NamespaceDeletionDiscoveryFailure,
	corev1.NamespaceDeletionGVParsingFailure,
	corev1.NamespaceDeletionContentFailure,
	corev1.NamespaceContentRemaining,
	corev1.NamespaceFinalizersRemaining,
}

var okConditions = map[corev1.NamespaceConditionType][2]string{
	corev1.NamespaceDeletionDiscoveryFailure: {"ResourcesDiscovered", "All resources successfully discovered"},
	corev1.NamespaceDeletionGVParsingFailure: {"ParsedGroupVersions", "All legacy kube types successfully parsed"},
	corev1.NamespaceDeletionContentFailure:   {"ContentDeleted", "All content successfully deleted, may be waiting on finalization"},
	corev1.NamespaceContentRemaining:         {"ContentRemoved", "All content successfully removed"},
	corev1.NamespaceFinalizersRemaining:      {"ContentHasNoFinalizers", "All content-preserving finalizers finished"},
}

// conditionsFor turns a deletion pass into the failing conditions; types
// not returned are set to their ok values.
func conditionsFor(t tally, errs []string) map[corev1.NamespaceConditionType]corev1.NamespaceCondition {
	out := map[corev1.NamespaceConditionType]corev1.NamespaceCondition{}
	if len(errs) > 0 {
		out[corev1.NamespaceDeletionContentFailure] = corev1.NamespaceCondition{Status: corev1.ConditionTrue,
			Reason: "ContentDeletionFailed", Message: fmt.Sprintf("Failed to delete all resource types, %d remaining: %s", len(errs), strings.Join(errs, ", "))}
	}
	if len(t.byResource) > 0 {
		var parts []string
		for r, n := range t.byResource {
			parts = append(parts, fmt.Sprintf("%s.%s has %d resource instances", r.Name, r.Group, n))
		}
		sort.Strings(parts)
		out[corev1.NamespaceContentRemaining] = corev1.NamespaceCondition{Status: corev1.ConditionTrue,
			Reason: "SomeResourcesRemain", Message: "Some resources are remaining: " + strings.Join(parts, ", ")}
	}
	if len(t.byFinalizer) > 0 {
		var parts []string
		for f, n := range t.byFinalizer {
			parts = append(parts, fmt.Sprintf("%s in %d resource instances", f, n))
		}
		sort.Strings(parts)
		out[corev1.NamespaceFinalizersRemaining] = corev1.NamespaceCondition{Status: corev1.ConditionTrue,
			Reason: "SomeFinalizersRemain", Message: "Some content in the namespace has finalizers remaining: " + strings.Join(parts, ", ")}
	}
	return out
}

// withConditions returns a copy of ns with its deletion conditions (and
// Terminating phase) set, or nil when nothing changes. A condition's
// transition time moves only when its status does.
func withConditions(ns *corev1.Namespace, failing map[corev1.NamespaceConditionType]corev1.NamespaceCondition, now time.Time) *corev1.Namespace {
	out := ns.DeepCopy()
	changed := out.Status.Phase != corev1.NamespaceTerminating
	out.Status.Phase = corev1.NamespaceTerminating
	ts := metav1.NewTime(now.Truncate(time.Second))
	for _, typ := range conditionOrder {
		want, bad := failing[typ]
		if !bad {
			ok := okConditions[typ]
			want = corev1.NamespaceCondition{Status: corev1.ConditionFalse, Reason: ok[0], Message: ok[1]}
		}
		want.Type = typ
		want.LastTransitionTime = ts
		i := -1
		for j := range out.Status.Conditions {
			if out.Status.Conditions[j].Type == typ {
				i = j
			}
		}
		if i < 0 {
			out.Status.Conditions = append(out.Status.Conditions, want)
			changed = true
			continue
		}
		old := &out.Status.Conditions[i]
		if old.Status == want.Status && old.Reason == want.Reason && old.Message == want.Message {
			continue
		}
		if old.Status == want.Status {
			want.LastTransitionTime = old.LastTransitionTime
		}
		*old = want
		changed = true
	}
	if !changed {
		return nil
	}
	return out
}
