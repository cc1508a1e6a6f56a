package framework

import "math/rand/v2"

// Plugin is a named scheduling plugin.
type Plugin interface {
	Name() string
}

// PreFilterResult narrows the nodes worth filtering. A nil result means all
// nodes.
type PreFilterResult struct {
	// NodeNames is sorted and deduplicated.
	NodeNames []string
	// By names the plugins that narrowed (set by the framework).
	By []string
}

// merge intersects two results.
func (r *PreFilterResult) merge(o *PreFilterResult) *PreFilterResult {
	if r == nil {
		return o
	}
	if o == nil {
		return r
	}
	out := &PreFilterResult{}
	i, j := 0, 0
	for i < len(r.NodeNames) && j < len(o.NodeNames) {
		switch a, b := r.NodeNames[i], o.NodeNames[j]; {
		case a == b:
			out.NodeNames = append(out.NodeNames, a)
			i++
			j++
		case a < b:
			i++
		default:
			j++
		}
	}
	return out
}

// PreFilterPlugin computes per-pod data once per cycle. Returning Skip
// skips the same plugin's Filter; a rejection rejects the pod on all nodes.
type PreFilterPlugin interface {
	Plugin
	PreFilter(state *CycleState, pod *PodInfo) (*PreFilterResult, *Status)
}

// PreFilterExtensions lets a PreFilter plugin update its state when the
// framework adds or removes pods hypothetically (nominated pods, preemption
// victims).
type PreFilterExtensions interface {
	AddPod(state *CycleState, pod *PodInfo, toAdd *PodInfo, node *NodeInfo) *Status
	RemovePod(state *CycleState, pod *PodInfo, toRemove *PodInfo, node *NodeInfo) *Status
}

// FilterPlugin decides whether pod fits node. It must return nil when it
// fits (no allocation on the hot path).
type FilterPlugin interface {
	Plugin
	Filter(state *CycleState, pod *PodInfo, node *NodeInfo) *Status
}

// BatchFilter is an optional fast path of FilterPlugin: it filters many
// nodes in one call, saving an interface call per node. For every i with
// statuses[i] == nil it sets statuses[i] to what Filter would return for
// nodes[i]; entries already set (rejected by an earlier plugin) are left
// alone.
type BatchFilter interface {
	FilterNodes(state *CycleState, pod *PodInfo, nodes []*NodeInfo, statuses []*Status)
}

// PreScorePlugin prepares scoring over the feasible nodes; Skip skips the
// plugin's Score.
type PreScorePlugin interface {
	Plugin
	PreScore(state *CycleState, pod *PodInfo, nodes []*NodeInfo) *Status
}

// ScorePlugin ranks a feasible node.
type ScorePlugin interface {
	Plugin
	Score(state *CycleState, pod *PodInfo, node *NodeInfo) (int64, *Status)
}

// BatchScorer is an optional fast path of ScorePlugin: it fills scores
// (aligned with nodes) in one call, saving an interface call per node. Its
// results must equal calling Score on each node.
type BatchScorer interface {
	ScoreNodes(state *CycleState, pod *PodInfo, nodes []*NodeInfo, scores []int64) *Status
}

// ScoreNormalizer rescales a plugin's raw scores, aligned with nodes, into
// [0, MaxNodeScore].
type ScoreNormalizer interface {
	NormalizeScore(state *CycleState, pod *PodInfo, nodes []*NodeInfo, scores []int64) *Status
}

// PostFilterResult is what a PostFilter plugin (preemption) decided. The
// plugin only computes; the scheduler carries out the effects through its
// ports, so the decision can be recorded and tested as data.
type PostFilterResult struct {
	// NominatedNodeName is where the pod should go once victims are gone.
	NominatedNodeName string
	// Override says the nomination must be written, even when empty (which
	// clears a stale nomination).
	Override bool
	// Victims are the pods to delete.
	Victims []*PodInfo
	// ClearNominations are lower-priority pods nominated to the chosen node
	// whose nominations no longer hold.
	ClearNominations []*PodInfo
}

// PostFilterPlugin runs when no node fits.
type PostFilterPlugin interface {
	Plugin
	PostFilter(state *CycleState, pod *PodInfo, statuses *NodeToStatus) (*PostFilterResult, *Status)
}

// Handle is what plugins may use of the framework.
type Handle interface {
	Snapshot() *Snapshot
	Nominator() *Nominator
	Rand() *rand.Rand
	// RunFilterPluginsWithNominatedPods runs all filters for pod on node,
	// accounting for pods nominated to node with priority at least pod's.
	RunFilterPluginsWithNominatedPods(state *CycleState, pod *PodInfo, node *NodeInfo) (*Status, string)
	// RunPreFilterExtensionAddPod / RemovePod update PreFilter state.
	RunPreFilterExtensionAddPod(state *CycleState, pod, toAdd *PodInfo, node *NodeInfo) *Status
	RunPreFilterExtensionRemovePod(state *CycleState, pod, toRemove *PodInfo, node *NodeInfo) *Status
}
