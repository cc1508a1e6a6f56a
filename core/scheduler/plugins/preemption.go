package plugins

import (
	"cmp"
	"math"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// DefaultPreemption is the PostFilter that, when a pod fits nowhere, looks
// for a node where evicting lower-priority pods makes it fit, like
// kube-scheduler's DefaultPreemption. It only decides; the scheduler deletes
// the victims and writes the nomination. PodDisruptionBudgets are not
// considered.
type DefaultPreemption struct {
	h framework.Handle
	// Scratch space reused by every dry run (the scheduler is
	// single-threaded), so trying hundreds of nodes allocates little.
	node   framework.NodeInfo
	state  framework.CycleState
	lower  []*framework.PodInfo
	ranked []rankedPod
}

// rankedPod caches a pod's importance key for sorting.
type rankedPod struct {
	pi    *framework.PodInfo
	start int64
}

var _ framework.PostFilterPlugin = (*DefaultPreemption)(nil)

// Kubernetes' dry-run bounds: try at least 100 nodes or 10% of them.
const (
	minCandidateNodesPercentage = 10
	minCandidateNodesAbsolute   = 100
)

// Preemption outcome reasons, worded as in Kubernetes.
const (
	ErrReasonPreemptionNotHelpful = "Preemption is not helpful for scheduling"
	ErrReasonNoVictims            = "No preemption victims found for incoming pod"
	msgNotEligibleNever           = "not eligible due to preemptionPolicy=Never."
	msgNotEligibleTerminating     = "not eligible due to a terminating pod on the nominated node."
)

var (
	statusNotHelpful = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPreemptionNotHelpful)
	statusNoVictims  = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNoVictims)
)

// NewDefaultPreemption builds the plugin over the framework handle.
func NewDefaultPreemption(h framework.Handle) *DefaultPreemption { return &DefaultPreemption{h: h} }

// Name implements framework.Plugin.
func (*DefaultPreemption) Name() string { return DefaultPreemptionName }

// candidate is a node where preemption works, with its victims ordered most
// important first.
type candidate struct {
	node    *framework.NodeInfo
	victims []*framework.PodInfo
}

// PostFilter implements framework.PostFilterPlugin.
func (p *DefaultPreemption) PostFilter(state *framework.CycleState, pod *framework.PodInfo, m *framework.NodeToStatus) (*framework.PostFilterResult, *framework.Status) {
	if msg := p.notEligible(pod, m); msg != "" {
		return nil, framework.NewStatus(framework.Unschedulable, "preemption: "+msg)
	}
	snap := p.h.Snapshot()
	all := snap.List()
	if !snap.HasPodBelow(pod.Priority) {
		// Nothing anywhere has a lower priority: every dry run would find
		// no victims. Say so without running them.
		helpful := p.countPotential(all, m)
		if helpful > 0 {
			msg := "preemption: 0/" + strconv.Itoa(len(all)) + " nodes are available: " +
				joinSorted(strconv.Itoa(helpful)+" "+ErrReasonNoVictims, len(all)-helpful, ErrReasonPreemptionNotHelpful) + "."
			return &framework.PostFilterResult{Override: true}, framework.NewStatus(framework.Unschedulable, msg)
		}
	}
	potential, notHelpful := p.potentialNodes(all, m)
	outcome := &framework.NodeToStatus{}
	for range notHelpful {
		outcome.Add("", "", statusNotHelpful)
	}
	var cands []candidate
	if len(potential) > 0 {
		offset := p.h.Rand().IntN(len(potential))
		want := numCandidates(len(potential))
		for i := range potential {
			ni := potential[(offset+i)%len(potential)]
			victims, s := p.selectVictims(state, pod, ni)
			switch {
			case s.Code() == framework.Error:
				return nil, s
			case !s.IsSuccess():
				outcome.Add(ni.Name, "", s)
				continue
			}
			cands = append(cands, candidate{node: ni, victims: victims})
			if len(cands) >= want {
				break
			}
		}
	}
	if len(cands) == 0 {
		fe := framework.FitError{Pod: pod.Pod, NumAllNodes: len(all), Diagnosis: &framework.Diagnosis{NodeToStatus: *outcome}}
		// An empty nomination with Override clears a stale one.
		return &framework.PostFilterResult{Override: true}, framework.NewStatus(framework.Unschedulable, "preemption: "+fe.Error())
	}
	best := pickCandidate(cands)
	res := &framework.PostFilterResult{NominatedNodeName: best.node.Name, Override: true, Victims: best.victims}
	for _, np := range p.h.Nominator().ForNode(best.node.Name) {
		if np.Priority < pod.Priority && np.Pod.UID != pod.Pod.UID {
			res.ClearNominations = append(res.ClearNominations, np)
		}
	}
	return res, nil
}

