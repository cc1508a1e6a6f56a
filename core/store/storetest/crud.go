package storetest

import (
	"testing"

	"github.com/drydock-sim/drydock/core/store"
)

var crudTests = []testCase{
	{"CreateGet", testCreateGet},
	{"CreateExists", testCreateExists},
	{"GetNotFound", testGetNotFound},
	{"UpdateCompareAndSwap", testUpdateCAS},
	{"UpdateUnconditional", testUpdateUnconditional},
	{"UpdateNotFound", testUpdateNotFound},
	{"DeleteCompareAndSwap", testDeleteCAS},
	{"DeleteUnconditional", testDeleteUnconditional},
	{"DeleteNotFound", testDeleteNotFound},
	{"RecreateAfterDelete", testRecreate},
	{"RevisionIncrementsByOne", testRevisionIncrements},
	{"ResourceVersionSet", testResourceVersionSet},
}

func testCreateGet(t *testing.T, s store.Store) {
	r0 := s.Revision()
	obj := configMap("a", "1")
	rev := mustCreate(t, s, "/cm/a", obj)
	if rev != r0+1 {
		t.Fatalf("Create revision = %d, want %d", rev, r0+1)
	}
	got, err := s.Get("/cm/a")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if name(t, got) != "a" || value(t, got) != "1" {
		t.Fatalf("Get returned %s=%s, want a=1", name(t, got), value(t, got))
	}
	if r := rv(t, got); r != revString(rev) {
		t.Fatalf("Get resourceVersion = %q, want %q", r, revString(rev))
	}
	// Objects of other kinds are stored alongside.
	prev := mustCreate(t, s, "/pods/p", pod("p", "node-1"))
	got, err = s.Get("/pods/p")
	if err != nil {
		t.Fatalf("Get pod: %v", err)
	}
	if name(t, got) != "p" || rv(t, got) != revString(prev) {
		t.Fatalf("Get pod = %s@%s, want p@%d", name(t, got), rv(t, got), prev)
	}
}

func testCreateExists(t *testing.T, s store.Store) {
	mustCreate(t, s, "/cm/a", configMap("a", "1"))
	r := s.Revision()
	_, err := s.Create("/cm/a", configMap("a", "2"))
	wantErr(t, "second Create", err, store.ErrExists, "/cm/a")
	wantRevision(t, s, r)
	got, err := s.Get("/cm/a")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if value(t, got) != "1" {
		t.Fatalf("failed Create replaced the value: got %q", value(t, got))
	}
}

func testGetNotFound(t *testing.T, s store.Store) {
	_, err := s.Get("/cm/missing")
	wantErr(t, "Get", err, store.ErrNotFound, "/cm/missing")
	mustCreate(t, s, "/cm/a", configMap("a", "1"))
	// A prefix of an existing key is not a key.
	_, err = s.Get("/cm/")
	wantErr(t, "Get prefix", err, store.ErrNotFound, "/cm/")
}

func testUpdateCAS(t *testing.T, s store.Store) {
	created := mustCreate(t, s, "/cm/a", configMap("a", "1"))
	mustCreate(t, s, "/cm/b", configMap("b", "1")) // moves the global revision past a's
	r := s.Revision()

	for _, stale := range []int64{created - 1, created + 1, r + 10} {
		if stale == 0 {
			continue
		}
		_, err := s.Update("/cm/a", configMap("a", "x"), stale)
		wantErr(t, "Update with wrong revision", err, store.ErrConflict, "/cm/a")
	}
	wantRevision(t, s, r)
	if got, _ := s.Get("/cm/a"); value(t, got) != "1" {
		t.Fatalf("conflicting Update changed the value to %q", value(t, got))
	}

	rev := mustUpdate(t, s, "/cm/a", configMap("a", "2"), created)
	if rev != r+1 {
		t.Fatalf("Update revision = %d, want %d", rev, r+1)
	}
	// The old revision is now stale, the new one works.
	_, err := s.Update("/cm/a", configMap("a", "3"), created)
	wantErr(t, "Update with superseded revision", err, store.ErrConflict, "/cm/a")
	rev2 := mustUpdate(t, s, "/cm/a", configMap("a", "3"), rev)
	got, err := s.Get("/cm/a")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if value(t, got) != "3" || rv(t, got) != revString(rev2) {
		t.Fatalf("after Update: %s@%s, want 3@%d", value(t, got), rv(t, got), rev2)
	}
}

