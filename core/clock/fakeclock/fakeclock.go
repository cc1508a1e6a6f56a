// Package fakeclock is a deterministic manual clock for tests and for the
// simulator's event loop: timers run in (time, sequence) order, and only when
// the owner advances time.
//
// Timers due later sit in a 4-ary min-heap of (nanoseconds, sequence) keys
// held by value, so that comparisons never dereference a timer. Timers due
// at once (a non-positive delay: every work queue that gets work schedules
// one) go to a FIFO instead: such a timer's key is the current time and its
// sequence is the newest, so the FIFO is already in (time, sequence) order,
// and the next timer to run is the smaller of the FIFO's head and the
// heap's top. The order is exactly that of a single heap.
package fakeclock

import (
	"time"

	"github.com/drydock-sim/drydock/core/clock"
)

// Clock is a manual clock. The zero value is not usable; use New.
type Clock struct {
	now time.Time
	seq uint64
	q   []entry // 4-ary min-heap by (key, seq)
	// fifo[head:] are the pending zero-delay timers in sequence order,
	// including stopped ones (stopped counts them) until they reach the head.
	fifo    []*timer
	head    int
	stopped int
	// free are fired timers made by Schedule (nobody holds them), for reuse.
	free []*timer
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
	return c.add(new(timer), d, f)
}

var _ clock.Rearmer = (*Clock)(nil)

// Rearm implements clock.Rearmer: a fired or stopped timer of this clock
// (not one of Schedule's, which the clock reuses itself) is armed again,
// with a new sequence number, exactly as a new AfterFunc would be.
func (c *Clock) Rearm(t clock.Timer, d time.Duration, f func()) clock.Timer {
	if ft, ok := t.(*timer); ok && ft.c == c && ft.index == done && !ft.pooled {
		return c.add(ft, d, f)
	}
	return c.AfterFunc(d, f)
}

var _ clock.Scheduler = (*Clock)(nil)

// Schedule is AfterFunc without a Timer to stop it: the clock reuses the
// record once it has fired. The order is the same as AfterFunc's.
func (c *Clock) Schedule(d time.Duration, f func()) {
	var t *timer
	if n := len(c.free); n > 0 {
		t = c.free[n-1]
		c.free = c.free[:n-1]
	} else {
		t = new(timer)
	}
	c.add(t, d, f).pooled = true
}

func (c *Clock) add(t *timer, d time.Duration, f func()) *timer {
	c.seq++
	if d <= 0 {
		*t = timer{key: c.now.UnixNano(), seq: c.seq, f: f, c: c, index: inFIFO}
		c.fifo = append(c.fifo, t)
		return t
	}
	*t = timer{key: c.now.Add(d).UnixNano(), seq: c.seq, f: f, c: c}
	c.push(t)
	return t
}

// Len is the number of pending timers.
func (c *Clock) Len() int { return len(c.q) + len(c.fifo) - c.head - c.stopped }

// Next is when the earliest pending timer fires.
func (c *Clock) Next() (time.Time, bool) {
	c.dropStopped()
	fifo := c.head < len(c.fifo)
	switch {
	case fifo && (len(c.q) == 0 || c.fifoFirst()):
		return c.timeAt(c.fifo[c.head].key), true
	case len(c.q) > 0:
		return c.timeAt(c.q[0].key), true
	}
	return time.Time{}, false
}

// Step runs the earliest pending timer, moving time to it. It reports false
// when nothing is pending.
func (c *Clock) Step() bool {
	c.dropStopped()
	var t *timer
	switch {
	case c.head < len(c.fifo) && (len(c.q) == 0 || c.fifoFirst()):
		t = c.fifo[c.head]
		c.fifo[c.head] = nil
		c.head++
		if c.head == len(c.fifo) {
			c.fifo, c.head = c.fifo[:0], 0
		}
	case len(c.q) > 0:
		t = c.pop()
	default:
		return false
	}
	t.index = done
	if t.key > c.now.UnixNano() {
		c.now = c.timeAt(t.key)
	}
	c.Fired++
	f := t.f
	t.f = nil
	if t.pooled {
		c.free = append(c.free, t)
	}
	f()
	return true
}

