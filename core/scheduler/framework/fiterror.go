package framework

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// NodeStatus is why one node was rejected and by which plugin.
type NodeStatus struct {
	Node   string
	Plugin string
	Status *Status
	// info is the node's NodeInfo when known, sparing lookups by name.
	info *NodeInfo
}

// Info is the rejected node's NodeInfo (read-only), nil if not recorded.
func (n *NodeStatus) Info() *NodeInfo { return n.info }

// NodeToStatus records the rejected nodes of one attempt. It is a list, not
// a map: filtering appends in evaluation order at no hashing cost, and only
// preemption, which is rare, builds an index.
type NodeToStatus struct {
	// Rejected are the nodes filtering rejected, in evaluation order.
	Rejected []NodeStatus
	// Absent is the status of every node not in Rejected, set when a
	// PreFilter plugin excluded nodes or rejected the pod outright.
	Absent       *Status
	AbsentPlugin string
	index        map[string]int
}

// Reset empties the record, keeping its memory.
func (m *NodeToStatus) Reset() {
	clear(m.Rejected)
	m.Rejected = m.Rejected[:0]
	m.Absent, m.AbsentPlugin, m.index = nil, "", nil
}

// Add records a rejection.
func (m *NodeToStatus) Add(node, plugin string, s *Status) {
	m.Rejected = append(m.Rejected, NodeStatus{Node: node, Plugin: plugin, Status: s})
	if m.index != nil {
		m.index[node] = len(m.Rejected) - 1
	}
}

// AddInfo records a rejection of a listed node.
func (m *NodeToStatus) AddInfo(ni *NodeInfo, plugin string, s *Status) {
	m.Rejected = append(m.Rejected, NodeStatus{Node: ni.Name, Plugin: plugin, Status: s, info: ni})
	if m.index != nil {
		m.index[ni.Name] = len(m.Rejected) - 1
	}
}

// Get is the status of node: its rejection, else Absent (nil = not rejected).
func (m *NodeToStatus) Get(node string) *Status {
	if m.index == nil {
		m.index = make(map[string]int, len(m.Rejected))
		for i, r := range m.Rejected {
			m.index[r.Node] = i
		}
	}
	if i, ok := m.index[node]; ok {
		return m.Rejected[i].Status
	}
	return m.Absent
}

// ReasonHistogram formats "0/N nodes are available: <reasons>." in the
// Kubernetes way: each reason counted over nodes, rendered "<count>
// <reason>", sorted as strings, joined by ", ".
func (m *NodeToStatus) ReasonHistogram(numAllNodes int) string {
	// Plugins share status values for common rejections, so count by
	// status first (runs of one pointer are common) and by reason after.
	byStatus := map[*Status]int{}
	var run *Status
	runLen := 0
	for _, r := range m.Rejected {
		if r.Status == run {
			runLen++
			continue
		}
		if runLen > 0 {
			byStatus[run] += runLen
		}
		run, runLen = r.Status, 1
	}
	if runLen > 0 {
		byStatus[run] += runLen
	}
	counts := map[string]int{}
	for s, n := range byStatus {
		for _, reason := range s.Reasons() {
			counts[reason] += n
		}
	}
	if absent := numAllNodes - len(m.Rejected); absent > 0 && m.Absent != nil {
		for _, reason := range m.Absent.Reasons() {
			counts[reason] += absent
		}
	}
	parts := make([]string, 0, len(counts))
	for reason, n := range counts {
		parts = append(parts, strconv.Itoa(n)+" "+reason)
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// Diagnosis explains why a pod fits no node.
type Diagnosis struct {
	NodeToStatus NodeToStatus
	// UnschedulablePlugins rejected the pod somewhere (sorted); the queue
	// requeues the pod on events these plugins care about.
	UnschedulablePlugins []string
	// PreFilterMsg is set when a PreFilter plugin rejected the pod outright.
	PreFilterMsg string
	// PostFilterMsg is the preemption outcome when it did not help.
	PostFilterMsg string
}

// Reset empties the diagnosis, keeping its memory.
func (d *Diagnosis) Reset() {
	d.NodeToStatus.Reset()
	d.UnschedulablePlugins = d.UnschedulablePlugins[:0]
	d.PreFilterMsg, d.PostFilterMsg = "", ""
}

// AddPlugin notes a rejecting plugin.
func (d *Diagnosis) AddPlugin(name string) {
	if name == "" {
		return
	}
	i, found := slices.BinarySearch(d.UnschedulablePlugins, name)
	if !found {
		d.UnschedulablePlugins = slices.Insert(d.UnschedulablePlugins, i, name)
	}
}

// FitError is the "does not fit anywhere" outcome.
type FitError struct {
	Pod         *corev1.Pod
	NumAllNodes int
	Diagnosis   *Diagnosis
}

// Error renders the message kube-scheduler puts in FailedScheduling events:
// "0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2
// Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption
// victims found for incoming pod.." (the doubled period is Kubernetes').
func (e *FitError) Error() string {
	var b strings.Builder
	b.WriteString("0/")
	b.WriteString(strconv.Itoa(e.NumAllNodes))
	b.WriteString(" nodes are available: ")
	if e.Diagnosis.PreFilterMsg != "" {
		b.WriteString(e.Diagnosis.PreFilterMsg)
	} else {
		b.WriteString(e.Diagnosis.NodeToStatus.ReasonHistogram(e.NumAllNodes))
	}
	b.WriteString(".")
	if e.Diagnosis.PostFilterMsg != "" {
		b.WriteString(" ")
		b.WriteString(e.Diagnosis.PostFilterMsg)
		b.WriteString(".")
	}
	return b.String()
}
