package replicaset

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/controller"
	"github.com/drydock-sim/drydock/core/informer"
)

// Reconcile syncs one ReplicaSet: claim pods, create or delete toward
// spec.replicas unless earlier operations are still unobserved, and write status.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	obj, ok := c.cfg.ReplicaSets.GetKey(key)
	if !ok {
		c.Expectations.Delete(key)
		delete(c.memos, key)
		return controller.Result{}, nil
	}
	rs := obj.(*appsv1.ReplicaSet)
	// Read expectations before the cache: an event arriving later only
	// makes the cache newer than what the expectations promised.
	needsSync := c.Expectations.Satisfied(key)
	memo := c.memoFor(key, rs)
	sel, err := memo.selector()
	if err != nil {
		return controller.Result{}, nil // an invalid selector is not fixed by retrying
	}
	pods, facts, err := c.claimPods(ctx, memo, rs, sel)
	if err != nil {
		return controller.Result{}, err
	}
	var manageErr error
	if needsSync && rs.DeletionTimestamp == nil {
		manageErr = c.manageReplicas(ctx, key, rs, pods)
	}
	status := c.calculateStatus(rs, pods, facts, manageErr)
	if err := c.updateStatus(ctx, memo, rs, status); err != nil {
		return controller.Result{}, err
	}
	if manageErr != nil {
		return controller.Result{}, manageErr
	}
	return controller.Result{RequeueAfter: c.requeueAfter(key, rs, facts)}, nil
}

// requeueAfter is when this ReplicaSet next needs a look without any event:
// when a ready pod turns available (minReadySeconds), or when outstanding
// expectations expire.
func (c *Controller) requeueAfter(key string, rs *appsv1.ReplicaSet, facts []podFacts) time.Duration {
	now := c.cfg.Clock.Now()
	var next time.Duration
	consider := func(d time.Duration) {
		if d > 0 && (next == 0 || d < next) {
			next = d
		}
	}
	if m := rs.Spec.MinReadySeconds; m > 0 {
		for i := range facts {
			if at := facts[i].availableAt(m); !at.IsZero() && !facts[i].available(m, now) {
				// Available strictly after at; the extra second absorbs
				// timestamp truncation, as Kubernetes adds one too.
				consider(max(at.Sub(now), 0) + time.Second)
			}
		}
	}
	if x, ok := c.Expectations.m[key]; ok && !c.Expectations.Satisfied(key) {
		consider(x.at.Add(ExpectationsTimeout).Sub(now) + time.Second)
	}
	return next
}

// claimPods returns the active pods the ReplicaSet controls after adopting
// matching orphans and releasing owned pods it no longer selects, and their
// facts (valid until the next sync of the ReplicaSet).
//
// It runs on every event of every pod of the ReplicaSet, so the common case
// (an owned pod the selector still matches) is decided here from memoized
// facts without the RefManager's generic path; everything else goes
// through RefManager.
func (c *Controller) claimPods(ctx context.Context, memo *factsMemo, rs *appsv1.ReplicaSet, sel labels.Selector) ([]*corev1.Pod, []podFacts, error) {
	// Shared, read-only: nothing below keeps it past this sync.
	owned := c.cfg.Pods.ByIndexShared(IndexPodsByController, string(rs.UID))
	ownedFacts := memo.factsOf(rs, sel, owned)
	// Scratch buffers of the memo: the results live until the next sync
	// of this ReplicaSet, and the sync that asked is done with them by then.
	pods, facts := memo.claimedPods[:0], memo.claimedFacts[:0]
	defer func() { memo.claimedPods, memo.claimedFacts = pods[:0], facts[:0] }()
	var rest []api.Object // candidates RefManager must decide, in the same order
	for i, o := range owned {
		p := o.(*corev1.Pod)
		f := &ownedFacts[i]
		if !f.active {
			continue
		}
		// Indexed under rs.UID, so the pod's controller is this
		// ReplicaSet: claimed iff still selected (RefManager.claimOne).
		if rest == nil && f.selected {
			pods = append(pods, p)
			facts = append(facts, *f)
			continue
		}
		rest = append(rest, p)
	}
	for _, o := range c.cfg.Pods.ByIndex(IndexOrphanPods, rs.Namespace) {
		if IsPodActive(o.(*corev1.Pod)) {
			rest = append(rest, o)
		}
	}
	if len(rest) == 0 {
		return pods, facts, nil
	}
	m := &RefManager{Client: c.cfg.Client, Owner: rs, OwnerResource: api.ReplicaSets, Resource: api.Pods, Selector: sel}
	claimed, err := m.Claim(ctx, rest)
	for _, o := range claimed {
		p := o.(*corev1.Pod)
		pods = append(pods, p)
		facts = append(facts, memo.compute(rs, sel, p))
	}
	return pods, facts, err
}

