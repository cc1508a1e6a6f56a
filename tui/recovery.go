package tui

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/feed"
)

// Step names of a recovery timeline, in the order they usually happen.
const (
	StepFailure     = "failure"
	StepNotReady    = "NotReady"
	StepTainted     = "tainted"
	StepCordoned    = "cordoned"
	StepEvicted     = "evicted"
	StepRescheduled = "rescheduled"
	StepPodsReady   = "pods Ready"
	StepNodeBack    = "node Ready"
	StepUncordoned  = "uncordoned"
)

// RecoveryStep is one milestone of an episode.
type RecoveryStep struct {
	Name string
	At   time.Time
	Note string
}

// Recovery follows one node failure (or drain) from the failure to the
// moment its pods run Ready elsewhere and the node is back.
type Recovery struct {
	Node  string
	Cause string // crashNode, partitionNode, drain, or NotReady (seen, not told)
	Start time.Time
	Steps []RecoveryStep
	// Lost are the pods on the node at the failure; Evicted and Replaced
	// count their evictions and the replacements bound elsewhere.
	Lost, Evicted, Replaced int
	// ReadyBefore is how many pods of the lost pods' controllers were Ready
	// at the failure.
	ReadyBefore int
	Closed      bool
	// readyNow counts the owners' Ready pods that were not lost.
	readyNow int

	lost     map[string]bool
	back     map[string]bool // lost pods seen turning Ready after the failure
	owners   map[string]bool
	before   map[string]bool // the owners' pods at the start
	replaced map[string]bool
	drain    bool
}

// Has reports whether the step happened.
func (r *Recovery) Has(name string) bool {
	for _, s := range r.Steps {
		if s.Name == name {
			return true
		}
	}
	return false
}

// StepAt is when a step happened (zero if it did not).
func (r *Recovery) StepAt(name string) (time.Time, bool) {
	for _, s := range r.Steps {
		if s.Name == name {
			return s.At, true
		}
	}
	return time.Time{}, false
}

func (r *Recovery) add(name string, at time.Time, note string) {
	if r.Has(name) {
		return
	}
	r.Steps = append(r.Steps, RecoveryStep{Name: name, At: at, Note: note})
}

func (s *State) markForRecovery(m feed.Mark) {
	switch m.Action {
	case "crashNode", "partitionNode", "drain":
		if m.Node != "" {
			s.startRecovery(m.Node, m.Action, m.At)
		}
	case "restoreNode", "healNode":
		// Back within the grace period, the node was never NotReady, so
		// no node change will say it is back: the mark does.
		if r := s.open[m.Node]; r != nil && !r.drain && !r.Has(StepNotReady) {
			r.add(StepNodeBack, m.At, m.Action+" before NotReady")
			if r.Cause == "partitionNode" {
				// A partition stops no container: the pods ran Ready all
				// along, and the API, never told otherwise, still says so.
				for k := range r.lost { // order-independent: counts only
					if info := s.Pods[k]; info != nil && !r.back[k] && r.owners[ownerUID(info.Pod)] && r.live(info.Pod) {
						r.back[k] = true
						r.readyNow++
					}
				}
				r.checkPodsReady(m.At)
			}
			s.maybeClose(r)
		}
	}
}

func (s *State) startRecovery(node, cause string, at time.Time) *Recovery {
	if r := s.open[node]; r != nil {
		r.Closed = true
	}
	r := &Recovery{Node: node, Cause: cause, Start: at, drain: cause == "drain",
		lost: map[string]bool{}, back: map[string]bool{}, owners: map[string]bool{}, before: map[string]bool{}, replaced: map[string]bool{}}
	for k := range s.podsByNode[node] {
		p := s.Pods[k].Pod
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		r.lost[k] = true
		if o := ownerUID(p); o != "" {
			r.owners[o] = true
		}
	}
	r.Lost = len(r.lost)
	for o := range r.owners {
		for k := range s.podsByOwner[o] {
			r.before[k] = true
			p := s.Pods[k].Pod
			if p.DeletionTimestamp == nil && podReady(p) {
				r.ReadyBefore++
			}
			if r.counts(k, p) {
				r.readyNow++
			}
		}
	}
	note := cause
	if r.Lost > 0 {
		note = fmt.Sprintf("%s, %d pods on the node", cause, r.Lost)
	}
	r.add(StepFailure, at, note)
	s.open[node] = r
	s.Recoveries = appendCapped(s.Recoveries, r, maxTimelineRows)
	return r
}

func isNodeFailureTaint(t corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoExecute &&
		(t.Key == corev1.TaintNodeUnreachable || t.Key == corev1.TaintNodeNotReady)
}

