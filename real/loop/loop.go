// Package loop is real mode's control loop: one goroutine that runs posted
// functions one at a time, in the order they were posted, and a wall clock
// whose timers fire by posting to that goroutine.
//
// Core components are not safe for concurrent use; in real mode every call
// into them happens on a Loop. Adapters that call back into the core (watch
// events, container runtime results) take a `Post func(func())` and hand
// their callbacks to Loop.Post.
package loop

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drydock-sim/drydock/core/clock"
)

// ErrStopped is returned by Do and Run when the loop has stopped.
var ErrStopped = errors.New("loop: stopped")

// PanicError reports a panic in a posted function. The loop stops after
// one, as Kubernetes components crash on a panic: the component's state can
// no longer be trusted, and the supervisor (systemd) restarts the process.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("loop: panic in posted function: %v\n%s", e.Value, e.Stack)
}

// Loop runs posted functions in order on one goroutine. Create it with New,
// then call Run (once). Functions may be posted before Run starts.
type Loop struct {
	mu      sync.Mutex
	queue   []func()
	stopped bool
	err     error // why the loop stopped: nil for Stop, ctx error, or *PanicError

	wake    chan struct{} // capacity 1: something was posted
	stop    chan struct{} // closed by Stop
	done    chan struct{} // closed when Run has returned
	running atomic.Bool
	stopOne sync.Once

	// OnPanic, if set, hears a panic before the loop stops (for logging).
	OnPanic func(*PanicError)
}

// New returns a loop that is not running yet.
func New() *Loop {
	return &Loop{
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
}

var _ clock.Clock = (*Loop)(nil)

// Post queues f to run on the loop after everything posted before it. It
// never runs f synchronously. After the loop has stopped, f is dropped.
func (l *Loop) Post(f func()) {
	l.post(f)
}

func (l *Loop) post(f func()) bool {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return false
	}
	l.queue = append(l.queue, f)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return true
}

// Do posts f and waits until it has run. It returns ErrStopped if the loop
// stopped before f ran, or the *PanicError if f panicked. Calling Do from
// the loop goroutine itself deadlocks; code on the loop calls f directly.
func (l *Loop) Do(f func()) error {
	ran := make(chan struct{})
	var perr *PanicError
	if !l.post(func() {
		finished := false
		defer func() {
			if !finished {
				// Record the panic for the caller before it can wake up,
				// then let the loop see it too.
				perr = &PanicError{Value: recover(), Stack: debug.Stack()}
				close(ran)
				panic(perr)
			}
			close(ran)
		}()
		f()
		finished = true
	}) {
		return ErrStopped
	}
	select {
	case <-ran:
	case <-l.done:
		select {
		case <-ran:
		default:
			return ErrStopped
		}
	}
	if perr != nil {
		return perr
	}
	return nil
}

// Run runs posted functions until ctx is done, Stop is called, or a posted
// function panics. It returns nil after Stop, ctx.Err() when ctx ended, and
// a *PanicError after a panic. Functions still queued are dropped. Run may
// be called only once.
func (l *Loop) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("loop: Run called twice")
	}
	defer close(l.done)
	for {
		l.mu.Lock()
		batch := l.queue
		l.queue = nil
		l.mu.Unlock()
		for i, f := range batch {
			if perr := runOne(f); perr != nil {
				if l.OnPanic != nil {
					l.OnPanic(perr)
				}
				return l.finish(perr)
			}
			batch[i] = nil
			if l.isStopping(ctx) {
				return l.finish(ctx.Err())
			}
		}
		select {
		case <-l.wake:
		case <-l.stop:
			return l.finish(nil)
		case <-ctx.Done():
			return l.finish(ctx.Err())
		}
	}
}

func (l *Loop) isStopping(ctx context.Context) bool {
	select {
	case <-l.stop:
		return true
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

func (l *Loop) finish(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.stop:
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			err = nil // Stop and ctx raced; an explicit Stop wins.
		}
	default:
	}
	l.stopped = true
	l.queue = nil
	l.err = err
	return err
}

func runOne(f func()) (perr *PanicError) {
	defer func() {
		if v := recover(); v != nil {
			if pe, ok := v.(*PanicError); ok {
				perr = pe // from Do, which recorded it first
				return
			}
			perr = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	f()
	return nil
}

// Stop ends Run after the function running now, if any. It does not wait;
// use Done to wait.
func (l *Loop) Stop() {
	l.stopOne.Do(func() { close(l.stop) })
	if !l.running.Load() {
		// Never run: nothing will close done through Run.
		l.mu.Lock()
		l.stopped = true
		l.queue = nil
		l.mu.Unlock()
	}
}

// Done is closed when Run has returned.
func (l *Loop) Done() <-chan struct{} { return l.done }

// Err is why the loop stopped (nil while running or after Stop).
func (l *Loop) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Now is the wall clock.
func (l *Loop) Now() time.Time { return time.Now() }

// AfterFunc runs f on the loop once d has passed. A non-positive d posts f
// at once (it still runs later, on the loop, never synchronously).
func (l *Loop) AfterFunc(d time.Duration, f func()) clock.Timer {
	t := &timer{f: f, l: l}
	if d <= 0 {
		l.Post(t.fire)
		return t
	}
	t.mu.Lock()
	t.t = time.AfterFunc(d, func() { l.Post(t.fire) })
	t.mu.Unlock()
	return t
}

const (
	timerPending int32 = iota
	timerFired
	timerStopped
)

// timer is a pending AfterFunc. It counts as fired only when f starts on the
// loop: a Stop after the wall-clock timer went off but before the loop got
// to f still stops it, so a component that stops a timer on the loop never
// sees its callback afterwards.
type timer struct {
	state atomic.Int32
	f     func()
	l     *Loop
	mu    sync.Mutex
	t     *time.Timer
}

func (t *timer) fire() {
	if t.state.CompareAndSwap(timerPending, timerFired) {
		t.f()
	}
}

// Stop prevents f from running and reports whether this call did so.
func (t *timer) Stop() bool {
	if !t.state.CompareAndSwap(timerPending, timerStopped) {
		return false
	}
	t.mu.Lock()
	if t.t != nil {
		t.t.Stop()
	}
	t.mu.Unlock()
	return true
}
