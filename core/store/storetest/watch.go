package storetest

import (
	"testing"

	"github.com/drydock-sim/drydock/core/store"
)

var watchTests = []testCase{
	{"WatchFromZeroSeesOnlyFuture", testWatchFromZero},
	{"WatchFromCurrentRevision", testWatchFromCurrent},
	{"WatchReplaysThenFollows", testWatchReplay},
	{"WatchEventFields", testWatchEventFields},
	{"WatchPrefixFilter", testWatchPrefixFilter},
	{"WatchDeleteCarriesLastObject", testWatchDelete},
	{"WatchCancel", testWatchCancel},
	{"WatchFromFutureRevision", testWatchFuture},
	{"WatchManyWatchers", testWatchMany},
}

func testWatchFromZero(t *testing.T, s store.Store) {
	mustCreate(t, s, "/cm/old", configMap("old", "1"))
	mustUpdate(t, s, "/cm/old", configMap("old", "2"), 0)
	r := watch(t, s, "/cm/", 0)
	a := mustCreate(t, s, "/cm/a", configMap("a", "1"))
	u := mustUpdate(t, s, "/cm/old", configMap("old", "3"), 0)
	wantEvents(t, r.waitRev(t, u), []eventSummary{
		{store.Added, "/cm/a", a},
		{store.Modified, "/cm/old", u},
	})
}

func testWatchFromCurrent(t *testing.T, s store.Store) {
	mustCreate(t, s, "/cm/old", configMap("old", "1"))
	r := watch(t, s, "/cm/", s.Revision())
	a := mustCreate(t, s, "/cm/a", configMap("a", "1"))
	wantEvents(t, r.waitRev(t, a), []eventSummary{{store.Added, "/cm/a", a}})
}

func testWatchReplay(t *testing.T, s store.Store) {
	base := s.Revision()
	a := mustCreate(t, s, "/cm/a", configMap("a", "1"))
	b := mustCreate(t, s, "/cm/b", configMap("b", "1"))
	ua := mustUpdate(t, s, "/cm/a", configMap("a", "2"), a)
	_, db := mustDelete(t, s, "/cm/b", 0)
	history := []eventSummary{
		{store.Added, "/cm/a", a},
		{store.Added, "/cm/b", b},
		{store.Modified, "/cm/a", ua},
		{store.Deleted, "/cm/b", db},
	}
	// From every past revision, a watcher gets exactly the later events...
	froms := []int64{base, a, b, ua, db}
	recs := make([]*recorder, len(froms))
	for i, from := range froms {
		if from == 0 {
			continue // 0 means "from now", not "from the beginning"
		}
		recs[i] = watch(t, s, "/cm/", from)
		if want := history[i:]; len(want) > 0 {
			wantEvents(t, recs[i].waitRev(t, db), want)
		}
	}
	// ...and then follows live writes without gaps or repeats.
	c := mustCreate(t, s, "/cm/c", configMap("c", "1"))
	for i, r := range recs {
		if r == nil {
			continue
		}
		want := append(append([]eventSummary(nil), history[i:]...), eventSummary{store.Added, "/cm/c", c})
		wantEvents(t, r.waitRev(t, c), want)
	}
}

func testWatchEventFields(t *testing.T, s store.Store) {
	r := watch(t, s, "/cm/", s.Revision())
	created := configMap("a", "1")
	a := mustCreate(t, s, "/cm/a", created)
	u := mustUpdate(t, s, "/cm/a", configMap("a", "2"), a)
	evs := r.waitRev(t, u)
	wantEvents(t, evs, []eventSummary{{store.Added, "/cm/a", a}, {store.Modified, "/cm/a", u}})
	if value(t, evs[0].Object) != "1" || value(t, evs[1].Object) != "2" {
		t.Fatalf("event objects carry %q, %q; want 1, 2", value(t, evs[0].Object), value(t, evs[1].Object))
	}
	prev := evs[1].PrevObject
	if value(t, prev) != "1" || rv(t, prev) != revString(a) {
		t.Fatalf("Modified PrevObject = %s@%s, want 1@%d", value(t, prev), rv(t, prev), a)
	}
}

