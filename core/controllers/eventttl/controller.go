// Package eventttl deletes Events once they are older than the event TTL
// (one hour, kube-apiserver's --event-ttl default). Kubernetes gets this
// from an etcd lease attached to each Event write; drydock's stores have no
// leases, so this controller does it, keeping long simulations bounded.
//
// An Event expires TTL after its latest timestamp (creation, lastTimestamp,
// eventTime or series.lastObservedTime), so an aggregated Event that keeps
// recurring lives on, as its etcd lease is renewed on every write in
// Kubernetes. Expiries sit in a min-heap with a single clock timer for the
// earliest one: the controller never rescans the Events.
package eventttl

import (
	"container/heap"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/controller"
	"github.com/drydock-sim/drydock/core/events"
	"github.com/drydock-sim/drydock/core/informer"
)

// DefaultTTL is Kubernetes' default event TTL.
const DefaultTTL = time.Hour

// Config wires the controller.
type Config struct {
	Client   client.Interface
	Clock    clock.Clock
	Recorder events.Recorder
	Events   *informer.Informer
	// TTL is how long an Event lives after its latest timestamp.
	TTL time.Duration
}

// Controller deletes expired Events. Keys are Event keys (ns/name).
type Controller struct {
	cfg    Config
	Runner *controller.Controller

	// queue holds an entry per tracked expiry. An entry whose time no
	// longer matches the cached Event's expiry (the Event recurred, or is
	// gone) is stale and skipped when it comes up: the cache is the record
	// of current expiries, so none is kept here for every Event.
	queue   expiryHeap
	seq     uint64
	timer   clock.Timer
	timerAt time.Time
}

// New builds the controller and registers its handlers.
func New(cfg Config) *Controller {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Recorder == nil {
		cfg.Recorder = events.Discard
	}
	c := &Controller{cfg: cfg}
	c.Runner = controller.New("eventttl", cfg.Clock, c)
	h := informer.Handler{
		OnAdd: func(obj api.Object) { c.track(obj) },
		OnUpdate: func(old, cur api.Object) {
			if !c.expiresAt(old).Equal(c.expiresAt(cur)) {
				c.track(cur)
			}
		},
	}
	cfg.Events.AddHandler(h)
	for _, obj := range cfg.Events.List() {
		h.OnAdd(obj)
	}
	return c
}

// Pending is the number of heap entries (stale ones included).
func (c *Controller) Pending() int { return len(c.queue) }

// ExpiresAt is when an Event expires: TTL after its latest timestamp.
func ExpiresAt(ev *corev1.Event, ttl time.Duration) time.Time {
	t := ev.CreationTimestamp.Time
	later := func(u time.Time) {
		if u.After(t) {
			t = u
		}
	}
	later(ev.LastTimestamp.Time)
	later(ev.EventTime.Time)
	if ev.Series != nil {
		later(ev.Series.LastObservedTime.Time)
	}
	return t.Add(ttl)
}

func (c *Controller) expiresAt(obj api.Object) time.Time {
	return ExpiresAt(obj.(*corev1.Event), c.cfg.TTL)
}

func (c *Controller) track(obj api.Object) {
	c.seq++
	ev := obj.(*corev1.Event)
	heap.Push(&c.queue, entry{at: c.expiresAt(obj).UnixNano(), seq: c.seq, ev: ev})
	c.arm()
}

// arm points the timer at the earliest entry.
func (c *Controller) arm() {
	if len(c.queue) == 0 {
		return
	}
	at := c.queue[0].time()
	if c.timer != nil {
		if !at.Before(c.timerAt) {
			return
		}
		c.timer.Stop()
	}
	c.timerAt = at
	c.timer = c.cfg.Clock.AfterFunc(at.Sub(c.cfg.Clock.Now()), c.fire)
}

// fire queues every Event whose expiry has come.
func (c *Controller) fire() {
	c.timer = nil
	now := c.cfg.Clock.Now()
	for len(c.queue) > 0 && c.queue[0].at <= now.UnixNano() {
		e := heap.Pop(&c.queue).(entry)
		if cur, ok := c.cfg.Events.Get(e.ev.Namespace, e.ev.Name); ok && c.expiresAt(cur).UnixNano() == e.at {
			c.Runner.Enqueue(informer.Key(cur))
		}
	}
	c.arm()
}

// entry is one tracked expiry. It points at the Event version it was
// computed from (shared with the cache) rather than holding a key string:
// an hour of a large cluster's Events is hundreds of thousands of entries.
type entry struct {
	// at is the expiry in nanoseconds since the epoch: an int64 compares
	// faster than a time.Time and makes the entry 16 bytes smaller (one
	// entry per Event, 186,000 at 1,000 nodes).
	at  int64
	seq uint64
	ev  *corev1.Event
}

func (e entry) time() time.Time { return time.Unix(0, e.at) }

type expiryHeap []entry

func (h expiryHeap) Len() int { return len(h) }
func (h expiryHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h expiryHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)   { *h = append(*h, x.(entry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = entry{} // the array keeps no Event alive
	*h = old[:len(old)-1]
	return e
}
