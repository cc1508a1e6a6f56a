package plugins

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// NodeAffinity filters by spec.nodeSelector and required node affinity, and
// scores by the summed weights of matching preferred terms.
type NodeAffinity struct{}

var (
	_ framework.PreFilterPlugin   = NodeAffinity{}
	_ framework.FilterPlugin      = NodeAffinity{}
	_ framework.PreScorePlugin    = NodeAffinity{}
	_ framework.ScorePlugin       = NodeAffinity{}
	_ framework.ScoreNormalizer   = NodeAffinity{}
	_ framework.EnqueueExtensions = NodeAffinity{}

	statusNodeAffinity = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeAffinity)
)

type nodeAffinityState struct{ required requiredNodeAffinity }

// Clone shares the state: it never changes after PreFilter.
func (s *nodeAffinityState) Clone() framework.StateData { return s }

type preferredState struct {
	terms []corev1.PreferredSchedulingTerm
}

func (s *preferredState) Clone() framework.StateData { return s }

// Name implements framework.Plugin.
func (NodeAffinity) Name() string { return NodeAffinityName }

// PreFilter implements framework.PreFilterPlugin. It skips pods without
// node constraints, and when every required term pins metadata.name (as
// DaemonSet pods do) it narrows filtering to those nodes.
func (NodeAffinity) PreFilter(state *framework.CycleState, pod *framework.PodInfo) (*framework.PreFilterResult, *framework.Status) {
	req := newRequiredNodeAffinity(pod.Pod)
	if req.empty() {
		return nil, statusSkip
	}
	state.Write(nodeAffinityFilterKey, &nodeAffinityState{required: req})
	if !req.hasTerms {
		return nil, nil
	}
	var names []string
	for i := range req.terms {
		t := &req.terms[i]
		termNames, ok := pinnedNames(t)
		if !ok {
			return nil, nil
		}
		names = append(names, termNames...)
	}
	slices.Sort(names)
	return &framework.PreFilterResult{NodeNames: slices.Compact(names)}, nil
}

// pinnedNames returns the node names a term's metadata.name In requirements
// allow (their intersection), or false if the term does not pin names.
func pinnedNames(t *corev1.NodeSelectorTerm) ([]string, bool) {
	var names []string
	pinned := false
	for i := range t.MatchFields {
		r := &t.MatchFields[i]
		if r.Key != "metadata.name" || r.Operator != corev1.NodeSelectorOpIn {
			continue
		}
		if !pinned {
			names, pinned = append([]string(nil), r.Values...), true
			continue
		}
		names = slices.DeleteFunc(names, func(n string) bool { return !contains(r.Values, n) })
	}
	return names, pinned
}

// Filter implements framework.FilterPlugin.
func (NodeAffinity) Filter(state *framework.CycleState, _ *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	s, ok := state.Read(nodeAffinityFilterKey).(*nodeAffinityState)
	if !ok || s.required.matches(ni) {
		return nil
	}
	return statusNodeAffinity
}

// PreScore implements framework.PreScorePlugin.
func (NodeAffinity) PreScore(state *framework.CycleState, pod *framework.PodInfo, _ []*framework.NodeInfo) *framework.Status {
	a := pod.Pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return statusSkip
	}
	state.Write(nodeAffinityScoreKey, &preferredState{terms: a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution})
	return nil
}

// Score implements framework.ScorePlugin.
func (NodeAffinity) Score(state *framework.CycleState, _ *framework.PodInfo, ni *framework.NodeInfo) (int64, *framework.Status) {
	s, ok := state.Read(nodeAffinityScoreKey).(*preferredState)
	if !ok {
		return 0, nil
	}
	var score int64
	for i := range s.terms {
		t := &s.terms[i]
		if t.Weight != 0 && nodeSelectorTermMatches(&t.Preference, ni.Labels, ni.Name) {
			score += int64(t.Weight)
		}
	}
	return score, nil
}

// NormalizeScore implements framework.ScoreNormalizer.
func (NodeAffinity) NormalizeScore(_ *framework.CycleState, _ *framework.PodInfo, _ []*framework.NodeInfo, scores []int64) *framework.Status {
	defaultNormalize(scores, false)
	return nil
}

// EventsToRegister implements framework.EnqueueExtensions.
func (NodeAffinity) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.NodeResource, Action: framework.Add | framework.UpdateNodeLabel}}
}