func (s *State) nodeChanged(at time.Time, old, n *corev1.Node, del bool) {
	if del {
		return
	}
	wasReady := old == nil || NodeReady(old) == corev1.ConditionTrue
	ready := NodeReady(n) == corev1.ConditionTrue
	r := s.open[n.Name]
	if r == nil && old != nil && wasReady && !ready {
		// A failure nobody announced (a live cluster): it began at the
		// last heartbeat the node sent.
		start := at
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && !c.LastHeartbeatTime.IsZero() && c.LastHeartbeatTime.Time.Before(at) {
				start = c.LastHeartbeatTime.Time
			}
		}
		r = s.startRecovery(n.Name, "NotReady", start)
	}
	if r == nil {
		return
	}
	if !ready && (wasReady || !r.Has(StepNotReady)) {
		r.add(StepNotReady, at, "Ready="+string(NodeReady(n)))
	}
	for _, t := range n.Spec.Taints {
		if isNodeFailureTaint(t) {
			r.add(StepTainted, at, TaintText(t))
		}
	}
	if n.Spec.Unschedulable && r.drain {
		r.add(StepCordoned, at, "unschedulable")
	}
	if ready && r.Has(StepNotReady) {
		r.add(StepNodeBack, at, "")
	}
	if r.drain && !n.Spec.Unschedulable && r.Has(StepCordoned) {
		r.add(StepUncordoned, at, "")
	}
	s.maybeClose(r)
}

func (s *State) podChanged(at time.Time, old, p *corev1.Pod, del bool) {
	if len(s.open) == 0 {
		return
	}
	k := key(p)
	owner := ownerUID(p)
	for _, node := range s.openNodes() {
		r := s.open[node]
		if r.lost[k] && (del || p.DeletionTimestamp != nil) && (old == nil || old.DeletionTimestamp == nil) {
			r.Evicted++
			r.add(StepEvicted, at, "")
		}
		if owner == "" || !r.owners[owner] {
			continue
		}
		if old != nil && r.counts(k, old) {
			r.readyNow--
		}
		if r.lost[k] && !del && old != nil && !podReady(old) && r.live(p) {
			// A lost pod Ready again where it was: the node came back
			// before it was evicted. From now on it counts.
			r.back[k] = true
		}
		if !del && r.counts(k, p) {
			r.readyNow++
		}
		if !r.before[k] && !r.replaced[k] && !del && p.Spec.NodeName != "" {
			r.replaced[k] = true
			r.Replaced++
			if r.Replaced >= r.Lost {
				r.add(StepRescheduled, at, fmt.Sprintf("%d replacements bound", r.Replaced))
			}
		}
		r.checkPodsReady(at)
		s.maybeClose(r)
	}
}

// checkPodsReady records the pods Ready step once the owners have as many
// Ready pods as at the failure, counting replacements once they are bound
// and lost pods once they are seen Ready again.
func (r *Recovery) checkPodsReady(at time.Time) {
	if r.Has(StepRescheduled) || r.Lost == 0 || len(r.back) > 0 {
		if r.readyNow >= r.ReadyBefore {
			r.add(StepPodsReady, at, fmt.Sprintf("%d pods Ready", r.ReadyBefore))
		}
	}
}

func (s *State) openNodes() []string {
	nodes := make([]string, 0, len(s.open))
	for n := range s.open {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	return nodes
}

// counts says whether pod k counts towards readyNow: Ready, not being
// deleted, and not one of the lost pods unless it was seen turning Ready
// again after the failure (until then its Ready is the stale one the node
// reported before it failed).
func (r *Recovery) counts(k string, p *corev1.Pod) bool {
	return (!r.lost[k] || r.back[k]) && r.live(p)
}

// live says the pod is Ready and not being deleted.
func (r *Recovery) live(p *corev1.Pod) bool { return p.DeletionTimestamp == nil && podReady(p) }

func (s *State) eventForRecovery(at time.Time, e *corev1.Event) {
	if e.Reason != "TaintManagerEviction" || e.InvolvedObject.Kind != "Pod" {
		return
	}
	k := e.InvolvedObject.Namespace + "/" + e.InvolvedObject.Name
	for _, node := range s.openNodes() {
		if r := s.open[node]; r.lost[k] {
			r.add(StepEvicted, at, "")
		}
	}
}

func (s *State) maybeClose(r *Recovery) {
	podsBack := r.Has(StepPodsReady) || r.Lost == 0
	nodeBack := r.Has(StepNodeBack) || (r.drain && r.Has(StepUncordoned)) || (!r.Has(StepNotReady) && !r.drain)
	if podsBack && nodeBack && r.Cause != "crashNode" && r.Cause != "partitionNode" {
		r.Closed = true
	}
	if podsBack && r.Has(StepNodeBack) {
		r.Closed = true
	}
	if r.Closed && s.open[r.Node] == r {
		delete(s.open, r.Node)
	}
}

// RecoveredIn is the time from the failure to the pods Ready again.
func (r *Recovery) RecoveredIn() (time.Duration, bool) {
	t, ok := r.StepAt(StepPodsReady)
	if !ok {
		return 0, false
	}
	return t.Sub(r.Start), true
}
