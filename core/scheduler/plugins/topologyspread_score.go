package plugins

import (
	"math"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// System default spreading, as kube-scheduler's PodTopologySpread applies
// it (defaultingType System): soft spreading over hostnames (maxSkew 3) and
// zones (maxSkew 5) for pods without constraints of their own.
const (
	defaultHostnameMaxSkew = 3
	defaultZoneMaxSkew     = 5
)

// defaultSpreadOwners are the controller kinds whose pods get the default
// constraints.
var defaultSpreadOwners = map[string]bool{"ReplicaSet": true, "ReplicationController": true, "StatefulSet": true}

// defaultConstraints are the system default constraints for pod, nil when
// it has constraints of its own or none apply. Kubernetes selects the
// pods to spread with the selectors of the Services, ReplicationControllers,
// ReplicaSets and StatefulSets that select the pod, and applies the
// defaults only when one exists. The scheduler watches only pods and nodes,
// so drydock approximates that selector by the pod's controller: pods with
// the same controller ownerReference (UID) as a ReplicaSet,
// ReplicationController or StatefulSet pod are spread together. For these
// controllers this is what the controller's own selector selects; pods
// selected only by a Service (bare pods, Job pods) get no default spreading.
func defaultConstraints(pod *framework.PodInfo) []spreadConstraint {
	if len(pod.Pod.Spec.TopologySpreadConstraints) > 0 || pod.ControllerUID == "" || !defaultSpreadOwners[pod.ControllerKind] {
		return nil
	}
	return []spreadConstraint{
		{maxSkew: defaultHostnameMaxSkew, key: corev1.LabelHostname, minDomains: 1, honorAffinity: true, owner: pod.ControllerUID},
		{maxSkew: defaultZoneMaxSkew, key: corev1.LabelTopologyZone, minDomains: 1, honorAffinity: true, owner: pod.ControllerUID},
	}
}

// spreadScoreState holds the soft constraints' counts over the feasible
// nodes' domains.
type spreadScoreState struct {
	constraints []spreadConstraint
	counts      []map[string]int
	weights     []float64
	// requireAll: nodes lacking a constraint's key are ignored (score 0).
	// Kubernetes drops this for system default constraints, so that nodes
	// without a zone label still spread by hostname.
	requireAll bool
}

func (s *spreadScoreState) Clone() framework.StateData { return s }

func (s *spreadScoreState) ignored(ni *framework.NodeInfo) bool {
	return s.requireAll && !hasAllKeys(s.constraints, ni.Labels)
}

// PreScore implements framework.PreScorePlugin. Counting follows
// Kubernetes: domains are those of the feasible nodes; for the hostname key
// each node counts its own pods; with the pod's own constraints, nodes
// lacking a key are ignored (score 0).
func (p PodTopologySpread) PreScore(state *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo) *framework.Status {
	var cs []spreadConstraint
	requireAll := true
	if len(pod.Pod.Spec.TopologySpreadConstraints) == 0 {
		if cs = defaultConstraints(pod); cs == nil {
			return statusSkip
		}
		requireAll = false
	} else {
		var err error
		if cs, err = parseConstraints(pod.Pod, corev1.ScheduleAnyway); err != nil {
			return framework.AsStatus(err)
		}
	}
	if len(cs) == 0 {
		return statusSkip
	}
	s := &spreadScoreState{constraints: cs, counts: make([]map[string]int, len(cs)), weights: make([]float64, len(cs)),
		requireAll: requireAll}
	for i := range cs {
		s.counts[i] = map[string]int{}
	}
	// Domains present among the feasible nodes (a node without the key
	// adds the "" domain when not ignored, as in Kubernetes).
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
	if requireAll {
		p.countBySelector(s, pod, &req)
	} else {
		p.countByOwner(s, pod, &req)
	}
	state.Write(spreadScoreKey, s)
	return nil
}

// countBySelector adds, per non-hostname domain, the pods matching each
// constraint's selector over all nodes.
func (p PodTopologySpread) countBySelector(s *spreadScoreState, pod *framework.PodInfo, req *requiredNodeAffinity) {
	cs := s.constraints
	ns := pod.Pod.Namespace
	for _, ni := range p.h.Snapshot().List() {
		if !hasAllKeys(cs, ni.Labels) {
			continue
		}
		for i := range cs {
			c := &cs[i]
			if c.key == corev1.LabelHostname {
				continue
			}
			v := ni.Labels[c.key]
			if _, ok := s.counts[i][v]; !ok || !c.includes(pod.Pod, req, ni) {
				continue
			}
			s.counts[i][v] += countMatching(ni, c.selector, ns)
		}
	}
}

// countByOwner adds, per non-hostname domain, the controller's live pods.
// The snapshot indexes them by controller, so this visits only the nodes
// holding them instead of every pod; the sums do not depend on the map's
// iteration order.
func (p PodTopologySpread) countByOwner(s *spreadScoreState, pod *framework.PodInfo, req *requiredNodeAffinity) {
	cs := s.constraints
	for ni, n := range p.h.Snapshot().OwnedNodes(pod.ControllerUID) {
		if ni.Node() == nil {
			continue
		}
		for i := range cs {
			c := &cs[i]
			if c.key == corev1.LabelHostname {
				continue
			}
			v := ni.Labels[c.key]
			if _, ok := s.counts[i][v]; !ok || !c.includes(pod.Pod, req, ni) {
				continue
			}
			s.counts[i][v] += int(n)
		}
	}
}

// Score implements framework.ScorePlugin: raw scores grow with the matching
// pods already in the node's domains (normalised in reverse).
func (p PodTopologySpread) Score(state *framework.CycleState, pod *framework.PodInfo, ni *framework.NodeInfo) (int64, *framework.Status) {
	s, ok := state.Read(spreadScoreKey).(*spreadScoreState)
	if !ok || s.ignored(ni) {
		return 0, nil
	}
	var score float64
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := ni.Labels[c.key]
		if !ok {
			continue
		}
		var cnt int
		switch {
		case c.key != corev1.LabelHostname:
			cnt = s.counts[i][v]
		case c.owner != "":
			cnt = int(p.h.Snapshot().OwnedOn(c.owner, ni))
		default:
			cnt = countMatching(ni, c.selector, pod.Pod.Namespace)
		}
		score += float64(cnt)*s.weights[i] + float64(c.maxSkew-1)
	}
	return int64(math.Round(score)), nil
}

// NormalizeScore implements framework.ScoreNormalizer: fewer matching pods
// score higher; ignored nodes score 0.
func (PodTopologySpread) NormalizeScore(state *framework.CycleState, _ *framework.PodInfo, nodes []*framework.NodeInfo, scores []int64) *framework.Status {
	s, ok := state.Read(spreadScoreKey).(*spreadScoreState)
	if !ok {
		return nil
	}
	minScore, maxScore := int64(math.MaxInt64), int64(0)
	for i, ni := range nodes {
		if s.ignored(ni) {
			continue
		}
		minScore = min(minScore, scores[i])
		maxScore = max(maxScore, scores[i])
	}
	for i, ni := range nodes {
		switch {
		case s.ignored(ni):
			scores[i] = 0
		case maxScore == 0:
			scores[i] = framework.MaxNodeScore
		default:
			scores[i] = framework.MaxNodeScore * (maxScore + minScore - scores[i]) / maxScore
		}
	}
	return nil
}
