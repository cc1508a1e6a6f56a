package node

import (
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/clock"
)

// maxQueuedEvents bounds the events waiting to be written, as client-go's
// event broadcaster does (its maxQueuedEvents).
const maxQueuedEvents = 1000

// queuedEvent is one event recorded on the loop and not yet written.
type queuedEvent struct {
	obj                  api.Object // a reference-only copy of the object
	at                   time.Time  // when it was recorded
	typ, reason, message string
}

// asyncRecorder is the agent's events.Recorder: Event only queues (the
// loop never waits for the API server), and a goroutine of its own writes
// the queue in order, as client-go's broadcaster writes events from a
// goroutine of its own. When the queue is full the event is dropped and
// counted, with a warning, as the broadcaster drops when its channel is
// full. Close writes what is queued, within a deadline.
type asyncRecorder struct {
	write func(queuedEvent) // called on the writer goroutine only
	log   *slog.Logger

	mu     sync.Mutex
	closed bool
	queue  chan queuedEvent

	done    chan struct{}
	dropped atomic.Uint64
	now     func() time.Time
}

func newAsyncRecorder(size int, now func() time.Time, log *slog.Logger, write func(queuedEvent)) *asyncRecorder {
	r := &asyncRecorder{write: write, log: log, queue: make(chan queuedEvent, size), done: make(chan struct{}), now: now}
	go r.run()
	return r
}

func (r *asyncRecorder) run() {
	defer close(r.done)
	for ev := range r.queue {
		r.write(ev)
	}
}

// Event implements events.Recorder. It never blocks.
func (r *asyncRecorder) Event(obj api.Object, eventType, reason, message string) {
	ev := queuedEvent{obj: refCopy(obj), at: r.now(), typ: eventType, reason: reason, message: message}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		r.drop(ev, "the recorder is shut down")
		return
	}
	select {
	case r.queue <- ev:
	default:
		r.drop(ev, "too many queued events")
	}
}

func (r *asyncRecorder) drop(ev queuedEvent, why string) {
	n := r.dropped.Add(1)
	if n&(n-1) == 0 { // 1, 2, 4, 8, ...: a flood does not flood the log
		r.log.Warn("unable to record event: "+why+", dropped event", "reason", ev.reason,
			"object", ev.obj.GetNamespace()+"/"+ev.obj.GetName(), "droppedTotal", n)
	}
}

// Dropped is how many events were dropped so far.
func (r *asyncRecorder) Dropped() uint64 { return r.dropped.Load() }

// Close stops taking events and waits until the queued ones are written or
// the timeout passes; it reports whether all were written.
func (r *asyncRecorder) Close(timeout time.Duration) bool {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
	}
	r.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-r.done:
		return true
	case <-t.C:
		r.log.Warn("events not written before shutdown", "queued", len(r.queue))
		return false
	}
}

// refCopy is a new object of obj's type carrying only what an event's
// involvedObject takes from it, so that the writer goroutine shares nothing
// with the loop.
func refCopy(obj api.Object) api.Object {
	c, ok := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(api.Object)
	if !ok {
		return obj
	}
	c.SetNamespace(obj.GetNamespace())
	c.SetName(obj.GetName())
	c.SetUID(obj.GetUID())
	c.SetResourceVersion(obj.GetResourceVersion())
	return c
}

// eventClock is the clock the writer's events.APIRecorder reads: its Now is
// the time the event being written was recorded. Used by the writer
// goroutine only.
type eventClock struct {
	clock.Clock
	at time.Time
}

// Now implements clock.Clock.
func (c *eventClock) Now() time.Time { return c.at }