// RunUntil runs every timer due at or before until, then sets the time to
// until. Timers scheduled meanwhile run too if they fall in the window.
func (c *Clock) RunUntil(until time.Time) {
	for {
		next, ok := c.Next()
		if !ok || next.After(until) {
			break
		}
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

// timeAt is the time key (nanoseconds since the epoch) denotes, built from
// the current time so that it carries the clock's location. Timers keep
// only the key: a time.Time would make every timer a size class larger,
// and the simulator makes millions of them.
func (c *Clock) timeAt(key int64) time.Time {
	return c.now.Add(time.Duration(key - c.now.UnixNano()))
}

// fifoFirst reports whether the FIFO's head runs before the heap's top
// (both non-empty, the head not stopped).
func (c *Clock) fifoFirst() bool {
	f, h := c.fifo[c.head], &c.q[0]
	return f.key < h.key || (f.key == h.key && f.seq < h.seq)
}

// dropStopped removes stopped timers from the FIFO's head.
func (c *Clock) dropStopped() {
	for c.stopped > 0 && c.head < len(c.fifo) && c.fifo[c.head].index == stoppedInFIFO {
		c.fifo[c.head] = nil
		c.head++
		c.stopped--
	}
	if c.head == len(c.fifo) {
		c.fifo, c.head = c.fifo[:0], 0
	}
}

// Special values of timer.index; non-negative values are heap positions.
const (
	done          = -1 // fired or stopped
	inFIFO        = -2
	stoppedInFIFO = -3
)

type timer struct {
	key   int64 // when it fires, in nanoseconds since the epoch
	seq   uint64
	f     func()
	c     *Clock
	index int
	// pooled: made by Schedule, so no handle exists and the record is
	// reused once fired.
	pooled bool
}

func (t *timer) Stop() bool {
	switch {
	case t.index >= 0:
		t.c.remove(t.index)
		t.index = done
	case t.index == inFIFO:
		t.index = stoppedInFIFO // dropped when it reaches the FIFO's head
		t.c.stopped++
	default:
		return false
	}
	t.f = nil
	return true
}

// entry is a heap slot: the timer's ordering key by value.
type entry struct {
	key int64
	seq uint64
	t   *timer
}

func (a *entry) less(b *entry) bool {
	return a.key < b.key || (a.key == b.key && a.seq < b.seq)
}

func (c *Clock) push(t *timer) {
	c.q = append(c.q, entry{key: t.key, seq: t.seq, t: t})
	c.up(len(c.q) - 1)
}

func (c *Clock) pop() *timer {
	t := c.q[0].t
	c.remove(0)
	return t
}

// remove deletes the entry at i, keeping the heap ordered.
func (c *Clock) remove(i int) {
	last := len(c.q) - 1
	if i != last {
		c.q[i] = c.q[last]
		c.q[i].t.index = i
	}
	c.q[last] = entry{}
	c.q = c.q[:last]
	if i != last {
		if !c.down(i) {
			c.up(i)
		}
	}
}

func (c *Clock) up(i int) {
	q := c.q
	e := q[i]
	for i > 0 {
		p := (i - 1) / 4
		if !e.less(&q[p]) {
			break
		}
		q[i] = q[p]
		q[i].t.index = i
		i = p
	}
	q[i] = e
	e.t.index = i
}

// down sifts the entry at i towards the leaves; it reports whether it moved.
func (c *Clock) down(i0 int) bool {
	q := c.q
	n := len(q)
	e := q[i0]
	i := i0
	for {
		first := 4*i + 1
		if first >= n {
			break
		}
		m := first
		end := min(first+4, n)
		for j := first + 1; j < end; j++ {
			if q[j].less(&q[m]) {
				m = j
			}
		}
		if !q[m].less(&e) {
			break
		}
		q[i] = q[m]
		q[i].t.index = i
		i = m
	}
	q[i] = e
	e.t.index = i
	return i > i0
}
