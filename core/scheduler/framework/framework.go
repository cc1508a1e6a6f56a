package framework

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// WeightedScorePlugin is a score plugin with its weight in the total.
type WeightedScorePlugin struct {
	Plugin ScorePlugin
	Weight int64
}

// Plugins lists the plugins of each extension point, in run order.
type Plugins struct {
	PreFilter  []PreFilterPlugin
	Filter     []FilterPlugin
	PreScore   []PreScorePlugin
	Score      []WeightedScorePlugin
	PostFilter []PostFilterPlugin
}

// Framework runs the plugins of one profile. It is single-threaded and owns
// reusable buffers, so a cycle allocates almost nothing when every node fits.
type Framework struct {
	snapshot  *Snapshot
	nominator *Nominator
	rand      *rand.Rand

	preFilter     []PreFilterPlugin
	preFilterSkip []uint64 // filter-mask bit set when preFilter[i] returns Skip
	extensions    []PreFilterExtensions
	filter        []FilterPlugin
	preScore      []PreScorePlugin
	preScoreSkip  []uint64 // score-mask bit set when preScore[i] returns Skip
	score         []ScorePlugin
	scoreNames    []string
	weight        []int64
	normalizer    []ScoreNormalizer
	postFilter    []PostFilterPlugin
	events        map[string][]ClusterEvent

	scores [][]int64
	totals []int64
}

// New returns a framework over snapshot; call SetPlugins before use (plugins
// that need the Handle are built between the two calls).
func New(snapshot *Snapshot, nominator *Nominator, r *rand.Rand) *Framework {
	return &Framework{snapshot: snapshot, nominator: nominator, rand: r, events: map[string][]ClusterEvent{}}
}

// SetPlugins installs the plugins. A plugin that implements several
// extension points is matched across them by name.
func (f *Framework) SetPlugins(p Plugins) {
	if len(p.Filter) > 64 || len(p.Score) > 64 {
		panic("framework: at most 64 filter and 64 score plugins")
	}
	f.preFilter, f.filter, f.preScore, f.postFilter = p.PreFilter, p.Filter, p.PreScore, p.PostFilter
	f.preFilterSkip = make([]uint64, len(p.PreFilter))
	f.extensions = make([]PreFilterExtensions, len(p.PreFilter))
	for i, pl := range p.PreFilter {
		for j, fl := range p.Filter {
			if fl.Name() == pl.Name() {
				f.preFilterSkip[i] = 1 << j
			}
		}
		if ext, ok := pl.(PreFilterExtensions); ok {
			f.extensions[i] = ext
		}
	}
	f.score, f.scoreNames, f.weight, f.normalizer = nil, nil, nil, nil
	for _, w := range p.Score {
		f.score = append(f.score, w.Plugin)
		f.scoreNames = append(f.scoreNames, w.Plugin.Name())
		f.weight = append(f.weight, w.Weight)
		n, _ := w.Plugin.(ScoreNormalizer)
		f.normalizer = append(f.normalizer, n)
	}
	f.preScoreSkip = make([]uint64, len(p.PreScore))
	for i, pl := range p.PreScore {
		for j, sc := range f.score {
			if sc.Name() == pl.Name() {
				f.preScoreSkip[i] = 1 << j
			}
		}
	}
	f.scores = make([][]int64, len(f.score))
	f.events = map[string][]ClusterEvent{}
	register := func(pl Plugin) {
		if ee, ok := pl.(EnqueueExtensions); ok {
			f.events[pl.Name()] = ee.EventsToRegister()
		}
	}
	for _, pl := range p.PreFilter {
		register(pl)
	}
	for _, pl := range p.Filter {
		register(pl)
	}
}

// Snapshot implements Handle.
func (f *Framework) Snapshot() *Snapshot { return f.snapshot }

// Nominator implements Handle.
func (f *Framework) Nominator() *Nominator { return f.nominator }

// Rand implements Handle.
func (f *Framework) Rand() *rand.Rand { return f.rand }

