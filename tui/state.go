// Package tui is drydock's terminal dashboard: a bubbletea Model that reads
// a feed.Source (the simulator or a live cluster) and shows the cluster map,
// the pending queue with the scheduler's reasons, pod details with the
// scheduling decision, node-failure recovery timelines, deployments and the
// event log. It never drives the core; all I/O is in commands.
package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/feed"
)

// Limits on what the state keeps.
const (
	maxEvents       = 5000 // event log entries
	maxPodEvents    = 30   // events kept per pod
	maxHistory      = 30   // status history entries per pod
	maxDecisions    = 5    // decisions kept per pod
	maxGonePods     = 2000 // deleted pods kept for their detail
	maxTimelineRows = 200  // recovery episodes kept
)

// LogEntry is one line of the event log.
type LogEntry struct {
	At     time.Time
	Type   string // Normal, Warning
	Reason string
	Object string // Kind/name
	Msg    string
	Count  int32
}

// HistEntry is one status change of a pod.
type HistEntry struct {
	At   time.Time
	Text string
}

// PodInfo is what the dashboard knows about one pod (live or deleted).
type PodInfo struct {
	Pod       *corev1.Pod
	Deleted   bool
	DeletedAt time.Time
	History   []HistEntry
	Events    []*LogEntry
	Decisions []feed.Decision // newest last
	Attempts  int
	lastSum   string
}

// State is the cluster as the feed told it, with indexes for the views.
type State struct {
	Status feed.Status
	Frames int

	Nodes       map[string]*corev1.Node
	nodeNames   []string            // sorted
	Pods        map[string]*PodInfo // key ns/name, live pods only
	gone        map[string]*PodInfo // deleted pods, by ns/name
	goneOrder   []string
	podsByNode  map[string]map[string]struct{}
	podsByOwner map[string]map[string]struct{} // controller owner UID -> pod keys
	Deployments map[string]*appsv1.Deployment
	ReplicaSets map[string]*appsv1.ReplicaSet
	Services    map[string]*corev1.Service
	Log         []*LogEntry // oldest first, capped
	eventSeen   map[string]*LogEntry
	Marks       []feed.Mark

	Recoveries []*Recovery
	open       map[string]*Recovery // node -> open episode
}

// NewState is an empty state.
func NewState() *State {
	s := &State{}
	s.reset()
	return s
}

func (s *State) reset() {
	s.Nodes = map[string]*corev1.Node{}
	s.nodeNames = nil
	s.Pods = map[string]*PodInfo{}
	s.gone = map[string]*PodInfo{}
	s.goneOrder = nil
	s.podsByNode = map[string]map[string]struct{}{}
	s.podsByOwner = map[string]map[string]struct{}{}
	s.Deployments = map[string]*appsv1.Deployment{}
	s.ReplicaSets = map[string]*appsv1.ReplicaSet{}
	s.Services = map[string]*corev1.Service{}
	s.Log = nil
	s.eventSeen = map[string]*LogEntry{}
	s.Marks = nil
	s.Recoveries = nil
	s.open = map[string]*Recovery{}
}

// Apply folds one batch in: changes in order, with each mark taken at its
// time among them, then decisions.
func (s *State) Apply(b feed.Batch) {
	if b.Reset {
		s.reset()
	}
	s.Frames++
	marks := b.Marks
	for _, c := range b.Changes {
		// A mark goes before the changes of its own instant: the action it
		// stands for caused them.
		for len(marks) > 0 && !c.At.Before(marks[0].At) {
			s.mark(marks[0])
			marks = marks[1:]
		}
		s.change(c)
	}
	for _, m := range marks {
		s.mark(m)
	}
	for _, d := range b.Decisions {
		s.decision(d)
	}
	s.Status = b.Status
}

func key(o metav1.Object) string {
	if o.GetNamespace() == "" {
		return o.GetName()
	}
	return o.GetNamespace() + "/" + o.GetName()
}

