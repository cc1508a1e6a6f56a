package deployment

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// deploymentComplete: every replica updated and available, and the status
// describes the current generation.
func deploymentComplete(d *appsv1.Deployment, st *appsv1.DeploymentStatus) bool {
	n := replicasOf(d)
	return st.UpdatedReplicas == n && st.Replicas == n && st.AvailableReplicas == n && st.ObservedGeneration >= d.Generation
}

// deploymentProgressing: the new status shows more updated, ready or
// available replicas, or fewer old ones, than the stored one.
func deploymentProgressing(d *appsv1.Deployment, st *appsv1.DeploymentStatus) bool {
	old := d.Status
	return st.UpdatedReplicas > old.UpdatedReplicas ||
		st.Replicas-st.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		st.ReadyReplicas > old.ReadyReplicas ||
		st.AvailableReplicas > old.AvailableReplicas
}

// timedOut: no progress reported for progressDeadlineSeconds.
func (s *syncer) timedOut(st *appsv1.DeploymentStatus) bool {
	if !hasProgressDeadline(s.d) {
		return false
	}
	c := GetCondition(*st, appsv1.DeploymentProgressing)
	if c == nil || c.Reason == ReasonNewRSAvailable {
		return false
	}
	if c.Reason == ReasonTimedOut {
		return true
	}
	deadline := c.LastUpdateTime.Add(time.Duration(*s.d.Spec.ProgressDeadlineSeconds) * time.Second)
	return deadline.Before(s.now())
}

// syncRolloutStatus writes status with the Progressing condition brought
// up to date, or, if nothing changed, schedules the progress-deadline check.
func (s *syncer) syncRolloutStatus(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) error {
	d := s.d
	st := s.calculateStatus(all, newRS)
	if !hasProgressDeadline(d) {
		removeCondition(&st, appsv1.DeploymentProgressing)
	}
	cur := GetCondition(d.Status, appsv1.DeploymentProgressing)
	complete := st.Replicas == st.UpdatedReplicas && cur != nil && cur.Reason == ReasonNewRSAvailable
	if hasProgressDeadline(d) && !complete {
		name := func(format, fallback string) string {
			if newRS != nil {
				return fmt.Sprintf(format, newRS.Name)
			}
			return fmt.Sprintf(fallback, d.Name)
		}
		switch {
		case deploymentComplete(d, &st):
			setCondition(&st, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSAvailable,
				name("ReplicaSet %q has successfully progressed.", "Deployment %q has successfully progressed."), s.now()))
		case deploymentProgressing(d, &st):
			// Progress refreshes lastUpdateTime even when the reason stays
			// the same; lastTransitionTime only moves if the status does.
			c := newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonRSUpdated,
				name("ReplicaSet %q is progressing.", "Deployment %q is progressing."), s.now())
			if cur != nil {
				if cur.Status == corev1.ConditionTrue {
					c.LastTransitionTime = cur.LastTransitionTime
				}
				removeCondition(&st, appsv1.DeploymentProgressing)
			}
			setCondition(&st, c)
		case s.timedOut(&st):
			setCondition(&st, newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonTimedOut,
				name("ReplicaSet %q has timed out progressing.", "Deployment %q has timed out progressing."), s.now()))
		}
	}
	if f := replicaFailure(all, newRS); f != nil {
		setCondition(&st, *f)
	} else {
		removeCondition(&st, appsv1.DeploymentReplicaFailure)
	}
	if apiequality.Semantic.DeepEqual(d.Status, st) {
		s.requeueStuck(st)
		return nil
	}
	d.Status = st
	return s.updateStatus()
}

// requeueStuck schedules a sync for when the progress deadline would pass,
// so a stuck rollout is reported without any further event.
func (s *syncer) requeueStuck(st appsv1.DeploymentStatus) {
	d := s.d
	cur := GetCondition(d.Status, appsv1.DeploymentProgressing)
	if !hasProgressDeadline(d) || cur == nil {
		return
	}
	if deploymentComplete(d, &st) || cur.Reason == ReasonTimedOut {
		return
	}
	after := cur.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Sub(s.now())
	if after < time.Second {
		s.requeue = true // rate limited, as Kubernetes
		return
	}
	// The extra second makes sure the deadline has strictly passed.
	s.requeueAfter = after + time.Second
}

// replicaFailure lifts a ReplicaFailure condition of the new ReplicaSet, or
// else of any ReplicaSet, into the Deployment.
func replicaFailure(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) *appsv1.DeploymentCondition {
	find := func(rs *appsv1.ReplicaSet) *appsv1.DeploymentCondition {
		if rs == nil {
			return nil
		}
		for _, c := range rs.Status.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure {
				return &appsv1.DeploymentCondition{Type: appsv1.DeploymentReplicaFailure, Status: c.Status, Reason: c.Reason,
					Message: c.Message, LastUpdateTime: c.LastTransitionTime, LastTransitionTime: c.LastTransitionTime}
			}
		}
		return nil
	}
	if c := find(newRS); c != nil {
		return c
	}
	for _, rs := range all {
		if c := find(rs); c != nil {
			return c
		}
	}
	return nil
}