// manageReplicas creates or deletes pods toward spec.replicas.
func (c *Controller) manageReplicas(ctx context.Context, key string, rs *appsv1.ReplicaSet, pods []*corev1.Pod) error {
	want := int(desired(rs))
	diff := len(pods) - want
	switch {
	case diff < 0:
		n := min(-diff, BurstReplicas)
		// Expect all n before the first create: an ADDED event may be
		// delivered before the last create returns.
		c.Expectations.ExpectCreations(key, n)
		done, err := slowStartBatch(n, SlowStartInitialBatchSize, func() error { return c.createPod(ctx, rs) })
		// Creations never attempted, or failed, will never be observed.
		for i := done; i < n; i++ {
			c.Expectations.CreationObserved(key)
		}
		return err
	case diff > 0:
		n := min(diff, BurstReplicas)
		doomed := victims(pods, c.relatedPods(rs), n, c.cfg.Clock.Now())
		keys := make([]string, len(doomed))
		for i, p := range doomed {
			keys[i] = informer.Key(p)
		}
		c.Expectations.ExpectDeletions(key, keys)
		var errs []error
		for i, p := range doomed {
			if err := c.deletePod(ctx, rs, p); err != nil {
				// This deletion will not be observed (or already was).
				c.Expectations.DeletionObserved(key, keys[i])
				if !apierrors.IsNotFound(err) {
					errs = append(errs, err)
				}
			}
		}
		return errors.Join(errs...)
	}
	return nil
}

// slowStartBatch calls fn count times in batches that double from initial
// while every call succeeds, so a systematic failure (quota, admission)
// costs one call instead of hundreds. It returns the number of successes.
func slowStartBatch(count, initial int, fn func() error) (int, error) {
	remaining := count
	successes := 0
	for batch := min(remaining, initial); batch > 0; batch = min(2*batch, remaining) {
		var errs []error
		for i := 0; i < batch; i++ {
			if err := fn(); err != nil {
				errs = append(errs, err)
			} else {
				successes++
			}
		}
		if len(errs) > 0 {
			return successes, errors.Join(errs...)
		}
		remaining -= batch
	}
	return successes, nil
}

// relatedPods are the pods of every ReplicaSet with the same controller as
// rs (the other revisions of its Deployment), used to spread what remains
// after a scale-down across nodes.
func (c *Controller) relatedPods(rs *appsv1.ReplicaSet) []*corev1.Pod {
	ref := metav1.GetControllerOfNoCopy(rs)
	if ref == nil {
		return nil
	}
	var out []*corev1.Pod
	for _, o := range c.cfg.ReplicaSets.ByIndex(IndexRSByController, string(ref.UID)) {
		for _, p := range c.cfg.Pods.ByIndex(IndexPodsByController, string(o.GetUID())) {
			out = append(out, p.(*corev1.Pod))
		}
	}
	return out
}

func (c *Controller) createPod(ctx context.Context, rs *appsv1.ReplicaSet) error {
	out, err := c.cfg.Client.Create(ctx, PodFromTemplate(rs), metav1.CreateOptions{})
	if err != nil {
		c.cfg.Recorder.Event(rs, corev1.EventTypeWarning, "FailedCreate", fmt.Sprintf("Error creating: %v", err))
		return err
	}
	c.cfg.Recorder.Event(rs, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: "+out.GetName())
	return nil
}

func (c *Controller) deletePod(ctx context.Context, rs *appsv1.ReplicaSet, p *corev1.Pod) error {
	uid := p.UID
	_, _, err := c.cfg.Client.Delete(ctx, api.Pods, p.Namespace, p.Name,
		metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil {
		if !apierrors.IsNotFound(err) {
			c.cfg.Recorder.Event(rs, corev1.EventTypeWarning, "FailedDelete", fmt.Sprintf("Error deleting: %v", err))
		}
		return err
	}
	c.cfg.Recorder.Event(rs, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: "+p.Name)
	return nil
}

// PodFromTemplate is the pod a ReplicaSet creates: its template with
// generateName "<rs>-" and a controller reference to it. The template's
// maps and spec are shared, not copied: the API copies what it is given.
func PodFromTemplate(rs *appsv1.ReplicaSet) *corev1.Pod {
	prefix := rs.Name + "-"
	if len(apivalidation.NameIsDNSSubdomain(prefix, true)) != 0 {
		prefix = rs.Name
	}
	t := &rs.Spec.Template
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    prefix,
			Namespace:       rs.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{NewControllerRef(rs, api.ReplicaSets)},
		},
		Spec: t.Spec,
	}
}