// potentialNodes are the nodes where preemption might help: those not
// rejected as unresolvable. It walks the rejection list rather than looking
// every node up, except when a PreFilter rejection left all nodes with the
// same status. It also returns how many nodes preemption cannot help.
func (p *DefaultPreemption) potentialNodes(all []*framework.NodeInfo, m *framework.NodeToStatus) ([]*framework.NodeInfo, int) {
	potential := make([]*framework.NodeInfo, 0, len(m.Rejected))
	if m.Absent != nil && m.Absent.Code() != framework.UnschedulableAndUnresolvable {
		for _, ni := range all {
			if m.Get(ni.Name).Code() != framework.UnschedulableAndUnresolvable {
				potential = append(potential, ni)
			}
		}
		return potential, len(all) - len(potential)
	}
	snap := p.h.Snapshot()
	for i := range m.Rejected {
		r := &m.Rejected[i]
		if r.Status.Code() == framework.UnschedulableAndUnresolvable {
			continue
		}
		ni := r.Info()
		if ni == nil {
			ni = snap.Get(r.Node)
		}
		if ni != nil {
			potential = append(potential, ni)
		}
	}
	return potential, len(all) - len(potential)
}

// countPotential is len(potentialNodes(...)) without building the list.
func (p *DefaultPreemption) countPotential(all []*framework.NodeInfo, m *framework.NodeToStatus) int {
	if m.Absent != nil && m.Absent.Code() != framework.UnschedulableAndUnresolvable {
		n := 0
		for _, ni := range all {
			if m.Get(ni.Name).Code() != framework.UnschedulableAndUnresolvable {
				n++
			}
		}
		return n
	}
	n := 0
	for i := range m.Rejected {
		if m.Rejected[i].Status.Code() != framework.UnschedulableAndUnresolvable {
			n++
		}
	}
	return n
}

// joinSorted renders "<a>, <n> <reason>" in Kubernetes' histogram order,
// leaving out a zero count.
func joinSorted(a string, n int, reason string) string {
	if n == 0 {
		return a
	}
	b := strconv.Itoa(n) + " " + reason
	if b < a {
		a, b = b, a
	}
	return a + ", " + b
}

// notEligible says why pod may not preempt, or "".
func (p *DefaultPreemption) notEligible(pod *framework.PodInfo, m *framework.NodeToStatus) string {
	if pp := pod.Pod.Spec.PreemptionPolicy; pp != nil && *pp == corev1.PreemptNever {
		return msgNotEligibleNever
	}
	nom := p.h.Nominator().NodeFor(pod.Pod.UID)
	if nom == "" {
		nom = pod.Pod.Status.NominatedNodeName
	}
	if nom == "" || m.Get(nom).Code() == framework.UnschedulableAndUnresolvable {
		return ""
	}
	// Victims of an earlier preemption are still terminating there: wait
	// for them instead of evicting more.
	if ni := p.h.Snapshot().Get(nom); ni != nil {
		for _, q := range ni.Pods {
			if q.Priority < pod.Priority && q.Pod.DeletionTimestamp != nil {
				return msgNotEligibleTerminating
			}
		}
	}
	return ""
}

func numCandidates(n int) int {
	c := n * minCandidateNodesPercentage / 100
	c = max(c, minCandidateNodesAbsolute)
	return min(c, n)
}