func testWatchPrefixFilter(t *testing.T, s store.Store) {
	ra := watch(t, s, "/a/", s.Revision())
	rab := watch(t, s, "/ab/", s.Revision())
	rall := watch(t, s, "/", s.Revision())
	var revs = map[string]int64{}
	for _, k := range []string{"/ab/x", "/a", "/b/x", "/a/x", "/ab/y", "/a/y"} {
		revs[k] = mustCreate(t, s, k, configMap("n", k))
	}
	last := s.Revision()
	// "/a/y" is the last write and matches "/a/"; "/ab/y" is last for "/ab/".
	wantEvents(t, ra.waitRev(t, revs["/a/y"]), []eventSummary{
		{store.Added, "/a/x", revs["/a/x"]},
		{store.Added, "/a/y", revs["/a/y"]},
	})
	wantEvents(t, rab.waitRev(t, revs["/ab/y"]), []eventSummary{
		{store.Added, "/ab/x", revs["/ab/x"]},
		{store.Added, "/ab/y", revs["/ab/y"]},
	})
	if got := rall.waitRev(t, last); len(got) != 6 {
		t.Fatalf("watch on / got %d events, want 6: %v", len(got), summarize(got))
	}
	// Proof that "/ab/" saw nothing after "/ab/y": a later matching write
	// arrives next.
	z := mustCreate(t, s, "/ab/z", configMap("z", "z"))
	got := rab.waitRev(t, z)
	if len(got) != 3 || got[2].Key != "/ab/z" {
		t.Fatalf("watch on /ab/ saw %v", summarize(got))
	}
}

func testWatchDelete(t *testing.T, s store.Store) {
	a := mustCreate(t, s, "/cm/a", configMap("a", "1"))
	u := mustUpdate(t, s, "/cm/a", configMap("a", "last"), a)
	beforeDelete, _ := s.Get("/cm/a")
	r := watch(t, s, "/cm/", s.Revision())
	ret, d := mustDelete(t, s, "/cm/a", 0)
	evs := r.waitRev(t, d)
	wantEvents(t, evs, []eventSummary{{store.Deleted, "/cm/a", d}})
	ev := evs[0]
	if value(t, ev.Object) != "last" || name(t, ev.Object) != "a" {
		t.Fatalf("Deleted event Object = %s=%s, want the last value a=last", name(t, ev.Object), value(t, ev.Object))
	}
	if rv(t, ev.Object) != revString(d) || rv(t, ret) != revString(d) {
		t.Fatalf("deleted object resourceVersion: event %q, returned %q, want %d", rv(t, ev.Object), rv(t, ret), d)
	}
	if value(t, ev.PrevObject) != "last" || rv(t, ev.PrevObject) != revString(u) {
		t.Fatalf("Deleted PrevObject = %s@%s, want last@%d", value(t, ev.PrevObject), rv(t, ev.PrevObject), u)
	}
	// Objects handed out earlier are shared and must not change.
	if rv(t, beforeDelete) != revString(u) {
		t.Fatalf("Delete changed a previously returned object's resourceVersion to %q", rv(t, beforeDelete))
	}
}

func testWatchCancel(t *testing.T, s store.Store) {
	stopped := &recorder{}
	cancel, err := s.Watch("/cm/", s.Revision(), stopped.fn)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	witness := watch(t, s, "/cm/", s.Revision())
	a := mustCreate(t, s, "/cm/a", configMap("a", "1"))
	stopped.waitRev(t, a)
	cancel()
	cancel() // idempotent
	b := mustCreate(t, s, "/cm/b", configMap("b", "1"))
	mustDelete(t, s, "/cm/a", 0)
	c := mustCreate(t, s, "/cm/c", configMap("c", "1"))
	if got := witness.waitRev(t, c); len(got) != 4 || got[1].Revision != b {
		t.Fatalf("uncancelled watcher saw %v", summarize(got))
	}
	if got := stopped.snapshot(); len(got) != 1 {
		t.Fatalf("cancelled watcher kept receiving: %v", summarize(got))
	}
}

func testWatchFuture(t *testing.T, s store.Store) {
	r := s.Revision()
	w := watch(t, s, "/cm/", r+2)
	mustCreate(t, s, "/cm/a", configMap("a", "1"))      // r+1: skipped
	mustCreate(t, s, "/cm/b", configMap("b", "1"))      // r+2: skipped
	c := mustCreate(t, s, "/cm/c", configMap("c", "1")) // r+3: delivered
	wantEvents(t, w.waitRev(t, c), []eventSummary{{store.Added, "/cm/c", c}})
}

func testWatchMany(t *testing.T, s store.Store) {
	const n = 5
	mustCreate(t, s, "/other/x", configMap("x", "1")) // so that from is not 0 ("now")
	from := s.Revision()
	var rs []*recorder
	for range n {
		rs = append(rs, watch(t, s, "/cm/", from))
	}
	var want []eventSummary
	for _, k := range []string{"/cm/a", "/cm/b", "/cm/c"} {
		want = append(want, eventSummary{store.Added, k, mustCreate(t, s, k, configMap("x", "1"))})
	}
	want = append(want, eventSummary{store.Modified, "/cm/b", mustUpdate(t, s, "/cm/b", configMap("x", "2"), 0)})
	// A watcher added late, from an older revision, replays and then
	// catches up with the rest.
	late := watch(t, s, "/cm/", from)
	_, d := mustDelete(t, s, "/cm/a", 0)
	want = append(want, eventSummary{store.Deleted, "/cm/a", d})
	for _, r := range append(rs, late) {
		wantEvents(t, r.waitRev(t, d), want)
	}
}
