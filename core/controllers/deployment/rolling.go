package deployment

import (
	appsv1 "k8s.io/api/apps/v1"
)

// rolloutRolling takes one step of a rolling update: scale the new
// ReplicaSet up if the surge allows, else scale old ones down if
// availability allows, then report status.
func (s *syncer) rolloutRolling(rsList []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := s.getAllRSsAndSyncRevision(rsList, true)
	if err != nil {
		return err
	}
	all := withNew(oldRSs, newRS)

	scaledUp, err := s.reconcileNewRS(all, newRS)
	if err != nil {
		return err
	}
	if scaledUp {
		return s.syncRolloutStatus(all, newRS)
	}
	scaledDown, err := s.reconcileOldRSs(all, activeRSs(oldRSs), newRS)
	if err != nil {
		return err
	}
	if scaledDown {
		return s.syncRolloutStatus(all, newRS)
	}
	if deploymentComplete(s.d, &s.d.Status) {
		if err := s.cleanup(oldRSs); err != nil {
			return err
		}
	}
	return s.syncRolloutStatus(all, newRS)
}

// reconcileNewRS grows the new ReplicaSet within maxSurge (or shrinks it to
// spec.replicas).
func (s *syncer) reconcileNewRS(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (bool, error) {
	want := replicasOf(s.d)
	switch have := rsReplicas(newRS); {
	case have == want:
		return false, nil
	case have > want:
		scaled, _, err := s.scaleRSAndRecordEvent(newRS, want)
		return scaled, err
	}
	n, err := newRSNewReplicas(s.d, all, newRS)
	if err != nil {
		return false, err
	}
	scaled, _, err := s.scaleRSAndRecordEvent(newRS, n)
	return scaled, err
}

// reconcileOldRSs shrinks old ReplicaSets as far as maxUnavailable allows:
// first their unavailable replicas (removing those costs no availability),
// then available ones while enough stay available.
func (s *syncer) reconcileOldRSs(all, oldRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (bool, error) {
	if specReplicas(oldRSs) == 0 {
		return false, nil
	}
	minAvailable := replicasOf(s.d) - MaxUnavailable(s.d)
	newUnavailable := rsReplicas(newRS)
	if newRS != nil {
		newUnavailable -= newRS.Status.AvailableReplicas
	}
	// The most that may go now: everything above minAvailable, not counting
	// new replicas that are not available yet.
	maxScaledDown := specReplicas(all) - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return false, nil
	}
	oldRSs, cleaned, err := s.cleanupUnhealthyReplicas(oldRSs, maxScaledDown)
	if err != nil {
		return false, nil // as Kubernetes: retried on the next event
	}
	scaled, err := s.scaleDownOldRSsForRollingUpdate(withNew(oldRSs, newRS), oldRSs, maxScaledDown-cleaned)
	if err != nil {
		return false, nil
	}
	return cleaned+scaled > 0, nil
}

func (s *syncer) cleanupUnhealthyReplicas(oldRSs []*appsv1.ReplicaSet, maxCleanup int32) ([]*appsv1.ReplicaSet, int32, error) {
	oldRSs = append([]*appsv1.ReplicaSet(nil), oldRSs...)
	sortByCreation(oldRSs)
	var total int32
	for i, rs := range oldRSs {
		if total >= maxCleanup {
			break
		}
		have := rsReplicas(rs)
		if have == 0 || have == rs.Status.AvailableReplicas {
			continue
		}
		down := min(maxCleanup-total, have-rs.Status.AvailableReplicas)
		if down <= 0 {
			continue // status claims more available than wanted: nothing unhealthy
		}
		_, updated, err := s.scaleRSAndRecordEvent(rs, have-down)
		if err != nil {
			return nil, total, err
		}
		total += down
		oldRSs[i] = updated
	}
	return oldRSs, total, nil
}

// scaleDownOldRSsForRollingUpdate scales old ReplicaSets down, oldest
// first, by the available replicas above minAvailable. Kubernetes reads that
// figure from the ReplicaSets' statuses alone; drydock also caps it by budget,
// the same margin computed from their specs. The two agree whenever the
// statuses are current; the cap matters only while an old ReplicaSet's status
// still counts pods it was just told to delete, when the status figure would
// scale down again below maxUnavailable.
func (s *syncer) scaleDownOldRSsForRollingUpdate(all, oldRSs []*appsv1.ReplicaSet, budget int32) (int32, error) {
	minAvailable := replicasOf(s.d) - MaxUnavailable(s.d)
	available := availableReplicas(all)
	want := min(available-minAvailable, budget)
	if want <= 0 {
		return 0, nil
	}
	oldRSs = append([]*appsv1.ReplicaSet(nil), oldRSs...)
	sortByCreation(oldRSs)
	var total int32
	for _, rs := range oldRSs {
		if total >= want {
			break
		}
		have := rsReplicas(rs)
		if have == 0 {
			continue
		}
		down := min(have, want-total)
		if _, _, err := s.scaleRSAndRecordEvent(rs, have-down); err != nil {
			return total, err
		}
		total += down
	}
	return total, nil
}
