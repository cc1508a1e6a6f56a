// Package fakeclock is a deterministic manual clock for tests and for the
// simulator's event loop: timers sit in a heap ordered by (time, sequence)
// and run only when the owner advances time.
package fakeclock

import (
	"container/heap"
	"time"

	"github.com/drydock-sim/drydock/core/clock"
)

// Clock is a manual clock. The zero value is not usable; use New.
type Clock struct {
	now time.Time
	seq uint64
	q   timerHeap
	// Fired counts timers run, for tests and traces.
	Fired uint64
}

// New returns a clock reading start.
func New(start time.Time) *Clock { return &Clock{now: start} }

var _ clock.Clock = (*Clock)(nil)

// Now is the clock's current time.
func (c *Clock) Now() time.Time { return c.now }

// AfterFunc schedules f at now+d (d <= 0: now, after already-due timers).
func (c *Clock) AfterFunc(d time.Duration, f func()) clock.Timer {
	if d < 0 {
		d = 0
	}
	c.seq++
	at := c.now.Add(d)
	t := &timer{at: at, key: at.UnixNano(), seq: c.seq, f: f, c: c, index: -1}
	heap.Push(&c.q, t)
	return t
}

// Len is the number of pending timers.
func (c *Clock) Len() int { return len(c.q) }

// Next is when the earliest pending timer fires.
func (c *Clock) Next() (time.Time, bool) {
	if len(c.q) == 0 {
		return time.Time{}, false
	}
	return c.q[0].at, true
}

// Step runs the earliest pending timer, moving time to it. It reports false
// when nothing is pending.
func (c *Clock) Step() bool {
	if len(c.q) == 0 {
		return false
	}
	t := heap.Pop(&c.q).(*timer)
	if t.at.After(c.now) {
		c.now = t.at
	}
	c.Fired++
	t.f()
	return true
}

// RunUntil runs every timer due at or before until, then sets the time to
// until. Timers scheduled meanwhile run too if they fall in the window.
func (c *Clock) RunUntil(until time.Time) {
	for len(c.q) > 0 && !c.q[0].at.After(until) {
		c.Step()
	}
	if until.After(c.now) {
		c.now = until
	}
}

// Advance runs everything due within d and moves time forward by d.
func (c *Clock) Advance(d time.Duration) { c.RunUntil(c.now.Add(d)) }

// Settle runs everything due now (zero-delay work) without moving time.
func (c *Clock) Settle() { c.RunUntil(c.now) }

type timer struct {
	at time.Time
	// key is at in nanoseconds since the epoch: the heap compares it instead
	// of time.Time, whose comparisons cost several times more and dominate
	// the simulator's queue work at millions of timers.
	key   int64
	seq   uint64
	f     func()
	c     *Clock
	index int
}

func (t *timer) Stop() bool {
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.c.q, t.index)
	return true
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if a.key != b.key {
		return a.key < b.key
	}
	return a.seq < b.seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
