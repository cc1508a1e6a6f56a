package plugins

import (
	"math"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

var _ framework.BatchScorer = PodTopologySpread{}

// spreadScoreState holds the pod's own soft constraints' counts over the
// feasible nodes' domains.
type spreadScoreState struct {
	constraints []spreadConstraint
	counts      []map[string]int
	weights     []float64
}

func (s *spreadScoreState) Clone() framework.StateData { return s }

// ignored nodes lack one of the constraints' keys; they score 0.
func (s *spreadScoreState) ignored(ni *framework.NodeInfo) bool {
	return !hasAllKeys(s.constraints, ni.Labels)
}

// PreScore implements framework.PreScorePlugin. Counting follows
// Kubernetes: domains are those of the feasible nodes; for the hostname key
// each node counts its own pods; nodes lacking a key are ignored (score 0).
// Pods without constraints of their own get the system defaults.
func (p PodTopologySpread) PreScore(state *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo) *framework.Status {
	if len(pod.Pod.Spec.TopologySpreadConstraints) == 0 {
		return p.preScoreDefaults(state, pod, nodes)
	}
	cs, err := parseConstraints(pod.Pod, corev1.ScheduleAnyway)
	if err != nil {
		return framework.AsStatus(err)
	}
	if len(cs) == 0 {
		return statusSkip
	}
	s := &spreadScoreState{constraints: cs, counts: make([]map[string]int, len(cs)), weights: make([]float64, len(cs))}
	for i := range cs {
		s.counts[i] = map[string]int{}
	}
	// Domains present among the feasible nodes.
	scored := 0
	for _, ni := range nodes {
		if s.ignored(ni) {
			continue
		}
		scored++
		for i := range cs {
			if cs[i].key != corev1.LabelHostname {
				s.counts[i][ni.Labels[cs[i].key]] = 0
			}
		}
	}
	for i := range cs {
		size := len(s.counts[i])
		if cs[i].key == corev1.LabelHostname {
			size = scored
		}
		s.weights[i] = math.Log(float64(size + 2))
	}
	req := newRequiredNodeAffinity(pod.Pod)
	ns := pod.Pod.Namespace
	for _, ni := range p.h.Snapshot().List() {
		if s.ignored(ni) {
			continue
		}
		for i := range cs {
			c := &cs[i]
			if c.key == corev1.LabelHostname {
				continue
			}
			v := ni.Labels[c.key]
			if _, ok := s.counts[i][v]; !ok || !c.includes(pod.Pod, &req, ni) {
				continue
			}
			s.counts[i][v] += countMatching(ni, c.selector, ns)
		}
	}
	state.Write(spreadScoreKey, s)
	return nil
}

func (s *spreadScoreState) score(pod *framework.PodInfo, ni *framework.NodeInfo) int64 {
	if s.ignored(ni) {
		return 0
	}
	var score float64
	for i := range s.constraints {
		c := &s.constraints[i]
		var cnt int
		if c.key == corev1.LabelHostname {
			cnt = countMatching(ni, c.selector, pod.Pod.Namespace)
		} else {
			cnt = s.counts[i][ni.Labels[c.key]]
		}
		score += float64(cnt)*s.weights[i] + float64(c.maxSkew-1)
	}
	return int64(math.Round(score))
}

// Score implements framework.ScorePlugin: raw scores grow with the matching
// pods already in the node's domains (normalised in reverse).
func (PodTopologySpread) Score(state *framework.CycleState, pod *framework.PodInfo, ni *framework.NodeInfo) (int64, *framework.Status) {
	switch s := state.Read(spreadScoreKey).(type) {
	case *spreadScoreState:
		return s.score(pod, ni), nil
	case *defaultSpreadState:
		return s.score(ni), nil
	}
	return 0, nil
}

// ScoreNodes implements framework.BatchScorer.
func (PodTopologySpread) ScoreNodes(state *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo, scores []int64) *framework.Status {
	switch s := state.Read(spreadScoreKey).(type) {
	case *spreadScoreState:
		for i, ni := range nodes {
			scores[i] = s.score(pod, ni)
		}
	case *defaultSpreadState:
		for i, ni := range nodes {
			scores[i] = s.score(ni)
		}
	default:
		clear(scores)
	}
	return nil
}

// NormalizeScore implements framework.ScoreNormalizer: fewer matching pods
// score higher; ignored nodes score 0.
func (PodTopologySpread) NormalizeScore(state *framework.CycleState, _ *framework.PodInfo, nodes []*framework.NodeInfo, scores []int64) *framework.Status {
	var ignored func(*framework.NodeInfo) bool
	switch s := state.Read(spreadScoreKey).(type) {
	case *spreadScoreState:
		ignored = s.ignored
	case *defaultSpreadState:
		// No node is ignored: the same formula without the test.
		normalizeReversed(scores)
		return nil
	default:
		return nil
	}
	minScore, maxScore := int64(math.MaxInt64), int64(0)
	for i, ni := range nodes {
		if ignored(ni) {
			continue
		}
		minScore = min(minScore, scores[i])
		maxScore = max(maxScore, scores[i])
	}
	for i, ni := range nodes {
		switch {
		case ignored(ni):
			scores[i] = 0
		case maxScore == 0:
			scores[i] = framework.MaxNodeScore
		default:
			scores[i] = framework.MaxNodeScore * (maxScore + minScore - scores[i]) / maxScore
		}
	}
	return nil
}

// normalizeReversed maps raw scores so that the fewest matching pods score
// 100: 100*(max+min-s)/max, all 100 when the maximum is 0.
func normalizeReversed(scores []int64) {
	minScore, maxScore := int64(math.MaxInt64), int64(0)
	for _, s := range scores {
		minScore, maxScore = min(minScore, s), max(maxScore, s)
	}
	for i, s := range scores {
		if maxScore == 0 {
			scores[i] = framework.MaxNodeScore
		} else {
			scores[i] = framework.MaxNodeScore * (maxScore + minScore - s) / maxScore
		}
	}
}