// selectVictims removes every lower-priority pod from a copy of the node;
// if the pod then fits, it adds them back most important first, keeping
// each one that still lets the pod fit (a reprieve). The rest are victims.
func (p *DefaultPreemption) selectVictims(state *framework.CycleState, pod *framework.PodInfo, orig *framework.NodeInfo) ([]*framework.PodInfo, *framework.Status) {
	hasLower := false
	for _, q := range orig.Pods {
		if q.Priority < pod.Priority {
			hasLower = true
			break
		}
	}
	if !hasLower {
		return nil, statusNoVictims
	}
	ni, st := &p.node, &p.state
	orig.CopyInto(ni)
	st.CopyFrom(state)
	p.lower = ni.RemovePodsBelow(pod.Priority, p.lower[:0])
	for _, q := range p.lower {
		if s := p.h.RunPreFilterExtensionRemovePod(st, pod, q, ni); !s.IsSuccess() {
			return nil, s
		}
	}
	if s, _ := p.h.RunFilterPluginsWithNominatedPods(st, pod, ni); !s.IsSuccess() {
		return nil, s
	}
	// Most important first: priority high to low, then older first, as
	// Kubernetes' MoreImportantPod.
	p.ranked = p.ranked[:0]
	for _, q := range p.lower {
		p.ranked = append(p.ranked, rankedPod{pi: q, start: startNanos(q)})
	}
	slices.SortStableFunc(p.ranked, func(a, b rankedPod) int {
		if a.pi.Priority != b.pi.Priority {
			return cmp.Compare(b.pi.Priority, a.pi.Priority)
		}
		return cmp.Compare(a.start, b.start)
	})
	var victims []*framework.PodInfo
	for _, r := range p.ranked {
		q := r.pi
		ni.AddPod(q)
		if s := p.h.RunPreFilterExtensionAddPod(st, pod, q, ni); !s.IsSuccess() {
			return nil, s
		}
		s, _ := p.h.RunFilterPluginsWithNominatedPods(st, pod, ni)
		if s.Code() == framework.Error {
			return nil, s
		}
		if s.IsSuccess() {
			continue
		}
		ni.RemovePod(q.Pod.UID)
		if s := p.h.RunPreFilterExtensionRemovePod(st, pod, q, ni); !s.IsSuccess() {
			return nil, s
		}
		victims = append(victims, q)
	}
	if len(victims) == 0 {
		return nil, framework.AsStatus(errNoVictimNeeded)
	}
	return victims, nil
}

type preemptionError string

func (e preemptionError) Error() string { return string(e) }

// errNoVictimNeeded is a broken invariant of the dry run: the pod fits the
// node without evicting anything, yet filtering rejected it.
const errNoVictimNeeded = preemptionError("expected at least one victim pod on the node")

// startNanos is the pod's start time; pods not started yet count as the
// newest (Kubernetes uses "now").
func startNanos(p *framework.PodInfo) int64 {
	if t := p.Pod.Status.StartTime; t != nil {
		return t.UnixNano()
	}
	return math.MaxInt64
}

// pickCandidate applies Kubernetes' criteria in order, each keeping only
// the best candidates: lowest highest-victim priority; smallest sum of
// victim priorities; fewest victims; latest start among the
// highest-priority victims; then the first found.
func pickCandidate(cands []candidate) candidate {
	keep := func(score func(c *candidate) int64) {
		best := int64(math.MaxInt64)
		for i := range cands {
			best = min(best, score(&cands[i]))
		}
		out := cands[:0]
		for i := range cands {
			if score(&cands[i]) == best {
				out = append(out, cands[i])
			}
		}
		cands = out
	}
	keep(func(c *candidate) int64 { return int64(c.victims[0].Priority) })
	keep(func(c *candidate) int64 {
		var sum int64
		for _, v := range c.victims {
			// Shift to non-negative so that negative priorities do not
			// make more victims look cheaper.
			sum += int64(v.Priority) + math.MaxInt32 + 1
		}
		return sum
	})
	keep(func(c *candidate) int64 { return int64(len(c.victims)) })
	keep(func(c *candidate) int64 {
		earliest := int64(math.MaxInt64)
		for _, v := range c.victims {
			if v.Priority == c.victims[0].Priority {
				earliest = min(earliest, startNanos(v))
			}
		}
		return -earliest // latest earliest-start wins
	})
	return cands[0]
}
