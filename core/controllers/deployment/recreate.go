package deployment

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// rolloutRecreate: old ReplicaSets to zero, wait until none of their pods
// runs, then create and scale up the new ReplicaSet.
func (s *syncer) rolloutRecreate(rsList []*appsv1.ReplicaSet) error {
	// Do not create the new ReplicaSet yet: it would start pods before the
	// old ones are gone.
	newRS, oldRSs, err := s.getAllRSsAndSyncRevision(rsList, false)
	if err != nil {
		return err
	}
	all := withNew(oldRSs, newRS)

	scaledDown := false
	for _, rs := range activeRSs(oldRSs) {
		scaled, _, err := s.scaleRSAndRecordEvent(rs, 0)
		if err != nil {
			return err
		}
		scaledDown = scaledDown || scaled
	}
	if scaledDown {
		return s.syncRolloutStatus(all, newRS)
	}
	if s.oldPodsRunning(newRS, oldRSs, rsList) {
		return s.syncRolloutStatus(all, newRS)
	}
	if newRS == nil {
		newRS, oldRSs, err = s.getAllRSsAndSyncRevision(rsList, true)
		if err != nil {
			return err
		}
		all = withNew(oldRSs, newRS)
	}
	if _, _, err := s.scaleRSAndRecordEvent(newRS, replicasOf(s.d)); err != nil {
		return err
	}
	if deploymentComplete(s.d, &s.d.Status) {
		if err := s.cleanup(oldRSs); err != nil {
			return err
		}
	}
	return s.syncRolloutStatus(all, newRS)
}

// oldPodsRunning reports whether any old ReplicaSet still reports pods, or
// any pod of one (terminating ones included) is not terminal.
func (s *syncer) oldPodsRunning(newRS *appsv1.ReplicaSet, oldRSs, rsList []*appsv1.ReplicaSet) bool {
	if statusReplicas(oldRSs) > 0 {
		return true
	}
	sel, err := metav1.LabelSelectorAsSelector(s.d.Spec.Selector)
	if err != nil {
		return true
	}
	for _, rs := range rsList {
		if newRS != nil && rs.UID == newRS.UID {
			continue
		}
		for _, o := range s.c.cfg.Pods.ByIndex(IndexPodsByController, string(rs.UID)) {
			p := o.(*corev1.Pod)
			if !sel.Matches(labels.Set(p.Labels)) {
				continue
			}
			if p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded {
				return true
			}
		}
	}
	return false
}