func (s *State) change(c feed.Change) {
	obj, ok := c.Object.(metav1.Object)
	if !ok {
		return
	}
	k := key(obj)
	del := c.Type == api.WatchDeleted
	switch o := c.Object.(type) {
	case *corev1.Node:
		old := s.Nodes[k]
		if del {
			delete(s.Nodes, k)
			s.nodeNames = removeSorted(s.nodeNames, k)
		} else {
			if old == nil {
				s.nodeNames = insertSorted(s.nodeNames, k)
			}
			s.Nodes[k] = o
		}
		s.nodeChanged(c.At, old, o, del)
	case *corev1.Pod:
		s.podChange(c.At, k, o, del)
	case *appsv1.Deployment:
		if del {
			delete(s.Deployments, k)
		} else {
			s.Deployments[k] = o
		}
	case *appsv1.ReplicaSet:
		if del {
			delete(s.ReplicaSets, k)
		} else {
			s.ReplicaSets[k] = o
		}
	case *corev1.Service:
		if del {
			delete(s.Services, k)
		} else {
			s.Services[k] = o
		}
	case *corev1.Event:
		if !del {
			s.event(c.At, k, o)
		}
	}
}

// naturalLess orders names with their numbers by value: node-2 < node-10.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			if da != db {
				return da < db
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

func searchNatural(xs []string, x string) int {
	return sort.Search(len(xs), func(i int) bool { return !naturalLess(xs[i], x) })
}

func insertSorted(xs []string, x string) []string {
	i := searchNatural(xs, x)
	if i < len(xs) && xs[i] == x {
		return xs
	}
	xs = append(xs, "")
	copy(xs[i+1:], xs[i:])
	xs[i] = x
	return xs
}

func removeSorted(xs []string, x string) []string {
	i := searchNatural(xs, x)
	if i < len(xs) && xs[i] == x {
		return append(xs[:i], xs[i+1:]...)
	}
	return xs
}

func addIndex(m map[string]map[string]struct{}, k, v string) {
	if k == "" {
		return
	}
	set := m[k]
	if set == nil {
		set = map[string]struct{}{}
		m[k] = set
	}
	set[v] = struct{}{}
}

func delIndex(m map[string]map[string]struct{}, k, v string) {
	if set := m[k]; set != nil {
		delete(set, v)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

func ownerUID(p *corev1.Pod) string {
	if ref := metav1.GetControllerOf(p); ref != nil {
		return string(ref.UID)
	}
	return ""
}

func (s *State) podChange(at time.Time, k string, p *corev1.Pod, del bool) {
	info := s.Pods[k]
	var old *corev1.Pod
	if info != nil {
		old = info.Pod
		if old.UID != p.UID { // a new pod under the same name
			s.forget(k, info, at)
			info, old = nil, nil
		}
	}
	if info == nil {
		info = &PodInfo{}
		if g := s.gone[k]; g != nil && g.Pod.UID == p.UID {
			info = g
			delete(s.gone, k)
		}
		s.Pods[k] = info
	}
	if old != nil {
		delIndex(s.podsByNode, old.Spec.NodeName, k)
		delIndex(s.podsByOwner, ownerUID(old), k)
	}
	info.Pod = p
	sum := PodStatusText(p)
	if del {
		sum = "Deleted"
	}
	if sum != info.lastSum {
		info.lastSum = sum
		info.History = appendCapped(info.History, HistEntry{At: at, Text: historyText(p, sum)}, maxHistory)
	}
	if del {
		s.forget(k, info, at)
	} else {
		addIndex(s.podsByNode, p.Spec.NodeName, k)
		addIndex(s.podsByOwner, ownerUID(p), k)
	}
	s.podChanged(at, old, p, del)
}

// forget moves a pod to the deleted set.
func (s *State) forget(k string, info *PodInfo, at time.Time) {
	delete(s.Pods, k)
	delIndex(s.podsByNode, info.Pod.Spec.NodeName, k)
	delIndex(s.podsByOwner, ownerUID(info.Pod), k)
	info.Deleted, info.DeletedAt = true, at
	if _, ok := s.gone[k]; !ok {
		s.goneOrder = append(s.goneOrder, k)
	}
	s.gone[k] = info
	for len(s.goneOrder) > maxGonePods {
		delete(s.gone, s.goneOrder[0])
		s.goneOrder = s.goneOrder[1:]
	}
}

func historyText(p *corev1.Pod, sum string) string {
	t := sum
	if p.Spec.NodeName != "" {
		t += " on " + p.Spec.NodeName
	}
	r, n := readyCount(p)
	return fmt.Sprintf("%s (%d/%d ready)", t, r, n)
}

func appendCapped[T any](xs []T, x T, n int) []T {
	xs = append(xs, x)
	if len(xs) > n {
		xs = xs[len(xs)-n:]
	}
	return xs
}

// Pod returns a live or recently deleted pod by ns/name.
func (s *State) Pod(k string) *PodInfo {
	if p := s.Pods[k]; p != nil {
		return p
	}
	return s.gone[k]
}

func (s *State) event(at time.Time, k string, e *corev1.Event) {
	obj := e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name
	ts := at
	if le := s.eventSeen[k]; le != nil && le.Count == e.Count {
		return
	}
	le := &LogEntry{At: ts, Type: e.Type, Reason: e.Reason, Object: obj, Msg: e.Message, Count: e.Count}
	s.eventSeen[k] = le
	s.Log = appendCapped(s.Log, le, maxEvents)
	if len(s.eventSeen) > 2*maxEvents {
		s.eventSeen = map[string]*LogEntry{}
	}
	if e.InvolvedObject.Kind == "Pod" {
		pk := e.InvolvedObject.Namespace + "/" + e.InvolvedObject.Name
		if info := s.Pod(pk); info != nil && (e.InvolvedObject.UID == "" || info.Pod.UID == e.InvolvedObject.UID) {
			info.Events = appendCapped(info.Events, le, maxPodEvents)
		}
	}
	s.eventSeen[k] = le
	s.eventForRecovery(at, e)
}

func (s *State) decision(d feed.Decision) {
	if d.Pod == nil {
		return
	}
	info := s.Pod(key(d.Pod))
	if info == nil || info.Pod.UID != d.Pod.UID {
		return
	}
	info.Attempts = d.Attempts
	info.Decisions = appendCapped(info.Decisions, d, maxDecisions)
}

func (s *State) mark(m feed.Mark) {
	s.Marks = append(s.Marks, m)
	s.markForRecovery(m)
}

// NodeNames is every node name, in natural order (node-2 before node-10).
func (s *State) NodeNames() []string { return s.nodeNames }

// PodsOn lists the pods bound to node, sorted by key.
func (s *State) PodsOn(node string) []*corev1.Pod {
	set := s.podsByNode[node]
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return naturalLess(keys[i], keys[j]) })
	out := make([]*corev1.Pod, len(keys))
	for i, k := range keys {
		out[i] = s.Pods[k].Pod
	}
	return out
}