func testUpdateUnconditional(t *testing.T, s store.Store) {
	mustCreate(t, s, "/cm/a", configMap("a", "1"))
	mustUpdate(t, s, "/cm/a", configMap("a", "2"), 0)
	rev := mustUpdate(t, s, "/cm/a", configMap("a", "3"), 0)
	got, _ := s.Get("/cm/a")
	if value(t, got) != "3" || rv(t, got) != revString(rev) {
		t.Fatalf("after unconditional Update: %s@%s, want 3@%d", value(t, got), rv(t, got), rev)
	}
}

func testUpdateNotFound(t *testing.T, s store.Store) {
	mustCreate(t, s, "/cm/other", configMap("other", "1"))
	r := s.Revision()
	for _, expected := range []int64{0, r} {
		_, err := s.Update("/cm/a", configMap("a", "1"), expected)
		wantErr(t, "Update of missing key", err, store.ErrNotFound, "/cm/a")
	}
	wantRevision(t, s, r)
	if _, err := s.Get("/cm/a"); err == nil {
		t.Fatal("failed Update created the key")
	}
}

func testDeleteCAS(t *testing.T, s store.Store) {
	mustCreate(t, s, "/cm/a", configMap("a", "1"))
	upd := mustUpdate(t, s, "/cm/a", configMap("a", "2"), 0)
	r := s.Revision()

	_, _, err := s.Delete("/cm/a", upd-1)
	wantErr(t, "Delete with wrong revision", err, store.ErrConflict, "/cm/a")
	wantRevision(t, s, r)
	if _, err := s.Get("/cm/a"); err != nil {
		t.Fatalf("conflicting Delete removed the key: %v", err)
	}

	obj, rev := mustDelete(t, s, "/cm/a", upd)
	if rev != r+1 {
		t.Fatalf("Delete revision = %d, want %d", rev, r+1)
	}
	if value(t, obj) != "2" {
		t.Fatalf("Delete returned value %q, want the last one, 2", value(t, obj))
	}
	if rv(t, obj) != revString(rev) {
		t.Fatalf("deleted object resourceVersion = %q, want the deletion revision %d", rv(t, obj), rev)
	}
	_, err = s.Get("/cm/a")
	wantErr(t, "Get after Delete", err, store.ErrNotFound, "/cm/a")
}

func testDeleteUnconditional(t *testing.T, s store.Store) {
	mustCreate(t, s, "/cm/a", configMap("a", "1"))
	kept := mustCreate(t, s, "/cm/b", configMap("b", "1"))
	obj, rev := mustDelete(t, s, "/cm/a", 0)
	if name(t, obj) != "a" || rv(t, obj) != revString(rev) {
		t.Fatalf("Delete returned %s@%s, want a@%d", name(t, obj), rv(t, obj), rev)
	}
	if _, err := s.Get("/cm/a"); err == nil {
		t.Fatal("key still present after Delete")
	}
	got, err := s.Get("/cm/b")
	if err != nil || rv(t, got) != revString(kept) {
		t.Fatalf("Delete disturbed another key: %v", err)
	}
}