// HasFilterPlugins reports whether any filter is configured.
func (f *Framework) HasFilterPlugins() bool { return len(f.filter) > 0 }

// HasScorePlugins reports whether any score plugin is configured.
func (f *Framework) HasScorePlugins() bool { return len(f.score) > 0 }

// ScorePluginNames are the score plugins in the order of RunScorePlugins'
// rows.
func (f *Framework) ScorePluginNames() []string { return f.scoreNames }

// Interested reports whether any of plugins registered for ev. A pod with
// no rejecting plugins recorded is always interested (something unusual
// rejected it).
func (f *Framework) Interested(plugins []string, ev ClusterEvent) bool {
	if len(plugins) == 0 || ev.Resource == WildCardResource {
		return true
	}
	for _, name := range plugins {
		for _, reg := range f.events[name] {
			if reg.Match(ev) {
				return true
			}
		}
	}
	return false
}

// AnyInterested reports whether any plugin at all registered for ev, so the
// caller can skip scanning unschedulable pods.
func (f *Framework) AnyInterested(ev ClusterEvent) bool {
	if ev.Resource == WildCardResource {
		return true
	}
	for _, regs := range f.events {
		for _, reg := range regs {
			if reg.Match(ev) {
				return true
			}
		}
	}
	return false
}

// RunPreFilterPlugins runs the PreFilter plugins. On rejection it returns
// the status and the rejecting plugin's name.
func (f *Framework) RunPreFilterPlugins(state *CycleState, pod *PodInfo) (*PreFilterResult, *Status, string) {
	var result *PreFilterResult
	var narrowing []string
	for i, pl := range f.preFilter {
		r, s := pl.PreFilter(state, pod)
		switch {
		case s.IsSkip():
			state.skipFilter |= f.preFilterSkip[i]
			continue
		case s.IsRejected():
			return nil, s, pl.Name()
		case !s.IsSuccess():
			return nil, AsStatus(fmt.Errorf("running PreFilter plugin %q: %w", pl.Name(), s.AsError())), pl.Name()
		}
		if r != nil {
			narrowing = append(narrowing, pl.Name())
			result = result.merge(r)
			if len(result.NodeNames) == 0 {
				msg := "node(s) didn't satisfy plugin " + narrowing[0]
				if len(narrowing) > 1 {
					msg = "node(s) didn't satisfy plugin(s) [" + strings.Join(narrowing, " ") + "] simultaneously"
				}
				return nil, NewStatus(Unschedulable, msg), pl.Name()
			}
		}
	}
	if result != nil {
		result = &PreFilterResult{NodeNames: result.NodeNames, By: narrowing}
	}
	f.prepareFilters(state)
	return result, nil, ""
}

// prepareFilters fixes the list of filters to run this cycle.
func (f *Framework) prepareFilters(state *CycleState) {
	state.filters = state.filters[:0]
	for i, pl := range f.filter {
		if state.skipFilter&(1<<i) == 0 {
			state.filters = append(state.filters, pl)
		}
	}
	state.filtersSet = true
}

// RunFilterPlugins runs the filters not skipped by PreFilter, stopping at
// the first rejection; it returns the status and the rejecting plugin.
func (f *Framework) RunFilterPlugins(state *CycleState, pod *PodInfo, node *NodeInfo) (*Status, string) {
	if !state.filtersSet {
		f.prepareFilters(state)
	}
	for _, pl := range state.filters {
		if s := pl.Filter(state, pod, node); s != nil && s.code != Success {
			if s.code != Unschedulable && s.code != UnschedulableAndUnresolvable {
				s = AsStatus(fmt.Errorf("running %q filter plugin: %w", pl.Name(), s.AsError()))
			}
			return s, pl.Name()
		}
	}
	return nil, ""
}