// PodKeys lists every live pod key, sorted.
func (s *State) PodKeys() []string {
	keys := make([]string, 0, len(s.Pods))
	for k := range s.Pods {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Pending lists the pods not bound to a node yet, oldest first.
func (s *State) Pending() []*PodInfo {
	var out []*PodInfo
	for _, info := range s.Pods {
		p := info.Pod
		if p.Spec.NodeName == "" && p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, info)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Pod, out[j].Pod
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return key(a) < key(b)
	})
	return out
}

// PendingReason is why a pod waits: the scheduler's PodScheduled=False
// message, else its last failed attempt's message.
func PendingReason(info *PodInfo) string {
	for _, c := range info.Pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message != "" {
			return c.Message
		}
	}
	if n := len(info.Decisions); n > 0 && info.Decisions[n-1].Message != "" {
		return info.Decisions[n-1].Message
	}
	if info.Pod.Status.NominatedNodeName != "" {
		return "nominated for " + info.Pod.Status.NominatedNodeName
	}
	return "waiting for the scheduler"
}

// Counts are the header's totals.
type Counts struct {
	Nodes, NodesReady, Cordoned                int
	Pods, Running, Ready, Pending, Terminating int
	Deployments                                int
}

// Count totals the cluster.
func (s *State) Count() Counts {
	c := Counts{Nodes: len(s.Nodes), Deployments: len(s.Deployments), Pods: len(s.Pods)}
	for _, n := range s.Nodes {
		if NodeReady(n) == corev1.ConditionTrue {
			c.NodesReady++
		}
		if n.Spec.Unschedulable {
			c.Cordoned++
		}
	}
	for _, info := range s.Pods {
		p := info.Pod
		switch {
		case p.DeletionTimestamp != nil:
			c.Terminating++
		case p.Status.Phase == corev1.PodRunning:
			c.Running++
			if podReady(p) {
				c.Ready++
			}
		case p.Status.Phase == corev1.PodPending || p.Status.Phase == "":
			c.Pending++
		}
	}
	return c
}

