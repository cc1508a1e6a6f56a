package plugins

import (
	"math"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// PodTopologySpread enforces DoNotSchedule topology spread constraints
// (maxSkew over a topology key, counting pods that match the constraint's
// selector in the pod's namespace, honouring minDomains and the node
// inclusion policies) and scores ScheduleAnyway constraints. Pods without
// constraints of their own get Kubernetes' system default constraints for
// scoring (see defaultConstraints).
type PodTopologySpread struct{ h framework.Handle }

// NewPodTopologySpread builds the plugin; it reads all nodes through h.
func NewPodTopologySpread(h framework.Handle) PodTopologySpread { return PodTopologySpread{h: h} }

var (
	_ framework.PreFilterPlugin     = PodTopologySpread{}
	_ framework.PreFilterExtensions = PodTopologySpread{}
	_ framework.FilterPlugin        = PodTopologySpread{}
	_ framework.PreScorePlugin      = PodTopologySpread{}
	_ framework.ScorePlugin         = PodTopologySpread{}
	_ framework.ScoreNormalizer     = PodTopologySpread{}
	_ framework.EnqueueExtensions   = PodTopologySpread{}

	statusSpreadLabel = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonSpreadNodeLabel)
	statusSpread      = framework.NewStatus(framework.Unschedulable, ErrReasonSpreadConstraints)
)

// spreadConstraint is a parsed topology spread constraint.
type spreadConstraint struct {
	maxSkew       int32
	key           string
	selector      labels.Selector
	minDomains    int32
	honorAffinity bool
	honorTaints   bool
}

// Name implements framework.Plugin.
func (PodTopologySpread) Name() string { return PodTopologySpreadName }

