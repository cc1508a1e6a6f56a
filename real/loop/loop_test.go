package loop

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const deadline = 10 * time.Second

// start runs l in the background and stops it when the test ends.
func start(t *testing.T, l *Loop) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	go l.Run(ctx) //nolint:errcheck
	t.Cleanup(func() {
		cancel()
		<-l.Done()
	})
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(deadline):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestPostRunsInOrderOnOneGoroutine(t *testing.T) {
	l := New()
	var got []int // touched only on the loop: -race checks it
	const n = 1000
	// Posted before Run starts and from several goroutines: each poster's
	// own funcs stay in order.
	for i := 0; i < 10; i++ {
		l.Post(func() { got = append(got, -1) })
	}
	start(t, l)
	var wg sync.WaitGroup
	perPoster := make([][]int, 4)
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				l.Post(func() { perPoster[p] = append(perPoster[p], i); got = append(got, i) })
			}
		}()
	}
	wg.Wait()
	if err := l.Do(func() {}); err != nil {
		t.Fatal(err)
	}
	if err := l.Do(func() {
		if len(got) != 10+4*n {
			t.Errorf("ran %d funcs, want %d", len(got), 10+4*n)
		}
		for i := 0; i < 10; i++ {
			if got[i] != -1 {
				t.Errorf("func posted before Run ran at %d after later ones", i)
			}
		}
		for p, seq := range perPoster {
			for i, v := range seq {
				if v != i {
					t.Fatalf("poster %d: func %d ran at position %d", p, v, i)
				}
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
}

func TestDoWaits(t *testing.T) {
	l := New()
	start(t, l)
	x := 0
	if err := l.Do(func() { x = 42 }); err != nil {
		t.Fatal(err)
	}
	if x != 42 { // no data race: Do's return happens after f
		t.Fatalf("x = %d", x)
	}
}

func TestAfterFunc(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
	}{
		{"negative", -time.Second},
		{"zero", 0},
		{"positive", 5 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := New()
			start(t, l)
			fired := make(chan struct{})
			var synchronous atomic.Bool
			inCall := true
			var tm interface{ Stop() bool }
			l.Do(func() {
				tm = l.AfterFunc(tc.d, func() {
					if inCall {
						synchronous.Store(true)
					}
					close(fired)
				})
				inCall = false
			})
			waitClosed(t, fired, "timer")
			if synchronous.Load() {
				t.Fatal("AfterFunc ran f synchronously")
			}
			var stopped bool
			l.Do(func() { stopped = tm.Stop() })
			if stopped {
				t.Error("Stop after firing reported true")
			}
		})
	}
}

func TestTimerStop(t *testing.T) {
	l := New()
	start(t, l)
	var ran atomic.Bool
	var first, second bool
	l.Do(func() {
		tm := l.AfterFunc(time.Hour, func() { ran.Store(true) })
		first = tm.Stop()
		second = tm.Stop()
	})
	if !first || second {
		t.Fatalf("Stop = %v then %v, want true then false", first, second)
	}
}

// A timer whose wall-clock time has passed but whose callback is still
// queued behind the running function can be stopped, and then never runs.
func TestTimerStopAfterWallClockFiredButBeforeRun(t *testing.T) {
	l := New()
	start(t, l)
	var ran atomic.Bool
	var stopped bool
	l.Do(func() {
		tm := l.AfterFunc(time.Millisecond, func() { ran.Store(true) })
		// Block the loop until the wall-clock timer has posted its callback.
		dl := time.Now().Add(deadline)
		for {
			l.mu.Lock()
			n := len(l.queue)
			l.mu.Unlock()
			if n > 0 || time.Now().After(dl) {
				break
			}
			time.Sleep(time.Millisecond) // polling a condition with a deadline
		}
		stopped = tm.Stop()
	})
	l.Do(func() {})
	if !stopped {
		t.Fatal("Stop of a queued, not yet run timer reported false")
	}
	if ran.Load() {
		t.Fatal("stopped timer ran")
	}
}

func TestPanicIsReportedAndStopsTheLoop(t *testing.T) {
	l := New()
	var reported atomic.Pointer[PanicError]
	l.OnPanic = func(p *PanicError) { reported.Store(p) }
	errc := make(chan error, 1)
	go func() { errc <- l.Run(context.Background()) }()
	err := l.Do(func() { panic("boom") })
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" {
		t.Fatalf("Do error = %v, want the panic", err)
	}
	select {
	case err := <-errc:
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "boom") || len(pe.Stack) == 0 {
			t.Fatalf("Run returned %v, want a PanicError with a stack", err)
		}
	case <-time.After(deadline):
		t.Fatal("Run did not return after a panic")
	}
	if reported.Load() == nil {
		t.Fatal("OnPanic not called")
	}
	if err := l.Do(func() {}); !errors.Is(err, ErrStopped) {
		t.Fatalf("Do after stop = %v, want ErrStopped", err)
	}
}

func TestStopAndContext(t *testing.T) {
	tests := []struct {
		name    string
		stop    func(l *Loop, cancel context.CancelFunc)
		wantErr error
	}{
		{"Stop", func(l *Loop, _ context.CancelFunc) { l.Stop() }, nil},
		{"cancel", func(_ *Loop, cancel context.CancelFunc) { cancel() }, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := New()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- l.Run(ctx) }()
			l.Do(func() {})
			// A Do blocked behind a function that stops the loop returns ErrStopped.
			release := make(chan struct{})
			l.Post(func() { tc.stop(l, cancel); <-release })
			doErr := make(chan error, 1)
			go func() { doErr <- l.Do(func() {}) }()
			close(release)
			select {
			case err := <-errc:
				if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
					t.Fatalf("Run = %v, want %v", err, tc.wantErr)
				}
			case <-time.After(deadline):
				t.Fatal("Run did not return")
			}
			select {
			case err := <-doErr:
				// The Do may have been posted before or after the stop.
				if err != nil && !errors.Is(err, ErrStopped) {
					t.Fatalf("Do = %v", err)
				}
			case <-time.After(deadline):
				t.Fatal("Do blocked after the loop stopped")
			}
			var ran atomic.Bool
			l.Post(func() { ran.Store(true) })
			if ran.Load() {
				t.Fatal("Post after stop ran f")
			}
		})
	}
}

func TestRunTwice(t *testing.T) {
	l := New()
	start(t, l)
	l.Do(func() {})
	if err := l.Run(context.Background()); err == nil {
		t.Fatal("second Run returned nil")
	}
}

func BenchmarkPostDo(b *testing.B) {
	l := New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx) //nolint:errcheck
	n := 0
	for i := 0; i < b.N; i++ {
		l.Post(func() { n++ })
	}
	l.Do(func() {})
}