// NodeReady is the node's Ready condition status (Unknown when absent).
func NodeReady(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

// NodeStatusText is kubectl's STATUS column: Ready or NotReady, with
// ",SchedulingDisabled" shortened to ",Cordoned".
func NodeStatusText(n *corev1.Node) string {
	st := "NotReady"
	if NodeReady(n) == corev1.ConditionTrue {
		st = "Ready"
	}
	if n.Spec.Unschedulable {
		st += ",Cordoned"
	}
	return st
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func readyCount(p *corev1.Pod) (ready, total int) {
	total = len(p.Spec.Containers)
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Ready {
			ready++
		}
	}
	return
}

// PodStatusText is kubectl's STATUS column in short: Terminating, a
// container's waiting or terminated reason, else the phase.
func PodStatusText(p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "Terminating"
	}
	reason := string(p.Status.Phase)
	if p.Status.Reason != "" {
		reason = p.Status.Reason
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Waiting != nil && cs.State.Waiting.Reason != "" {
			reason = cs.State.Waiting.Reason
		} else if cs.State.Terminated != nil && cs.State.Terminated.Reason != "" && p.Status.Phase != corev1.PodRunning {
			reason = cs.State.Terminated.Reason
		}
	}
	if reason == "" {
		reason = "Pending"
	}
	if reason == string(corev1.PodRunning) && !podReady(p) {
		return "Running,NotReady"
	}
	return reason
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	return n
}

// podRequests is what the scheduler counts for a pod: the larger of the sum
// of its containers' requests and its largest init container's, plus
// overhead.
func podRequests(p *corev1.Pod) (cpu, mem int64) {
	for _, c := range p.Spec.Containers {
		cpu += c.Resources.Requests.Cpu().MilliValue()
		mem += c.Resources.Requests.Memory().Value()
	}
	for _, c := range p.Spec.InitContainers {
		cpu = max(cpu, c.Resources.Requests.Cpu().MilliValue())
		mem = max(mem, c.Resources.Requests.Memory().Value())
	}
	if p.Spec.Overhead != nil {
		cpu += p.Spec.Overhead.Cpu().MilliValue()
		mem += p.Spec.Overhead.Memory().Value()
	}
	return
}

// NodeUsage is requested versus allocatable on a node.
type NodeUsage struct {
	CPUReq, CPUAlloc int64 // millicores
	MemReq, MemAlloc int64 // bytes
	Pods             []*corev1.Pod
}

// Usage sums the requests of the node's non-terminal pods and lists them.
func (s *State) Usage(n *corev1.Node) NodeUsage {
	u := s.usage(n)
	u.Pods = s.PodsOn(n.Name)
	return u
}

// usage sums the requests without listing the pods (the grid needs no list).
func (s *State) usage(n *corev1.Node) NodeUsage {
	var u NodeUsage
	alloc := n.Status.Allocatable
	if alloc == nil {
		alloc = n.Status.Capacity
	}
	u.CPUAlloc = qty(alloc, corev1.ResourceCPU, true)
	u.MemAlloc = qty(alloc, corev1.ResourceMemory, false)
	for k := range s.podsByNode[n.Name] {
		p := s.Pods[k].Pod
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		c, m := podRequests(p)
		u.CPUReq += c
		u.MemReq += m
	}
	return u
}

func qty(l corev1.ResourceList, name corev1.ResourceName, milli bool) int64 {
	q, ok := l[name]
	if !ok {
		return 0
	}
	if milli {
		return q.MilliValue()
	}
	return q.Value()
}

func fmtCPU(m int64) string {
	return resource.NewMilliQuantity(m, resource.DecimalSI).String()
}

func fmtMem(b int64) string {
	return resource.NewQuantity(b, resource.BinarySI).String()
}

// TaintText is key[=value]:Effect.
func TaintText(t corev1.Taint) string {
	s := t.Key
	if t.Value != "" {
		s += "=" + t.Value
	}
	return s + ":" + string(t.Effect)
}

// shortTaint abbreviates the well-known taints for the map.
func shortTaint(t corev1.Taint) string {
	k := strings.TrimPrefix(t.Key, "node.kubernetes.io/")
	switch k {
	case "unreachable":
		k = "unreach"
	case "unschedulable":
		k = "unsched"
	}
	return k
}