func testDeleteNotFound(t *testing.T, s store.Store) {
	r := s.Revision()
	for _, expected := range []int64{0, r + 1} {
		_, _, err := s.Delete("/cm/a", expected)
		wantErr(t, "Delete of missing key", err, store.ErrNotFound, "/cm/a")
	}
	mustCreate(t, s, "/cm/a", configMap("a", "1"))
	mustDelete(t, s, "/cm/a", 0)
	r = s.Revision()
	_, _, err := s.Delete("/cm/a", 0)
	wantErr(t, "second Delete", err, store.ErrNotFound, "/cm/a")
	wantRevision(t, s, r)
}

func testRecreate(t *testing.T, s store.Store) {
	first := mustCreate(t, s, "/cm/a", configMap("a", "1"))
	mustDelete(t, s, "/cm/a", first)
	second := mustCreate(t, s, "/cm/a", configMap("a", "2"))
	if second <= first {
		t.Fatalf("recreated at revision %d, not after %d", second, first)
	}
	// The old incarnation's revision must not match the new one.
	_, err := s.Update("/cm/a", configMap("a", "3"), first)
	wantErr(t, "Update with the previous incarnation's revision", err, store.ErrConflict, "/cm/a")
	got, _ := s.Get("/cm/a")
	if value(t, got) != "2" || rv(t, got) != revString(second) {
		t.Fatalf("recreated key = %s@%s, want 2@%d", value(t, got), rv(t, got), second)
	}
}

func testRevisionIncrements(t *testing.T, s store.Store) {
	r := s.Revision()
	steps := []struct {
		name string
		op   func() (int64, error)
		ok   bool
	}{
		{"create a", func() (int64, error) { return s.Create("/cm/a", configMap("a", "1")) }, true},
		{"create b", func() (int64, error) { return s.Create("/cm/b", configMap("b", "1")) }, true},
		{"create a again", func() (int64, error) { return s.Create("/cm/a", configMap("a", "1")) }, false},
		{"update a", func() (int64, error) { return s.Update("/cm/a", configMap("a", "2"), 0) }, true},
		{"update a stale", func() (int64, error) { return s.Update("/cm/a", configMap("a", "3"), 1<<40) }, false},
		{"update missing", func() (int64, error) { return s.Update("/cm/z", configMap("z", "1"), 0) }, false},
		{"delete b", func() (int64, error) { _, rev, err := s.Delete("/cm/b", 0); return rev, err }, true},
		{"delete b again", func() (int64, error) { _, rev, err := s.Delete("/cm/b", 0); return rev, err }, false},
		{"get a", func() (int64, error) { _, err := s.Get("/cm/a"); return 0, err }, false},
		{"list", func() (int64, error) { _, _, err := s.List("/"); return 0, err }, false},
		{"update a again", func() (int64, error) { return s.Update("/cm/a", configMap("a", "4"), 0) }, true},
	}
	for _, st := range steps {
		rev, err := st.op()
		if st.ok {
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			r++
			if rev != r {
				t.Fatalf("%s: revision %d, want %d", st.name, rev, r)
			}
		}
		wantRevision(t, s, r)
	}
}

func testResourceVersionSet(t *testing.T, s store.Store) {
	obj := configMap("a", "1")
	rev := mustCreate(t, s, "/cm/a", obj)
	if rv(t, obj) != revString(rev) {
		t.Fatalf("Create left resourceVersion %q on the passed object, want %q", rv(t, obj), revString(rev))
	}
	upd := configMap("a", "2")
	upd.ResourceVersion = "999999" // ignored: expectedRev is what counts
	rev = mustUpdate(t, s, "/cm/a", upd, 0)
	if rv(t, upd) != revString(rev) {
		t.Fatalf("Update left resourceVersion %q on the passed object, want %q", rv(t, upd), revString(rev))
	}
	objs, _, err := s.List("/cm/")
	if err != nil || len(objs) != 1 {
		t.Fatalf("List = %d objects, %v", len(objs), err)
	}
	if rv(t, objs[0]) != revString(rev) {
		t.Fatalf("List resourceVersion = %q, want %q", rv(t, objs[0]), revString(rev))
	}
}