// parseConstraints keeps the constraints with the given action, merging
// matchLabelKeys into the selector as Kubernetes does.
func parseConstraints(pod *corev1.Pod, action corev1.UnsatisfiableConstraintAction) ([]spreadConstraint, error) {
	var out []spreadConstraint
	for i := range pod.Spec.TopologySpreadConstraints {
		c := &pod.Spec.TopologySpreadConstraints[i]
		if c.WhenUnsatisfiable != action {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil {
			return nil, err
		}
		if c.LabelSelector != nil {
			for _, k := range c.MatchLabelKeys {
				if v, ok := pod.Labels[k]; ok {
					r, err := labels.NewRequirement(k, selection.In, []string{v})
					if err != nil {
						return nil, err
					}
					sel = sel.Add(*r)
				}
			}
		}
		sc := spreadConstraint{maxSkew: c.MaxSkew, key: c.TopologyKey, selector: sel, minDomains: 1,
			honorAffinity: true}
		if c.MinDomains != nil {
			sc.minDomains = *c.MinDomains
		}
		if c.NodeAffinityPolicy != nil && *c.NodeAffinityPolicy == corev1.NodeInclusionPolicyIgnore {
			sc.honorAffinity = false
		}
		if c.NodeTaintsPolicy != nil && *c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor {
			sc.honorTaints = true
		}
		out = append(out, sc)
	}
	return out, nil
}

// hasAllKeys reports whether the node carries every constraint's key.
func hasAllKeys(cs []spreadConstraint, nodeLabels map[string]string) bool {
	for i := range cs {
		if _, ok := nodeLabels[cs[i].key]; !ok {
			return false
		}
	}
	return true
}

// includes applies the node inclusion policies: with nodeAffinityPolicy
// Honor only nodes the pod could select count as domains; with
// nodeTaintsPolicy Honor only nodes whose taints it tolerates.
func (c *spreadConstraint) includes(pod *corev1.Pod, req *requiredNodeAffinity, ni *framework.NodeInfo) bool {
	if c.honorAffinity && !req.matches(ni) {
		return false
	}
	if c.honorTaints {
		for i := range ni.Taints {
			t := &ni.Taints[i]
			if (t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute) && !toleratesAny(pod.Spec.Tolerations, t) {
				return false
			}
		}
	}
	return true
}

// countMatching counts pods on ni in namespace that match sel and are not
// terminating.
func countMatching(ni *framework.NodeInfo, sel labels.Selector, namespace string) int {
	n := 0
	for _, p := range ni.Pods {
		if p.Pod.Namespace != namespace || p.Pod.DeletionTimestamp != nil {
			continue
		}
		if sel.Matches(labels.Set(p.Pod.Labels)) {
			n++
		}
	}
	return n
}

// spreadFilterState is the per-domain count of matching pods for each hard
// constraint, with the per-constraint minimum kept current.
type spreadFilterState struct {
	constraints []spreadConstraint
	required    requiredNodeAffinity
	counts      []map[string]int
	minMatch    []int
}

// Clone deep-copies the counts, which preemption dry runs change.
func (s *spreadFilterState) Clone() framework.StateData {
	c := *s
	c.counts = make([]map[string]int, len(s.counts))
	for i, m := range s.counts {
		c.counts[i] = make(map[string]int, len(m))
		for k, v := range m {
			c.counts[i][k] = v
		}
	}
	c.minMatch = append([]int(nil), s.minMatch...)
	return &c
}

func (s *spreadFilterState) recomputeMin(i int) {
	m := math.MaxInt32
	for _, v := range s.counts[i] {
		m = min(m, v)
	}
	s.minMatch[i] = m
}

// globalMin is the minimum used for skew: 0 while fewer domains exist than
// minDomains.
func (s *spreadFilterState) globalMin(i int) int {
	if int32(len(s.counts[i])) < s.constraints[i].minDomains {
		return 0
	}
	return s.minMatch[i]
}

// PreFilter implements framework.PreFilterPlugin.
func (p PodTopologySpread) PreFilter(state *framework.CycleState, pod *framework.PodInfo) (*framework.PreFilterResult, *framework.Status) {
	if len(pod.Pod.Spec.TopologySpreadConstraints) == 0 {
		return nil, statusSkip
	}
	cs, err := parseConstraints(pod.Pod, corev1.DoNotSchedule)
	if err != nil {
		return nil, framework.AsStatus(err)
	}
	if len(cs) == 0 {
		return nil, statusSkip
	}
	s := &spreadFilterState{constraints: cs, required: newRequiredNodeAffinity(pod.Pod),
		counts: make([]map[string]int, len(cs)), minMatch: make([]int, len(cs))}
	for i := range cs {
		s.counts[i] = map[string]int{}
	}
	ns := pod.Pod.Namespace
	for _, ni := range p.h.Snapshot().List() {
		if !hasAllKeys(cs, ni.Labels) {
			continue
		}
		for i := range cs {
			c := &cs[i]
			if !c.includes(pod.Pod, &s.required, ni) {
				continue
			}
			s.counts[i][ni.Labels[c.key]] += countMatching(ni, c.selector, ns)
		}
	}
	for i := range cs {
		s.recomputeMin(i)
	}
	state.Write(spreadFilterKey, s)
	return nil, nil
}

// AddPod implements framework.PreFilterExtensions.
func (PodTopologySpread) AddPod(state *framework.CycleState, pod, toAdd *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	updateSpreadCounts(state, pod, toAdd, ni, 1)
	return nil
}

// RemovePod implements framework.PreFilterExtensions.
func (PodTopologySpread) RemovePod(state *framework.CycleState, pod, toRemove *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	updateSpreadCounts(state, pod, toRemove, ni, -1)
	return nil
}

func updateSpreadCounts(state *framework.CycleState, pod, other *framework.PodInfo, ni *framework.NodeInfo, delta int) {
	s, ok := state.Read(spreadFilterKey).(*spreadFilterState)
	if !ok || ni.Node() == nil || !hasAllKeys(s.constraints, ni.Labels) {
		return
	}
	if other.Pod.Namespace != pod.Pod.Namespace {
		return
	}
	set := labels.Set(other.Pod.Labels)
	for i := range s.constraints {
		c := &s.constraints[i]
		if !c.selector.Matches(set) || !c.includes(pod.Pod, &s.required, ni) {
			continue
		}
		v := ni.Labels[c.key]
		s.counts[i][v] += delta
		s.recomputeMin(i)
	}
}

// Filter implements framework.FilterPlugin: placing the pod on the node
// must keep, for every constraint, matching(domain) + self - globalMin <=
// maxSkew.
func (PodTopologySpread) Filter(state *framework.CycleState, pod *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	s, ok := state.Read(spreadFilterKey).(*spreadFilterState)
	if !ok {
		return nil
	}
	set := labels.Set(pod.Pod.Labels)
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := ni.Labels[c.key]
		if !ok {
			return statusSpreadLabel
		}
		self := 0
		if c.selector.Matches(set) {
			self = 1
		}
		if s.counts[i][v]+self-s.globalMin(i) > int(c.maxSkew) {
			return statusSpread
		}
	}
	return nil
}

// EventsToRegister implements framework.EnqueueExtensions.
func (PodTopologySpread) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.AssignedPodResource, Action: framework.Add | framework.Delete | framework.UpdatePodLabel},
		{Resource: framework.NodeResource, Action: framework.Add | framework.Delete | framework.UpdateNodeLabel | framework.UpdateNodeTaint},
	}
}
