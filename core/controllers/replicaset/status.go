package replicaset

import (
	"context"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
)

// Reasons of the ReplicaFailure condition.
const (
	ReasonFailedCreate = "FailedCreate"
	ReasonFailedDelete = "FailedDelete"
)

// calculateStatus counts the claimed active pods and carries a
// ReplicaFailure condition while creating or deleting fails.
func (c *Controller) calculateStatus(rs *appsv1.ReplicaSet, pods []*corev1.Pod, facts []podFacts, manageErr error) appsv1.ReplicaSetStatus {
	st := *rs.Status.DeepCopy()
	now := c.cfg.Clock.Now()
	var full, ready, avail int32
	for i := range facts {
		f := &facts[i]
		if f.labeled {
			full++
		}
		if f.ready {
			ready++
			if f.available(rs.Spec.MinReadySeconds, now) {
				avail++
			}
		}
	}
	st.Replicas = int32(len(pods))
	st.FullyLabeledReplicas = full
	st.ReadyReplicas = ready
	st.AvailableReplicas = avail

	failure := condition(st.Conditions, appsv1.ReplicaSetReplicaFailure)
	switch {
	case manageErr != nil && failure == nil:
		reason := ReasonFailedCreate
		if len(pods) > int(desired(rs)) {
			reason = ReasonFailedDelete
		}
		st.Conditions = append(st.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: reason,
			Message: manageErr.Error(), LastTransitionTime: metav1.NewTime(now.Truncate(time.Second)),
		})
	case manageErr == nil && failure != nil:
		var keep []appsv1.ReplicaSetCondition
		for _, cond := range st.Conditions {
			if cond.Type != appsv1.ReplicaSetReplicaFailure {
				keep = append(keep, cond)
			}
		}
		st.Conditions = keep
	}
	return st
}

func condition(conds []appsv1.ReplicaSetCondition, t appsv1.ReplicaSetConditionType) *appsv1.ReplicaSetCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// updateStatus writes status if it changed, retrying once against a fresh
// copy on conflict. observedGeneration is the generation this sync read.
//
// The watch delivers the controller's own status writes a moment later, and
// pod events in between sync again against the cache's older copy: a write
// based on it is bound to conflict. While the cache shows a version the
// controller's own writes have since replaced, the last written object
// (what the store holds, as this controller is the only writer of
// ReplicaSet status) is the base instead, so the doomed attempt and the
// re-read are skipped. A wrong guess only costs the conflict and re-read it
// saves; the writes that reach the store are the same.
func (c *Controller) updateStatus(ctx context.Context, memo *factsMemo, rs *appsv1.ReplicaSet, st appsv1.ReplicaSetStatus) error {
	st.ObservedGeneration = rs.Generation
	base := rs
	if k := slices.Index(memo.replaced, rs.ResourceVersion); k >= 0 && memo.written != nil {
		base = memo.written
		// The cache only moves forward: older versions will not show again.
		memo.replaced = append(memo.replaced[:0], memo.replaced[k:]...)
	} else {
		memo.written, memo.replaced = nil, memo.replaced[:0]
	}
	if statusEqual(&base.Status, &st) {
		return nil
	}
	cur := base
	for attempt := 0; ; attempt++ {
		// A shallow copy is enough: the API server copies what it is given,
		// and nothing here writes into the shared spec or metadata. The
		// copy lives in the controller and serves every write: the client
		// keeps nothing it is given (client.Interface).
		cp := &c.statusRS
		*cp = *cur
		cp.Status = st
		out, err := c.cfg.Client.Update(ctx, cp, "status")
		*cp = appsv1.ReplicaSet{} // keep nothing alive
		if err == nil {
			if len(memo.replaced) == 0 {
				memo.replaced = append(memo.replaced, rs.ResourceVersion)
			}
			memo.replaced = append(memo.replaced, cur.ResourceVersion)
			memo.written = out.(*appsv1.ReplicaSet)
			return nil
		}
		if attempt >= 1 {
			return err
		}
		fresh, gerr := c.cfg.Client.Get(ctx, api.ReplicaSets, rs.Namespace, rs.Name)
		if gerr != nil {
			return gerr
		}
		cur = fresh.(*appsv1.ReplicaSet)
	}
}

// statusEqual is apiequality.Semantic.DeepEqual for ReplicaSetStatus without
// reflection (it runs on every sync): the counters compared directly, the
// conditions (rarely present) semantically. TestStatusEqualCoversEveryField
// keeps it in step with the type.
func statusEqual(a, b *appsv1.ReplicaSetStatus) bool {
	if a.Replicas != b.Replicas || a.FullyLabeledReplicas != b.FullyLabeledReplicas ||
		a.ReadyReplicas != b.ReadyReplicas || a.AvailableReplicas != b.AvailableReplicas ||
		a.ObservedGeneration != b.ObservedGeneration {
		return false
	}
	if (a.TerminatingReplicas == nil) != (b.TerminatingReplicas == nil) ||
		(a.TerminatingReplicas != nil && *a.TerminatingReplicas != *b.TerminatingReplicas) {
		return false
	}
	if len(a.Conditions) == 0 && len(b.Conditions) == 0 {
		return true
	}
	return apiequality.Semantic.DeepEqual(a.Conditions, b.Conditions)
}
