package storetest

import (
	"testing"

	"github.com/drydock-sim/drydock/core/store"
)

var compactTests = []testCase{
	{"CompactWatchBoundary", testCompactBoundary},
	{"CompactKeepsData", testCompactKeepsData},
	{"CompactIdempotentAndFuture", testCompactEdges},
}

func testCompactBoundary(t *testing.T, s store.Store) {
	a := mustCreate(t, s, "/cm/a", configMap("a", "1"))
	b := mustCreate(t, s, "/cm/b", configMap("b", "1"))
	c := mustCreate(t, s, "/cm/c", configMap("c", "1"))
	u := mustUpdate(t, s, "/cm/a", configMap("a", "2"), 0)
	if err := s.Compact(c); err != nil {
		t.Fatalf("Compact(%d): %v", c, err)
	}
	for _, from := range []int64{a, b} { // below the compacted revision
		cancel, err := s.Watch("/cm/", from, func(store.Event) {})
		if err == nil {
			cancel()
		}
		wantErr(t, "Watch from a compacted revision", err, store.ErrCompacted, "")
	}
	// Exactly at the compacted revision: every event it needs (> c) is
	// still there.
	atC := watch(t, s, "/cm/", c)
	wantEvents(t, atC.waitRev(t, u), []eventSummary{{store.Modified, "/cm/a", u}})
	// From now still works.
	now := watch(t, s, "/cm/", 0)
	d := mustCreate(t, s, "/cm/d", configMap("d", "1"))
	wantEvents(t, now.waitRev(t, d), []eventSummary{{store.Added, "/cm/d", d}})
}

func testCompactKeepsData(t *testing.T, s store.Store) {
	mustCreate(t, s, "/cm/a", configMap("a", "1"))
	mustCreate(t, s, "/cm/b", configMap("b", "1"))
	u := mustUpdate(t, s, "/cm/a", configMap("a", "2"), 0)
	r := s.Revision()
	if err := s.Compact(r); err != nil {
		t.Fatalf("Compact(%d): %v", r, err)
	}
	wantRevision(t, s, r)
	got, err := s.Get("/cm/a")
	if err != nil || value(t, got) != "2" || rv(t, got) != revString(u) {
		t.Fatalf("Get after Compact = %v, %v", got, err)
	}
	if names := listNames(t, s, "/cm/"); len(names) != 2 {
		t.Fatalf("List after Compact = %v", names)
	}
	// Compare-and-swap still uses the key's modification revision.
	mustUpdate(t, s, "/cm/a", configMap("a", "3"), u)
	// Watching from the current revision (compacted) still works.
	w := watch(t, s, "/cm/", s.Revision())
	_, d := mustDelete(t, s, "/cm/b", 0)
	wantEvents(t, w.waitRev(t, d), []eventSummary{{store.Deleted, "/cm/b", d}})
}

func testCompactEdges(t *testing.T, s store.Store) {
	mustCreate(t, s, "/cm/a", configMap("a", "1"))
	mustCreate(t, s, "/cm/b", configMap("b", "1"))
	r := s.Revision()
	if err := s.Compact(r); err != nil {
		t.Fatalf("Compact(%d): %v", r, err)
	}
	for _, rev := range []int64{r, r - 1} {
		if err := s.Compact(rev); err != nil {
			t.Errorf("Compact(%d) after Compact(%d) = %v, want a no-op", rev, r, err)
		}
	}
	if err := s.Compact(r + 5); err == nil {
		t.Errorf("Compact(%d) beyond revision %d succeeded", r+5, r)
	}
	wantRevision(t, s, r)
	// The failed future compaction did not discard anything still needed.
	w := watch(t, s, "/cm/", r)
	c := mustCreate(t, s, "/cm/c", configMap("c", "1"))
	wantEvents(t, w.waitRev(t, c), []eventSummary{{store.Added, "/cm/c", c}})
}
