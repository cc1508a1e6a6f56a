// Package controller runs level-based reconcilers over a work queue, in the
// shape of controller-runtime: Reconcile(ctx, key) (Result, error), requeue
// with backoff on error, RequeueAfter for time-based work.
package controller

import (
	"context"
	"time"

	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/workqueue"
)

// Result tells the runner what to do with a key after a reconcile.
type Result struct {
	Requeue      bool          // requeue with backoff
	RequeueAfter time.Duration // requeue after this long (wins over Requeue)
}

// Reconciler makes the world match the desired state of one object.
type Reconciler interface {
	Reconcile(ctx context.Context, key string) (Result, error)
}

// ReconcilerFunc adapts a function to Reconciler.
type ReconcilerFunc func(ctx context.Context, key string) (Result, error)

// Reconcile calls f.
func (f ReconcilerFunc) Reconcile(ctx context.Context, key string) (Result, error) {
	return f(ctx, key)
}

// Controller owns a queue and drains it into a reconciler.
type Controller struct {
	Name  string
	Queue *workqueue.Queue
	r     Reconciler
	// OnError hears reconcile errors (for the trace); the key is retried with backoff.
	OnError func(name, key string, err error)
	// Reconciles counts reconcile calls, for benchmarks and tests.
	Reconciles int
}

// New returns a controller whose queue runs on clk.
func New(name string, clk clock.Clock, r Reconciler) *Controller {
	c := &Controller{Name: name, r: r}
	c.Queue = workqueue.New(clk, c.drain)
	return c
}

// Enqueue adds a key.
func (c *Controller) Enqueue(key string) { c.Queue.Add(key) }

func (c *Controller) drain() {
	ctx := context.Background()
	for {
		key, ok := c.Queue.Get()
		if !ok {
			return
		}
		c.Reconciles++
		res, err := c.r.Reconcile(ctx, key)
		switch {
		case err != nil:
			if c.OnError != nil {
				c.OnError(c.Name, key, err)
			}
			c.Queue.AddRateLimited(key)
		case res.RequeueAfter > 0:
			c.Queue.Forget(key)
			c.Queue.AddAfter(key, res.RequeueAfter)
		case res.Requeue:
			c.Queue.AddRateLimited(key)
		default:
			c.Queue.Forget(key)
		}
		c.Queue.Done(key)
	}
}
