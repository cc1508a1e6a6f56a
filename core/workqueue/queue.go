// Package workqueue is a deduplicating FIFO of keys with delayed and
// rate-limited re-adds, like client-go's workqueue but single-threaded and
// driven by the clock port. When the queue goes from idle to having work it
// asks the driver (through clock.AfterFunc(0, ...)) to run its consumer, so a
// simulator with thousands of idle queues never polls them.
package workqueue

import (
	"time"

	"github.com/drydock-sim/drydock/core/clock"
)

// Default per-item backoff, as client-go's controller rate limiter.
const (
	DefaultBaseDelay = 5 * time.Millisecond
	DefaultMaxDelay  = 1000 * time.Second
)

// Queue holds keys waiting to be processed. A key is in the queue at most
// once; a key added while it is being processed is queued again when Done.
type Queue struct {
	clock      clock.Clock
	items      []string
	head       int
	dirty      map[string]bool
	processing map[string]bool
	waiting    map[string]waitEntry
	failures   map[string]int
	baseDelay  time.Duration
	maxDelay   time.Duration
	consumer   func()
	scheduled  bool
	run        func() // the consumer call wake schedules, built once
	shutDown   bool
}

type waitEntry struct {
	at    time.Time
	timer clock.Timer
}

// New returns a queue whose consumer is run on the driver loop whenever work
// is ready. consumer typically calls Get until it reports false.
func New(clk clock.Clock, consumer func()) *Queue {
	return &Queue{clock: clk, consumer: consumer, dirty: map[string]bool{}, processing: map[string]bool{},
		waiting: map[string]waitEntry{}, failures: map[string]int{}, baseDelay: DefaultBaseDelay, maxDelay: DefaultMaxDelay}
}

// SetBackoff changes the rate limiter's base and maximum delay.
func (q *Queue) SetBackoff(base, max time.Duration) { q.baseDelay, q.maxDelay = base, max }

// Add queues key now.
func (q *Queue) Add(key string) {
	if q.shutDown || q.dirty[key] {
		return
	}
	q.dirty[key] = true
	if q.processing[key] {
		return
	}
	q.items = append(q.items, key)
	q.wake()
}

// AddAfter queues key once d has passed. An earlier pending AddAfter of the
// same key wins; a later one is ignored.
func (q *Queue) AddAfter(key string, d time.Duration) {
	if q.shutDown {
		return
	}
	if d <= 0 {
		q.Add(key)
		return
	}
	at := q.clock.Now().Add(d)
	if w, ok := q.waiting[key]; ok {
		if !at.Before(w.at) {
			return
		}
		w.timer.Stop()
	}
	t := q.clock.AfterFunc(d, func() {
		delete(q.waiting, key)
		q.Add(key)
	})
	q.waiting[key] = waitEntry{at: at, timer: t}
}

// AddRateLimited re-queues key after its exponential backoff.
func (q *Queue) AddRateLimited(key string) {
	n := q.failures[key]
	q.failures[key] = n + 1
	d := q.baseDelay
	for i := 0; i < n && d < q.maxDelay; i++ {
		d *= 2
	}
	if d > q.maxDelay {
		d = q.maxDelay
	}
	q.AddAfter(key, d)
}

// Forget clears key's backoff after a success.
func (q *Queue) Forget(key string) { delete(q.failures, key) }

// NumRequeues is how many times key has been rate-limited since its last Forget.
func (q *Queue) NumRequeues(key string) int { return q.failures[key] }

// Get takes the next key; the caller must call Done(key) after processing.
func (q *Queue) Get() (string, bool) {
	if q.head >= len(q.items) {
		return "", false
	}
	key := q.items[q.head]
	q.items[q.head] = ""
	q.head++
	if q.head == len(q.items) {
		// Drained: reuse the slice from its start instead of growing it.
		q.items, q.head = q.items[:0], 0
	}
	if q.head > 1024 && q.head*2 > len(q.items) {
		q.items = append([]string(nil), q.items[q.head:]...)
		q.head = 0
	}
	delete(q.dirty, key)
	q.processing[key] = true
	return key, true
}

// Done marks key processed; if it was added meanwhile it is queued again.
func (q *Queue) Done(key string) {
	delete(q.processing, key)
	if q.dirty[key] {
		q.items = append(q.items, key)
		q.wake()
	}
}

// Len is the number of keys ready now.
func (q *Queue) Len() int { return len(q.items) - q.head }

// Pending is the number of keys waiting for a delay to pass.
func (q *Queue) Pending() int { return len(q.waiting) }

// ShutDown drops queued work and stops timers; later adds are ignored.
func (q *Queue) ShutDown() {
	q.shutDown = true
	for _, w := range q.waiting {
		w.timer.Stop()
	}
	q.waiting = map[string]waitEntry{}
	q.items, q.head = nil, 0
	q.dirty = map[string]bool{}
}

func (q *Queue) wake() {
	if q.scheduled || q.consumer == nil {
		return
	}
	q.scheduled = true
	if q.run == nil {
		q.run = func() {
			q.scheduled = false
			q.consumer()
		}
	}
	clock.Schedule(q.clock, 0, q.run)
}