// RunFilterPluginsBatch is RunFilterPlugins over many nodes, run plugin by
// plugin so that each plugin's loop is tight: afterwards statuses[i] is
// the first rejection (or error) of nodes[i], nil if it fits, and
// plugins[i] the plugin that gave it. Both slices must be as long as nodes
// and zeroed.
func (f *Framework) RunFilterPluginsBatch(state *CycleState, pod *PodInfo, nodes []*NodeInfo, statuses []*Status, plugins []string) {
	if !state.filtersSet {
		f.prepareFilters(state)
	}
	remaining := len(nodes)
	for _, pl := range state.filters {
		if bf, ok := pl.(BatchFilter); ok {
			bf.FilterNodes(state, pod, nodes, statuses)
		} else {
			for i, ni := range nodes {
				if statuses[i] == nil {
					if s := pl.Filter(state, pod, ni); s != nil && s.code != Success {
						statuses[i] = s
					}
				}
			}
		}
		for i, s := range statuses {
			if s == nil || plugins[i] != "" {
				continue
			}
			if s.code != Unschedulable && s.code != UnschedulableAndUnresolvable {
				statuses[i] = AsStatus(fmt.Errorf("running %q filter plugin: %w", pl.Name(), s.AsError()))
			}
			plugins[i] = pl.Name()
			remaining--
		}
		if remaining == 0 {
			return
		}
	}
}

// NeedsNominatedPods reports whether filtering must consider nominated
// pods at all, so callers can take the plain path when none exist.
func (f *Framework) NeedsNominatedPods() bool { return f.nominator != nil && f.nominator.Len() > 0 }

// RunFilterPluginsWithNominatedPods runs the filters as if the pods
// nominated to node with priority >= pod's were already there, and, if that
// passes, once more without them (as kube-scheduler does, because a
// nominated pod may also help, e.g. for spreading). Nodes without such pods
// take the plain path.
func (f *Framework) RunFilterPluginsWithNominatedPods(state *CycleState, pod *PodInfo, node *NodeInfo) (*Status, string) {
	if f.nominator == nil || f.nominator.Len() == 0 {
		return f.RunFilterPlugins(state, pod, node)
	}
	nominated := f.nominator.ForNode(node.Name)
	var nodeWith *NodeInfo
	var stateWith *CycleState
	for _, p := range nominated {
		if p.Priority < pod.Priority || p.Pod.UID == pod.Pod.UID {
			continue
		}
		if nodeWith == nil {
			nodeWith, stateWith = node.Clone(), state.Clone()
		}
		nodeWith.AddPod(p)
		if s := f.RunPreFilterExtensionAddPod(stateWith, pod, p, nodeWith); !s.IsSuccess() {
			return s, ""
		}
	}
	if nodeWith == nil {
		return f.RunFilterPlugins(state, pod, node)
	}
	if s, pl := f.RunFilterPlugins(stateWith, pod, nodeWith); !s.IsSuccess() {
		return s, pl
	}
	return f.RunFilterPlugins(state, pod, node)
}

// RunPreFilterExtensionAddPod tells PreFilter plugins that toAdd joined node.
func (f *Framework) RunPreFilterExtensionAddPod(state *CycleState, pod, toAdd *PodInfo, node *NodeInfo) *Status {
	for i, ext := range f.extensions {
		if ext == nil || state.skipFilter&f.preFilterSkip[i] != 0 {
			continue
		}
		if s := ext.AddPod(state, pod, toAdd, node); !s.IsSuccess() {
			return AsStatus(fmt.Errorf("running AddPod on PreFilter plugin %q: %w", f.preFilter[i].Name(), s.AsError()))
		}
	}
	return nil
}

// RunPreFilterExtensionRemovePod tells PreFilter plugins that toRemove left
// node.
func (f *Framework) RunPreFilterExtensionRemovePod(state *CycleState, pod, toRemove *PodInfo, node *NodeInfo) *Status {
	for i, ext := range f.extensions {
		if ext == nil || state.skipFilter&f.preFilterSkip[i] != 0 {
			continue
		}
		if s := ext.RemovePod(state, pod, toRemove, node); !s.IsSuccess() {
			return AsStatus(fmt.Errorf("running RemovePod on PreFilter plugin %q: %w", f.preFilter[i].Name(), s.AsError()))
		}
	}
	return nil
}

