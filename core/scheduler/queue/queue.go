// Package queue is the scheduling queue, shaped like kube-scheduler's
// PriorityQueue: an active heap ordered by priority then enqueue time, a
// backoff heap ordered by backoff expiry, and a set of unschedulable pods
// that cluster events (or a 5-minute timeout) move back. Time and timers
// come from the clock port; one timer at the earliest due moment replaces
// kube-scheduler's periodic flush goroutines.
package queue

import (
	"cmp"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// Kubernetes' defaults.
const (
	DefaultInitialBackoff     = 1 * time.Second
	DefaultMaxBackoff         = 10 * time.Second
	DefaultMaxInUnschedulable = 5 * time.Minute
)

type location uint8

const (
	nowhere location = iota
	inActive
	inBackoff
	inUnschedulable
)

// QueuedPodInfo is a pod waiting in (or popped from) the queue.
type QueuedPodInfo struct {
	*framework.PodInfo
	// Timestamp is when the pod last entered the queue (or was last marked
	// unschedulable); it orders equal priorities and anchors backoff.
	Timestamp time.Time
	// InitialAttemptTimestamp is when the pod was first popped.
	InitialAttemptTimestamp time.Time
	// Attempts counts scheduling attempts (pops).
	Attempts int
	// UnschedulablePlugins rejected the pod in its last attempt.
	UnschedulablePlugins []string

	seq           uint64
	index         int
	where         location
	backoffExpiry time.Time
}

// Config configures a Queue.
type Config struct {
	Clock clock.Clock
	// Wake, if set, is called when pods become active from a timer, so the
	// driver knows to run scheduling cycles.
	Wake func()
	// Interested reports whether an event may help a pod rejected by plugins.
	Interested func(plugins []string, ev framework.ClusterEvent) bool
	// AnyInterested lets the queue skip events no plugin cares about.
	AnyInterested func(ev framework.ClusterEvent) bool

	InitialBackoff     time.Duration
	MaxBackoff         time.Duration
	MaxInUnschedulable time.Duration
}

// Queue holds the pods waiting to be scheduled.
type Queue struct {
	cfg     Config
	active  podHeap
	backoff podHeap
	unsched podHeap // ordered by Timestamp, for the leftover timeout
	byUID   map[types.UID]*QueuedPodInfo
	seq     uint64
	// rejectedBy counts unschedulable pods per rejecting plugin, so events
	// no waiting pod cares about skip the scan of the unschedulable set.
	rejectedBy map[string]int

	schedulingCycle  int64
	moveRequestCycle int64

	timer   clock.Timer
	timerAt time.Time
}

// New returns an empty queue.
func New(cfg Config) *Queue {
	if cfg.InitialBackoff <= 0 {
		cfg.InitialBackoff = DefaultInitialBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxInUnschedulable <= 0 {
		cfg.MaxInUnschedulable = DefaultMaxInUnschedulable
	}
	if cfg.Interested == nil {
		cfg.Interested = func([]string, framework.ClusterEvent) bool { return true }
	}
	if cfg.AnyInterested == nil {
		cfg.AnyInterested = func(framework.ClusterEvent) bool { return true }
	}
	q := &Queue{cfg: cfg, byUID: map[types.UID]*QueuedPodInfo{}, rejectedBy: map[string]int{}, moveRequestCycle: -1}
	q.active.less = func(a, b *QueuedPodInfo) bool {
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		if !a.Timestamp.Equal(b.Timestamp) {
			return a.Timestamp.Before(b.Timestamp)
		}
		return a.seq < b.seq
	}
	q.backoff.less = func(a, b *QueuedPodInfo) bool {
		if !a.backoffExpiry.Equal(b.backoffExpiry) {
			return a.backoffExpiry.Before(b.backoffExpiry)
		}
		return a.seq < b.seq
	}
	q.unsched.less = func(a, b *QueuedPodInfo) bool {
		if !a.Timestamp.Equal(b.Timestamp) {
			return a.Timestamp.Before(b.Timestamp)
		}
		return a.seq < b.seq
	}
	return q
}

// Len reports the sizes of the three sub-queues.
func (q *Queue) Len() (active, backoff, unschedulable int) {
	return q.active.Len(), q.backoff.Len(), q.unsched.Len()
}

// Pending is the number of queued pods.
func (q *Queue) Pending() int { return len(q.byUID) }

// Has reports whether the pod is queued.
func (q *Queue) Has(uid types.UID) bool { return q.byUID[uid] != nil }

// SchedulingCycle counts pops.
func (q *Queue) SchedulingCycle() int64 { return q.schedulingCycle }

func (q *Queue) toActive(p *QueuedPodInfo) {
	q.seq++
	p.seq = q.seq
	p.where = inActive
	q.active.push(p)
	q.byUID[p.Pod.UID] = p
}

func (q *Queue) toBackoff(p *QueuedPodInfo) {
	q.seq++
	p.seq = q.seq
	p.where = inBackoff
	p.backoffExpiry = p.Timestamp.Add(q.backoffDuration(p))
	q.backoff.push(p)
	q.byUID[p.Pod.UID] = p
}

func (q *Queue) toUnschedulable(p *QueuedPodInfo) {
	q.seq++
	p.seq = q.seq
	p.where = inUnschedulable
	q.unsched.push(p)
	q.byUID[p.Pod.UID] = p
	for _, pl := range p.UnschedulablePlugins {
		q.rejectedBy[pl]++
	}
}

// detach removes p from whichever heap holds it.
func (q *Queue) detach(p *QueuedPodInfo) {
	switch p.where {
	case inActive:
		q.active.remove(p.index)
	case inBackoff:
		q.backoff.remove(p.index)
	case inUnschedulable:
		q.unsched.remove(p.index)
		for _, pl := range p.UnschedulablePlugins {
			if q.rejectedBy[pl]--; q.rejectedBy[pl] == 0 {
				delete(q.rejectedBy, pl)
			}
		}
	}
	p.where = nowhere
	delete(q.byUID, p.Pod.UID)
}

// backoffDuration doubles from the initial backoff per attempt, capped.
func (q *Queue) backoffDuration(p *QueuedPodInfo) time.Duration {
	d := q.cfg.InitialBackoff
	for i := 1; i < p.Attempts; i++ {
		if d > q.cfg.MaxBackoff-d {
			return q.cfg.MaxBackoff
		}
		d += d
	}
	return min(d, q.cfg.MaxBackoff)
}

func (q *Queue) backingOff(p *QueuedPodInfo, now time.Time) bool {
	return p.Timestamp.Add(q.backoffDuration(p)).After(now)
}

// Add queues a new pending pod as active.
func (q *Queue) Add(pi *framework.PodInfo) {
	if old := q.byUID[pi.Pod.UID]; old != nil {
		q.Update(pi)
		return
	}
	now := q.cfg.Clock.Now()
	q.toActive(&QueuedPodInfo{PodInfo: pi, Timestamp: now, index: -1})
}

// Update replaces a queued pod's object. An unschedulable pod whose spec or
// metadata changed (not just its status) may fit now, so it is moved to the
// backoff or active queue, as in Kubernetes. A pod not queued is added.
func (q *Queue) Update(pi *framework.PodInfo) {
	p := q.byUID[pi.Pod.UID]
	if p == nil {
		q.Add(pi)
		return
	}
	old := p.Pod
	p.PodInfo = pi
	switch p.where {
	case inActive:
		q.active.fix(p.index)
	case inBackoff:
		q.backoff.fix(p.index)
	case inUnschedulable:
		if !specChanged(old, pi.Pod) {
			return
		}
		q.detach(p)
		if q.backingOff(p, q.cfg.Clock.Now()) {
			q.toBackoff(p)
		} else {
			q.toActive(p)
		}
		q.armTimer()
	}
}

// specChanged reports an update beyond status and bookkeeping metadata.
func specChanged(o, n *corev1.Pod) bool {
	return !equality.Semantic.DeepEqual(o.Spec, n.Spec) ||
		!equality.Semantic.DeepEqual(o.Labels, n.Labels) ||
		!equality.Semantic.DeepEqual(o.Annotations, n.Annotations) ||
		!equality.Semantic.DeepEqual(o.OwnerReferences, n.OwnerReferences) ||
		!equality.Semantic.DeepEqual(o.Finalizers, n.Finalizers)
}

// Delete removes a queued pod; it reports whether it was queued.
func (q *Queue) Delete(uid types.UID) bool {
	p := q.byUID[uid]
	if p == nil {
		return false
	}
	q.detach(p)
	q.armTimer()
	return true
}

// Pop returns the highest-priority active pod, or nil when none is ready.
// Pods whose backoff has expired are moved to the active heap first.
func (q *Queue) Pop() *QueuedPodInfo {
	q.flush(q.cfg.Clock.Now())
	p := q.active.pop()
	if p == nil {
		return nil
	}
	p.where = nowhere
	delete(q.byUID, p.Pod.UID)
	p.Attempts++
	if p.Attempts == 1 {
		p.InitialAttemptTimestamp = q.cfg.Clock.Now()
	}
	q.schedulingCycle++
	return p
}

// AddUnschedulableIfNotPresent requeues a pod after a failed attempt that
// started at podSchedulingCycle. It goes to the backoff heap when an event
// arrived since the attempt started (it may fit now) or when no plugin
// rejected it (an error); otherwise it waits as unschedulable.
func (q *Queue) AddUnschedulableIfNotPresent(p *QueuedPodInfo, podSchedulingCycle int64) {
	if q.byUID[p.Pod.UID] != nil {
		return
	}
	p.Timestamp = q.cfg.Clock.Now()
	if q.moveRequestCycle >= podSchedulingCycle || len(p.UnschedulablePlugins) == 0 {
		q.toBackoff(p)
	} else {
		q.toUnschedulable(p)
	}
	q.armTimer()
}

// MoveAllToActiveOrBackoff moves the unschedulable pods that ev may help to
// the active heap, or to the backoff heap if still backing off.
func (q *Queue) MoveAllToActiveOrBackoff(ev framework.ClusterEvent) {
	q.moveRequestCycle = q.schedulingCycle
	if q.unsched.Len() == 0 || !q.cfg.AnyInterested(ev) || !q.anyWaitingInterested(ev) {
		return
	}
	var move []*QueuedPodInfo
	for _, p := range q.unsched.items {
		if q.cfg.Interested(p.UnschedulablePlugins, ev) {
			move = append(move, p)
		}
	}
	q.move(move)
}

// anyWaitingInterested reports whether a plugin that rejected some
// unschedulable pod cares about ev. The answer does not depend on the map's
// iteration order.
func (q *Queue) anyWaitingInterested(ev framework.ClusterEvent) bool {
	for pl := range q.rejectedBy {
		if q.cfg.Interested([]string{pl}, ev) {
			return true
		}
	}
	return false
}

// move takes pods out of the unschedulable set, in a deterministic order.
func (q *Queue) move(ps []*QueuedPodInfo) {
	if len(ps) == 0 {
		return
	}
	// Heap order is deterministic but arbitrary; sort by arrival in the
	// unschedulable set so that activation sequence numbers follow it.
	slices.SortFunc(ps, func(a, b *QueuedPodInfo) int { return cmp.Compare(a.seq, b.seq) })
	now := q.cfg.Clock.Now()
	for _, p := range ps {
		q.detach(p)
		if q.backingOff(p, now) {
			q.toBackoff(p)
		} else {
			q.toActive(p)
		}
	}
	q.armTimer()
}

// flush moves pods whose backoff ended to active, and pods unschedulable
// for longer than MaxInUnschedulable back to active or backoff.
func (q *Queue) flush(now time.Time) {
	for p := q.backoff.peek(); p != nil && !p.backoffExpiry.After(now); p = q.backoff.peek() {
		q.detach(p)
		q.toActive(p)
	}
	// The heap head is the oldest; scan only when it is due.
	if p := q.unsched.peek(); p == nil || p.Timestamp.Add(q.cfg.MaxInUnschedulable).After(now) {
		return
	}
	var leftover []*QueuedPodInfo
	for _, p := range q.unsched.items {
		if !p.Timestamp.Add(q.cfg.MaxInUnschedulable).After(now) {
			leftover = append(leftover, p)
		}
	}
	q.move(leftover)
}

// armTimer keeps one timer pending for the earliest moment a pod becomes
// due (backoff end or unschedulable timeout).
func (q *Queue) armTimer() {
	var next time.Time
	if p := q.backoff.peek(); p != nil {
		next = p.backoffExpiry
	}
	if p := q.unsched.peek(); p != nil {
		if t := p.Timestamp.Add(q.cfg.MaxInUnschedulable); next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if next.IsZero() {
		if q.timer != nil {
			q.timer.Stop()
			q.timer = nil
		}
		return
	}
	if q.timer != nil {
		if !q.timerAt.After(next) {
			return // fires no later than needed; it re-arms then
		}
		q.timer.Stop()
	}
	q.timerAt = next
	q.timer = q.cfg.Clock.AfterFunc(next.Sub(q.cfg.Clock.Now()), q.onTimer)
}

func (q *Queue) onTimer() {
	q.timer = nil
	before := q.active.Len()
	q.flush(q.cfg.Clock.Now())
	q.armTimer()
	if q.active.Len() > before && q.cfg.Wake != nil {
		q.cfg.Wake()
	}
}
