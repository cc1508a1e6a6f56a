package plugins

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// InterPodAffinity enforces required pod affinity and anti-affinity, in
// both directions, and scores preferred terms, like kube-scheduler's
// plugin of the same name:
//
//   - the pod's required affinity terms need, on the node's topology
//     domain, pods matching all of them (unless no such pod exists anywhere
//     and the pod matches its own terms: the first of a group may start it);
//   - the pod's required anti-affinity terms forbid domains holding a
//     matching pod;
//   - existing pods' required anti-affinity terms that match the pod
//     forbid their domains (symmetry).
//
// PreFilter counts matching pods per topology domain once, so Filter is a
// few map lookups per node. With no affinity terms on the pod and none on
// any counted pod, PreFilter and PreScore return Skip after two counter
// reads: the plugin costs nothing for workloads without affinity.
//
// The count maps grow to one entry per node holding matching pods, so
// PreFilter reuses the previous cycle's maps instead of allocating and
// growing new ones: a state written by PreFilter is valid until the
// plugin's next PreFilter. The scheduler runs one cycle at a time, and
// whatever keeps a state longer (nominated-pod and preemption dry runs)
// clones it.
type InterPodAffinity struct {
	h     framework.Handle
	spare *affinityFilterState
}

// NewInterPodAffinity builds the plugin over the framework handle.
func NewInterPodAffinity(h framework.Handle) *InterPodAffinity { return &InterPodAffinity{h: h} }

var (
	_ framework.PreFilterPlugin     = (*InterPodAffinity)(nil)
	_ framework.PreFilterExtensions = (*InterPodAffinity)(nil)
	_ framework.FilterPlugin        = (*InterPodAffinity)(nil)
	_ framework.PreScorePlugin      = (*InterPodAffinity)(nil)
	_ framework.ScorePlugin         = (*InterPodAffinity)(nil)
	_ framework.ScoreNormalizer     = (*InterPodAffinity)(nil)
	_ framework.EnqueueExtensions   = (*InterPodAffinity)(nil)

	// Preemption cannot create the pods an affinity term needs, but it can
	// remove the pods an anti-affinity term forbids: hence the two codes,
	// as in Kubernetes.
	statusAffinity     = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch)
	statusAntiAffinity = framework.NewStatus(framework.Unschedulable, ErrReasonAntiAffinityRulesNotMatch)
	statusExistingAnti = framework.NewStatus(framework.Unschedulable, ErrReasonExistingAntiAffinityRulesNotMatch)
)

// hardPodAffinityWeight is kube-scheduler's default weight of an existing
// pod's required affinity term when scoring a pod that matches it.
const hardPodAffinityWeight = 1

// Name implements framework.Plugin.
func (*InterPodAffinity) Name() string { return InterPodAffinityName }

// topoPair is one topology domain: a label key and its value.
type topoPair struct{ key, value string }

// topoCounts counts matching pods (or terms) per topology domain; entries
// that fall to zero are deleted, so an empty map means "none anywhere".
type topoCounts map[topoPair]int64

func (m topoCounts) update(nodeLabels map[string]string, key string, delta int64) {
	v, ok := nodeLabels[key]
	if !ok {
		return
	}
	p := topoPair{key, v}
	if m[p] += delta; m[p] == 0 {
		delete(m, p)
	}
}