// RunPreScorePlugins prepares scoring over nodes.
func (f *Framework) RunPreScorePlugins(state *CycleState, pod *PodInfo, nodes []*NodeInfo) *Status {
	for i, pl := range f.preScore {
		s := pl.PreScore(state, pod, nodes)
		if s.IsSkip() {
			state.skipScore |= f.preScoreSkip[i]
			continue
		}
		if !s.IsSuccess() {
			return AsStatus(fmt.Errorf("running PreScore plugin %q: %w", pl.Name(), s.AsError()))
		}
	}
	return nil
}

// scoreChunk is how many nodes all score plugins see before moving on, so
// a chunk's node data stays in cache across plugins.
const scoreChunk = 256

// RunScorePlugins scores nodes. It returns per-plugin weighted scores
// (rows aligned with ScorePluginNames, columns with nodes) and the totals.
// Both are the framework's buffers, valid until the next call.
func (f *Framework) RunScorePlugins(state *CycleState, pod *PodInfo, nodes []*NodeInfo) ([][]int64, []int64, *Status) {
	n := len(nodes)
	if cap(f.totals) < n {
		f.totals = make([]int64, n)
	}
	totals := f.totals[:n]
	clear(totals)
	for i := range f.score {
		if cap(f.scores[i]) < n {
			f.scores[i] = make([]int64, n)
		}
		f.scores[i] = f.scores[i][:n]
	}
	for lo := 0; lo < n; lo += scoreChunk {
		hi := min(lo+scoreChunk, n)
		chunk := nodes[lo:hi]
		for i, pl := range f.score {
			row := f.scores[i][lo:hi]
			if state.skipScore&(1<<i) != 0 {
				clear(row)
				continue
			}
			if bs, ok := pl.(BatchScorer); ok {
				if st := bs.ScoreNodes(state, pod, chunk, row); !st.IsSuccess() {
					return nil, nil, AsStatus(fmt.Errorf("running Score plugin %q: %w", pl.Name(), st.AsError()))
				}
				continue
			}
			for j, ni := range chunk {
				s, st := pl.Score(state, pod, ni)
				if !st.IsSuccess() {
					return nil, nil, AsStatus(fmt.Errorf("running Score plugin %q: %w", pl.Name(), st.AsError()))
				}
				row[j] = s
			}
		}
	}
	for i, pl := range f.score {
		row := f.scores[i]
		if state.skipScore&(1<<i) != 0 {
			continue
		}
		if nz := f.normalizer[i]; nz != nil {
			if st := nz.NormalizeScore(state, pod, nodes, row); !st.IsSuccess() {
				return nil, nil, AsStatus(fmt.Errorf("running Normalize on Score plugin %q: %w", pl.Name(), st.AsError()))
			}
		}
		w := f.weight[i]
		for j, s := range row {
			if s < 0 || s > MaxNodeScore {
				return nil, nil, AsStatus(fmt.Errorf("plugin %q returns an invalid score %d, it should be in the range of [0, %d] after normalizing", pl.Name(), s, MaxNodeScore))
			}
			row[j] = s * w
			totals[j] += s * w
		}
	}
	return f.scores, totals, nil
}

// RunPostFilterPlugins runs PostFilter plugins until one succeeds.
func (f *Framework) RunPostFilterPlugins(state *CycleState, pod *PodInfo, statuses *NodeToStatus) (*PostFilterResult, *Status) {
	var reasons []string
	var result *PostFilterResult
	for _, pl := range f.postFilter {
		r, s := pl.PostFilter(state, pod, statuses)
		if s.IsSuccess() {
			return r, s
		}
		if !s.IsRejected() {
			return r, s
		}
		if r != nil && result == nil {
			result = r
		}
		reasons = append(reasons, s.Reasons()...)
	}
	return result, NewStatus(Unschedulable, reasons...)
}
