package etcdstore

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drydock-sim/drydock/core/store"
)

// blockingWatch opens a watch on /cm/ whose callback blocks on its first
// event until release is called, recording every event.
func blockingWatch(t *testing.T, s *Store) (rec *events, entered chan struct{}, release func()) {
	t.Helper()
	rec = &events{}
	entered = make(chan struct{})
	ch := make(chan struct{})
	var once, first sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(release) // before the store's Close, which waits for the callback
	cancel, err := s.Watch("/cm/", 0, func(ev store.Event) {
		first.Do(func() {
			close(entered)
			<-ch
		})
		rec.fn(ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return rec, entered, release
}

// TestCompactWaitsForSlowWatch: a watch whose callback is behind keeps its
// events: Compact waits until it has delivered through the revision.
func TestCompactWaitsForSlowWatch(t *testing.T) {
	reported := make(chan error, 1)
	s := newTestStoreWith(t, testEtcd.Client(), func(_ string, err error) { reported <- err })
	rec, entered, release := blockingWatch(t, s)
	a, _ := s.Create("/cm/a", cm("a", "1"))
	<-entered
	b, _ := s.Create("/cm/b", cm("b", "1"))
	c, _ := s.Create("/cm/c", cm("c", "1"))
	done := make(chan error, 1)
	go func() { done <- s.Compact(b) }()
	select {
	case err := <-done:
		t.Fatalf("Compact(%d) returned (%v) while a watch had not delivered %d", b, err, b)
	case <-time.After(200 * time.Millisecond): // a wrong Compact returns at once
	}
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Compact: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Compact did not return after the watch caught up")
	}
	evs := rec.wait(t, c)
	if len(evs) != 3 || evs[0].Revision != a || evs[1].Revision != b || evs[2].Revision != c {
		t.Fatalf("slow watch got %v, want a, b, c", summarizeStore(evs))
	}
	select {
	case err := <-reported:
		t.Fatalf("watch error: %v", err)
	default:
	}
	if _, err := s.Watch("/cm/", a, func(store.Event) {}); err == nil {
		t.Fatal("watch from below the compaction accepted")
	}
}

// TestCompactQuietWatch: a watch that has no events still lets Compact
// through (etcd's progress notifications vouch for it), and keeps working.
func TestCompactQuietWatch(t *testing.T) {
	s := newTestStore(t)
	rec := &events{}
	cancel, err := s.Watch("/other/", 0, rec.fn)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	var last int64
	for _, k := range []string{"a", "b", "c"} {
		last, _ = s.Create("/cm/"+k, cm(k, "1"))
	}
	if err := s.Compact(last); err != nil {
		t.Fatalf("Compact with a quiet watch open: %v", err)
	}
	o, _ := s.Create("/other/x", cm("x", "1"))
	if evs := rec.wait(t, o); len(evs) != 1 || evs[0].Key != "/other/x" {
		t.Fatalf("quiet watch after Compact: %v", summarizeStore(evs))
	}
}

// TestCompactTimesOut: a callback that stays blocked makes Compact fail
// after RequestTimeout instead of cutting the watch off.
func TestCompactTimesOut(t *testing.T) {
	s, err := New(Config{Client: testEtcd.Client(), Prefix: newTestStore(t).prefix + "/short", RequestTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	_, entered, release := blockingWatch(t, s)
	s.Create("/cm/a", cm("a", "1"))
	<-entered
	b, _ := s.Create("/cm/b", cm("b", "1"))
	err = s.Compact(b)
	if err == nil || !strings.Contains(err.Error(), "have not delivered") {
		t.Fatalf("Compact past a blocked watch: %v, want a timeout error", err)
	}
	release()
	// Nothing was compacted: the history is still there.
	w := &events{}
	cancel, err := s.Watch("/cm/", b-1, w.fn)
	if err != nil {
		t.Fatalf("watch after the failed Compact: %v", err)
	}
	defer cancel()
	w.wait(t, b)
}

type storeSummary struct {
	Type store.EventType
	Key  string
	Rev  int64
}

func summarizeStore(evs []store.Event) []storeSummary {
	out := make([]storeSummary, len(evs))
	for i, ev := range evs {
		out[i] = storeSummary{ev.Type, ev.Key, ev.Revision}
	}
	return out
}