func (m topoCounts) clone() topoCounts {
	c := make(topoCounts, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// affinityFilterState is PreFilter's per-domain counts for one pod.
type affinityFilterState struct {
	pod *corev1.Pod
	aff *framework.AffinityInfo // the pod's; nil if it has none
	// selfMatch: the pod matches all of its own required affinity terms.
	selfMatch bool
	// existingAnti counts existing pods' required anti-affinity terms that
	// match the pod, per domain; existingKeys are the keys occurring in it,
	// so Filter looks up only those labels.
	existingAnti topoCounts
	existingKeys []string
	// affinity counts pods matching all the pod's required affinity terms
	// (once per term, in that term's domain); anti counts pods matching
	// each required anti-affinity term.
	affinity topoCounts
	anti     topoCounts
}

// Clone deep-copies the counts, which nominated-pod and preemption dry runs
// change through AddPod and RemovePod.
func (s *affinityFilterState) Clone() framework.StateData {
	c := *s
	c.existingAnti, c.affinity, c.anti = s.existingAnti.clone(), s.affinity.clone(), s.anti.clone()
	c.existingKeys = append([]string(nil), s.existingKeys...)
	return &c
}

func (s *affinityFilterState) requiredAffinity() []framework.AffinityTerm {
	if s.aff == nil {
		return nil
	}
	return s.aff.RequiredAffinity
}

func (s *affinityFilterState) requiredAnti() []framework.AffinityTerm {
	if s.aff == nil {
		return nil
	}
	return s.aff.RequiredAntiAffinity
}

// updateExisting counts other's required anti-affinity terms that match
// the pod, on ni.
func (s *affinityFilterState) updateExisting(other *framework.PodInfo, ni *framework.NodeInfo, delta int64) {
	if !other.HasRequiredAntiAffinity() {
		return
	}
	for i := range other.Affinity.RequiredAntiAffinity {
		t := &other.Affinity.RequiredAntiAffinity[i]
		if !t.Matches(s.pod) {
			continue
		}
		s.existingAnti.update(ni.Labels, t.TopologyKey, delta)
		if !contains(s.existingKeys, t.TopologyKey) {
			s.existingKeys = append(s.existingKeys, t.TopologyKey)
		}
	}
}

// updateIncoming counts other, on ni, against the pod's own required
// terms.
func (s *affinityFilterState) updateIncoming(other *framework.PodInfo, ni *framework.NodeInfo, delta int64) {
	if terms := s.requiredAffinity(); len(terms) > 0 && framework.MatchesAll(terms, other.Pod) {
		for i := range terms {
			s.affinity.update(ni.Labels, terms[i].TopologyKey, delta)
		}
	}
	terms := s.requiredAnti()
	for i := range terms {
		if terms[i].Matches(other.Pod) {
			s.anti.update(ni.Labels, terms[i].TopologyKey, delta)
		}
	}
}

// PreFilter implements framework.PreFilterPlugin.
func (p *InterPodAffinity) PreFilter(state *framework.CycleState, pod *framework.PodInfo) (*framework.PreFilterResult, *framework.Status) {
	aff := pod.Affinity
	snap := p.h.Snapshot()
	if aff != nil && aff.Err != nil {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("parsing pod: %v", aff.Err))
	}
	hasRequired := aff.HasRequired()
	if !hasRequired && snap.NumPodsWithRequiredAntiAffinity() == 0 {
		return nil, statusSkip
	}
	s := p.newFilterState(pod)
	if snap.NumPodsWithRequiredAntiAffinity() > 0 {
		for _, ni := range snap.NodesWithAffinityPods() {
			if ni.Node() == nil || ni.NumRequiredAntiAffinity == 0 {
				continue
			}
			for _, other := range ni.PodsWithAffinity {
				s.updateExisting(other, ni, 1)
			}
		}
	}
	if hasRequired {
		s.selfMatch = framework.MatchesAll(aff.RequiredAffinity, pod.Pod)
		for _, ni := range snap.List() {
			for _, other := range ni.Pods {
				s.updateIncoming(other, ni, 1)
			}
		}
	}
	if !hasRequired && len(s.existingAnti) == 0 {
		return nil, statusSkip
	}
	state.Write(interPodAffinityFilterKey, s)
	return nil, nil
}

// newFilterState returns an empty state for pod, reusing the maps of the
// previous cycle's state.
func (p *InterPodAffinity) newFilterState(pod *framework.PodInfo) *affinityFilterState {
	s := p.spare
	if s == nil {
		s = &affinityFilterState{existingAnti: topoCounts{}, affinity: topoCounts{}, anti: topoCounts{}}
		p.spare = s
	}
	clear(s.existingAnti)
	clear(s.affinity)
	clear(s.anti)
	*s = affinityFilterState{pod: pod.Pod, aff: pod.Affinity, existingKeys: s.existingKeys[:0],
		existingAnti: s.existingAnti, affinity: s.affinity, anti: s.anti}
	return s
}

// AddPod implements framework.PreFilterExtensions.
func (*InterPodAffinity) AddPod(state *framework.CycleState, _, toAdd *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	if s, ok := state.Read(interPodAffinityFilterKey).(*affinityFilterState); ok {
		s.updateExisting(toAdd, ni, 1)
		s.updateIncoming(toAdd, ni, 1)
	}
	return nil
}

// RemovePod implements framework.PreFilterExtensions.
func (*InterPodAffinity) RemovePod(state *framework.CycleState, _, toRemove *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	if s, ok := state.Read(interPodAffinityFilterKey).(*affinityFilterState); ok {
		s.updateExisting(toRemove, ni, -1)
		s.updateIncoming(toRemove, ni, -1)
	}
	return nil
}

// Filter implements framework.FilterPlugin; the checks run in Kubernetes'
// order, and the first failing one gives the reason.
func (*InterPodAffinity) Filter(state *framework.CycleState, _ *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	s, ok := state.Read(interPodAffinityFilterKey).(*affinityFilterState)
	if !ok {
		return nil
	}
	if !s.satisfiesAffinity(ni) {
		return statusAffinity
	}
	if !s.satisfiesAntiAffinity(ni) {
		return statusAntiAffinity
	}
	if !s.satisfiesExistingAntiAffinity(ni) {
		return statusExistingAnti
	}
	return nil
}

// satisfiesAffinity: the node has every term's topology key, and each
// term's domain holds a matching pod; or no matching pod exists anywhere
// and the pod matches its own terms.
func (s *affinityFilterState) satisfiesAffinity(ni *framework.NodeInfo) bool {
	terms := s.requiredAffinity()
	podsExist := true
	for i := range terms {
		v, ok := ni.Labels[terms[i].TopologyKey]
		if !ok {
			return false
		}
		if s.affinity[topoPair{terms[i].TopologyKey, v}] <= 0 {
			podsExist = false
		}
	}
	return podsExist || (len(s.affinity) == 0 && s.selfMatch)
}

// satisfiesAntiAffinity: no term's domain on this node holds a matching
// pod (a node without a term's key is not constrained by it).
func (s *affinityFilterState) satisfiesAntiAffinity(ni *framework.NodeInfo) bool {
	if len(s.anti) == 0 {
		return true
	}
	terms := s.requiredAnti()
	for i := range terms {
		if v, ok := ni.Labels[terms[i].TopologyKey]; ok && s.anti[topoPair{terms[i].TopologyKey, v}] > 0 {
			return false
		}
	}
	return true
}

// satisfiesExistingAntiAffinity: no existing pod's anti-affinity term that
// matches the pod covers any of the node's domains.
func (s *affinityFilterState) satisfiesExistingAntiAffinity(ni *framework.NodeInfo) bool {
	if len(s.existingAnti) == 0 {
		return true
	}
	for _, k := range s.existingKeys {
		if v, ok := ni.Labels[k]; ok && s.existingAnti[topoPair{k, v}] > 0 {
			return false
		}
	}
	return true
}

// affinityScoreState is the summed term weights per topology domain:
// keys[i]'s values are in values[i].
type affinityScoreState struct {
	keys   []string
	values []map[string]int64
}

func (s *affinityScoreState) Clone() framework.StateData { return s }

func (s *affinityScoreState) add(key, value string, w int64) {
	for i, k := range s.keys {
		if k == key {
			s.values[i][value] += w
			return
		}
	}
	s.keys = append(s.keys, key)
	s.values = append(s.values, map[string]int64{value: w})
}

// addTerm adds w to term's domain on node when pod matches the term.
func (s *affinityScoreState) addTerm(t *framework.AffinityTerm, w int64, pod *corev1.Pod, nodeLabels map[string]string) {
	if !t.Matches(pod) {
		return
	}
	if v, ok := nodeLabels[t.TopologyKey]; ok {
		s.add(t.TopologyKey, v, w)
	}
}

func (s *affinityScoreState) addWeighted(terms []framework.WeightedAffinityTerm, sign int64, pod *corev1.Pod, nodeLabels map[string]string) {
	for i := range terms {
		s.addTerm(&terms[i].AffinityTerm, sign*int64(terms[i].Weight), pod, nodeLabels)
	}
}

// PreScore implements framework.PreScorePlugin. Like Kubernetes it sums,
// per topology domain of each existing pod's node: the pod's preferred
// affinity (+weight) and anti-affinity (-weight) terms the existing pod
// matches, and the existing pod's required affinity (+1), preferred
// affinity (+weight) and preferred anti-affinity (-weight) terms the pod
// matches. Without preferred terms of its own, the pod only needs the
// nodes holding pods with affinity.
func (p *InterPodAffinity) PreScore(state *framework.CycleState, pod *framework.PodInfo, _ []*framework.NodeInfo) *framework.Status {
	snap := p.h.Snapshot()
	hasPreferred := pod.Affinity.HasPreferred()
	if !hasPreferred && snap.NumPodsWithAffinity() == 0 {
		return statusSkip
	}
	s := &affinityScoreState{}
	if hasPreferred {
		for _, ni := range snap.List() {
			for _, other := range ni.Pods {
				s.processExisting(pod, other, ni)
			}
		}
	} else {
		for _, ni := range snap.NodesWithAffinityPods() {
			if ni.Node() == nil {
				continue
			}
			for _, other := range ni.PodsWithAffinity {
				s.processExisting(pod, other, ni)
			}
		}
	}
	if len(s.keys) == 0 {
		return statusSkip
	}
	state.Write(interPodAffinityScoreKey, s)
	return nil
}

func (s *affinityScoreState) processExisting(pod, other *framework.PodInfo, ni *framework.NodeInfo) {
	if len(ni.Labels) == 0 {
		return
	}
	if a := pod.Affinity; a != nil {
		s.addWeighted(a.PreferredAffinity, 1, other.Pod, ni.Labels)
		s.addWeighted(a.PreferredAntiAffinity, -1, other.Pod, ni.Labels)
	}
	if a := other.Affinity; a != nil {
		for i := range a.RequiredAffinity {
			s.addTerm(&a.RequiredAffinity[i], hardPodAffinityWeight, pod.Pod, ni.Labels)
		}
		s.addWeighted(a.PreferredAffinity, 1, pod.Pod, ni.Labels)
		s.addWeighted(a.PreferredAntiAffinity, -1, pod.Pod, ni.Labels)
	}
}

// Score implements framework.ScorePlugin: the sum over the node's domains.
// Raw scores may be negative; NormalizeScore maps them to [0, 100].
func (*InterPodAffinity) Score(state *framework.CycleState, _ *framework.PodInfo, ni *framework.NodeInfo) (int64, *framework.Status) {
	s, ok := state.Read(interPodAffinityScoreKey).(*affinityScoreState)
	if !ok {
		return 0, nil
	}
	var score int64
	for i, k := range s.keys {
		if v, ok := ni.Labels[k]; ok {
			score += s.values[i][v]
		}
	}
	return score, nil
}

// NormalizeScore implements framework.ScoreNormalizer: min-max scaling to
// [0, 100], in floating point as Kubernetes does; all equal gives 0.
func (*InterPodAffinity) NormalizeScore(state *framework.CycleState, _ *framework.PodInfo, _ []*framework.NodeInfo, scores []int64) *framework.Status {
	if _, ok := state.Read(interPodAffinityScoreKey).(*affinityScoreState); !ok || len(scores) == 0 {
		return nil
	}
	lo, hi := scores[0], scores[0]
	for _, s := range scores {
		lo, hi = min(lo, s), max(hi, s)
	}
	diff := hi - lo
	for i, s := range scores {
		f := 0.0
		if diff > 0 {
			f = float64(framework.MaxNodeScore) * (float64(s-lo) / float64(diff))
		}
		scores[i] = int64(f)
	}
	return nil
}

// EventsToRegister implements framework.EnqueueExtensions: pods arriving,
// leaving or relabelled change the counts, and node labels the domains.
func (*InterPodAffinity) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.AssignedPodResource, Action: framework.Add | framework.Delete | framework.UpdatePodLabel},
		{Resource: framework.NodeResource, Action: framework.Add | framework.UpdateNodeLabel},
	}
}
