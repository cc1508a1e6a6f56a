package replicaset

import (
	"math/bits"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// PodDeletionCostAnnotation lets users say which pods to delete first on
// scale-down (lower cost first), as in Kubernetes.
const PodDeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

var phaseOrdinal = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

// rankedPods orders pods from the best to the worst deletion victim, with
// kube-controller-manager's rules (ActivePodsWithRanks, LogarithmicScaleDown on):
//  1. unscheduled before scheduled;
//  2. Pending before Unknown before Running;
//  3. not ready before ready;
//  4. lower pod-deletion-cost first;
//  5. more related pods on the same node first (spread what remains);
//  6. both ready: ready more recently first, compared in powers of two of
//     the time since, ties broken by UID;
//  7. more container restarts first;
//  8. created more recently first, in powers of two of age, ties by UID.
type rankedPods struct {
	pods []*corev1.Pod
	rank []int
	now  time.Time
}

func (s rankedPods) Len() int { return len(s.pods) }
func (s rankedPods) Swap(i, j int) {
	s.pods[i], s.pods[j] = s.pods[j], s.pods[i]
	s.rank[i], s.rank[j] = s.rank[j], s.rank[i]
}

func (s rankedPods) Less(i, j int) bool {
	a, b := s.pods[i], s.pods[j]
	if a.Spec.NodeName != b.Spec.NodeName && (a.Spec.NodeName == "" || b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if pa, pb := phaseOrdinal[a.Status.Phase], phaseOrdinal[b.Status.Phase]; pa != pb {
		return pa < pb
	}
	ra, rb := IsPodReady(a), IsPodReady(b)
	if ra != rb {
		return !ra
	}
	if ca, cb := deletionCost(a), deletionCost(b); ca != cb {
		return ca < cb
	}
	if s.rank[i] != s.rank[j] {
		return s.rank[i] > s.rank[j]
	}
	if ra && rb {
		ta, tb := readyCondition(a).LastTransitionTime.Time, readyCondition(b).LastTransitionTime.Time
		if !ta.Equal(tb) {
			if ta.IsZero() || tb.IsZero() {
				return afterOrZero(ta, tb)
			}
			if d := logRank(ta, s.now) - logRank(tb, s.now); d != 0 {
				return d < 0
			}
			return a.UID < b.UID
		}
	}
	if xa, xb := maxRestarts(a), maxRestarts(b); xa != xb {
		return xa > xb
	}
	ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	if !ta.Equal(tb) {
		if ta.IsZero() || tb.IsZero() {
			return afterOrZero(ta, tb)
		}
		if d := logRank(ta, s.now) - logRank(tb, s.now); d != 0 {
			return d < 0
		}
		return a.UID < b.UID
	}
	return false
}

// afterOrZero: a zero time sorts first, then the later time.
func afterOrZero(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero()
	}
	return a.After(b)
}

// logRank is floor(log2(now - t)) in nanoseconds, -1 for t not in the past:
// pods of roughly the same age compare equal, so scale-down does not always
// pick the very newest pods (Kubernetes' LogarithmicScaleDown).
func logRank(t, now time.Time) int {
	d := now.Sub(t)
	if d <= 0 {
		return -1
	}
	return bits.Len64(uint64(d)) - 1
}

func deletionCost(p *corev1.Pod) int64 {
	v, ok := p.Annotations[PodDeletionCostAnnotation]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0 // invalid costs are rejected by validation in Kubernetes; treat as default
	}
	return n
}

func maxRestarts(p *corev1.Pod) int32 {
	var m int32
	for _, c := range p.Status.ContainerStatuses {
		m = max(m, c.RestartCount)
	}
	// Init containers count only when they are sidecars (restartPolicy
	// Always): ordinary ones have finished before the pod runs.
	for _, ic := range p.Spec.InitContainers {
		if ic.RestartPolicy == nil || *ic.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			continue
		}
		for _, c := range p.Status.InitContainerStatuses {
			if c.Name == ic.Name {
				m = max(m, c.RestartCount)
			}
		}
	}
	return m
}

// victims picks n pods to delete from pods, ranking by how many of related
// (the pods of every ReplicaSet with the same owner) share each pod's node.
func victims(pods, related []*corev1.Pod, n int, now time.Time) []*corev1.Pod {
	if n >= len(pods) {
		return pods
	}
	onNode := map[string]int{}
	for _, p := range related {
		if IsPodActive(p) {
			onNode[p.Spec.NodeName]++
		}
	}
	s := rankedPods{pods: append([]*corev1.Pod(nil), pods...), rank: make([]int, len(pods)), now: now}
	for i, p := range s.pods {
		s.rank[i] = onNode[p.Spec.NodeName]
	}
	sort.Sort(s)
	return s.pods[:n]
}
