package node

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/apiserver"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/events"
	"github.com/drydock-sim/drydock/core/store/memstore"
)

// blockingSink records what the writer writes; each write waits for a
// token on release (none: writes go through).
type blockingSink struct {
	release chan struct{}
	mu      sync.Mutex
	written []queuedEvent
	started chan struct{} // one send per write begun
}

func newBlockingSink() *blockingSink {
	return &blockingSink{release: make(chan struct{}), started: make(chan struct{}, 100)}
}

func (s *blockingSink) write(ev queuedEvent) {
	s.started <- struct{}{}
	<-s.release
	s.mu.Lock()
	s.written = append(s.written, ev)
	s.mu.Unlock()
}

func (s *blockingSink) reasons() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ev := range s.written {
		out = append(out, ev.reason)
	}
	return out
}

func testPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1", ResourceVersion: "7"},
		Spec: corev1.PodSpec{NodeName: "n1"}}
}

func TestAsyncRecorder(t *testing.T) {
	base := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	cases := []struct {
		name        string
		size        int
		record      int  // events recorded while the sink is blocked on the first
		closeFirst  bool // close before recording (all dropped)
		wantWritten int
		wantDropped uint64
	}{
		// The first event is taken by the writer (blocked in the sink), the
		// next size wait in the queue, the rest are dropped.
		{name: "fits", size: 10, record: 5, wantWritten: 5},
		{name: "queue full drops", size: 3, record: 10, wantWritten: 4, wantDropped: 6},
		{name: "after close", size: 3, record: 2, closeFirst: true, wantWritten: 0, wantDropped: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := newBlockingSink()
			tick := base
			now := func() time.Time { tick = tick.Add(time.Second); return tick }
			r := newAsyncRecorder(tc.size, now, slog.New(slog.NewTextHandler(io.Discard, nil)), sink.write)
			if tc.closeFirst {
				if !r.Close(time.Second) {
					t.Fatal("close of an empty recorder timed out")
				}
			}
			var want []string
			for i := 0; i < tc.record; i++ {
				reason := "R" + string(rune('a'+i))
				r.Event(testPod(), corev1.EventTypeNormal, reason, "msg")
				if i == 0 && !tc.closeFirst {
					// The writer holds the first event in the (blocked) sink.
					select {
					case <-sink.started:
					case <-time.After(10 * time.Second):
						t.Fatal("writer did not take the first event")
					}
				}
				if len(want) < tc.wantWritten {
					want = append(want, reason)
				}
			}
			// Recording returned with the sink blocked: nothing waited on it.
			if got := r.Dropped(); got != tc.wantDropped {
				t.Errorf("dropped %d, want %d", got, tc.wantDropped)
			}
			close(sink.release)
			if !r.Close(10 * time.Second) {
				t.Fatal("Close did not flush within 10s")
			}
			if got := sink.reasons(); !slices.Equal(got, want) {
				t.Fatalf("written %v, want %v (in order)", got, want)
			}
			for i, ev := range sink.written {
				if wantAt := base.Add(time.Duration(i+1) * time.Second); !ev.at.Equal(wantAt) {
					t.Errorf("event %d time %v, want the time it was recorded %v", i, ev.at, wantAt)
				}
				p, ok := ev.obj.(*corev1.Pod)
				if !ok || p.Name != "web" || p.Namespace != "default" || p.UID != "u1" || p.ResourceVersion != "7" || p.Spec.NodeName != "" {
					t.Errorf("event %d object %#v, want a reference-only copy of the pod", i, ev.obj)
				}
			}
		})
	}
}

// wallClock is the wall clock for the API server (it only reads it).
type wallClock struct{}

func (wallClock) Now() time.Time                                  { return time.Now() }
func (wallClock) AfterFunc(d time.Duration, f func()) clock.Timer { return time.AfterFunc(d, f) }

// TestAsyncRecorderWritesThroughAPIRecorder: the events reach the API in
// order, with the time they were recorded (the writer's APIRecorder reads
// it through eventClock), a repeat counted on the stored Event.
func TestAsyncRecorderWritesThroughAPIRecorder(t *testing.T) {
	srv, err := apiserver.New(apiserver.Config{Store: memstore.New(), Clock: wallClock{}, Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ctx := context.Background()
	if _, err := srv.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	clk := &eventClock{Clock: wallClock{}}
	rec := &events.APIRecorder{Client: srv, Clock: clk, Component: "kubelet", Host: "n1"}
	at := time.Date(2026, 12, 6, 5, 0, 7, 0, time.UTC)
	now := func() time.Time { at = at.Add(time.Second); return at }
	r := newAsyncRecorder(10, now, slog.New(slog.NewTextHandler(io.Discard, nil)), func(ev queuedEvent) {
		clk.at = ev.at
		rec.Event(ev.obj, ev.typ, ev.reason, ev.message)
	})
	r.Event(testPod(), corev1.EventTypeWarning, "NetworkNotReady", "network is not ready")
	r.Event(testPod(), corev1.EventTypeNormal, "Scheduled", "x")
	r.Event(testPod(), corev1.EventTypeWarning, "NetworkNotReady", "network is not ready")
	if !r.Close(10 * time.Second) {
		t.Fatal("not flushed")
	}
	list, _, err := srv.List(ctx, api.Events, "default", metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*corev1.Event{}
	for _, o := range list {
		ev := o.(*corev1.Event)
		got[ev.Reason] = ev
	}
	first := time.Date(2026, 12, 6, 5, 0, 8, 0, time.UTC)
	if ev := got["NetworkNotReady"]; ev == nil || ev.Count != 2 || !ev.FirstTimestamp.Time.Equal(first) ||
		!ev.LastTimestamp.Time.Equal(first.Add(2*time.Second)) || ev.InvolvedObject.Kind != "Pod" || ev.InvolvedObject.UID != "u1" {
		t.Errorf("NetworkNotReady event %+v", ev)
	}
	if ev := got["Scheduled"]; ev == nil || ev.Count != 1 || !ev.FirstTimestamp.Time.Equal(first.Add(time.Second)) {
		t.Errorf("Scheduled event %+v", ev)
	}
}
