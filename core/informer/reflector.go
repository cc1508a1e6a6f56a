package informer

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/clock"
)

// Reflector keeps an Informer in step with the API: it lists, then watches
// from the list's resourceVersion, and lists again whenever the watch ends
// with an error (410 Expired after a long disconnection, a lost connection).
type Reflector struct {
	Client    client.Interface
	Informer  *Informer
	Namespace string
	Options   metav1.ListOptions // label and field selectors
	Clock     clock.Clock
	// RetryAfter is the pause before listing again after a failure (default 1s).
	RetryAfter time.Duration
	// OnError, if set, hears list and watch failures (for logs and traces).
	OnError func(error)

	cancel  func()
	retry   clock.Timer
	stopped bool
	gen     int // bumps on every (re)start so stale watch callbacks are ignored
}

// Start lists and begins watching. Failures are retried on the clock.
func (r *Reflector) Start(ctx context.Context) {
	r.stopped = false
	r.run(ctx)
}

// Stop ends the watch; the cache keeps its contents.
func (r *Reflector) Stop() {
	r.stopped = true
	r.gen++
	if r.cancel != nil {
		r.cancel()
		r.cancel = nil
	}
	if r.retry != nil {
		r.retry.Stop()
		r.retry = nil
	}
}

// Relist drops the current watch and starts over with a fresh list.
func (r *Reflector) Relist(ctx context.Context) {
	r.Stop()
	r.Start(ctx)
}

func (r *Reflector) run(ctx context.Context) {
	if r.stopped {
		return
	}
	r.gen++
	gen := r.gen
	objs, rv, err := r.Client.List(ctx, r.Informer.Resource, r.Namespace, r.Options)
	if err != nil {
		r.fail(ctx, err)
		return
	}
	r.Informer.Replace(objs, rv)
	opts := r.Options
	opts.ResourceVersion = rv
	cancel, err := r.Client.Watch(ctx, r.Informer.Resource, r.Namespace, opts, func(ev api.WatchEvent) {
		if gen != r.gen {
			return
		}
		if ev.Type == api.WatchError {
			if r.cancel != nil {
				r.cancel()
				r.cancel = nil
			}
			r.gen++
			r.fail(ctx, statusError(ev))
			return
		}
		r.Informer.Apply(ev)
	})
	if err != nil {
		r.fail(ctx, err)
		return
	}
	r.cancel = cancel
}

func (r *Reflector) fail(ctx context.Context, err error) {
	if r.OnError != nil {
		r.OnError(err)
	}
	d := r.RetryAfter
	if d <= 0 {
		d = time.Second
	}
	if r.retry != nil {
		r.retry.Stop()
	}
	r.retry = r.Clock.AfterFunc(d, func() {
		r.retry = nil
		r.run(ctx)
	})
}

type watchError struct{ status *metav1.Status }

func (e *watchError) Error() string { return "watch ended: " + e.status.Message }

func statusError(ev api.WatchEvent) error {
	if s, ok := ev.Object.(*metav1.Status); ok {
		return &watchError{status: s}
	}
	return &watchError{status: &metav1.Status{Message: "unknown error"}}
}
