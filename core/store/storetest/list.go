package storetest

import (
	"slices"
	"testing"

	"github.com/drydock-sim/drydock/core/store"
)

var listTests = []testCase{
	{"ListOrderedByKey", testListOrdered},
	{"ListPrefixIsolation", testListPrefixIsolation},
	{"ListRevision", testListRevision},
	{"ListEmpty", testListEmpty},
	{"ListAfterDelete", testListAfterDelete},
}

// listNames lists prefix and returns the objects' names.
func listNames(t *testing.T, s store.Store, prefix string) []string {
	t.Helper()
	objs, _, err := s.List(prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = name(t, o)
	}
	return names
}

func testListOrdered(t *testing.T, s store.Store) {
	// Inserted out of order; byte order of keys decides, so "b-10" sorts
	// before "b-2".
	for _, n := range []string{"m", "b-2", "z", "a", "b-10", "c", "B"} {
		mustCreate(t, s, "/cm/"+n, configMap(n, n))
	}
	want := []string{"B", "a", "b-10", "b-2", "c", "m", "z"}
	if got := listNames(t, s, "/cm/"); !slices.Equal(got, want) {
		t.Fatalf("List order = %v, want %v", got, want)
	}
	if got := listNames(t, s, "/cm/b"); !slices.Equal(got, []string{"b-10", "b-2"}) {
		t.Fatalf("List(/cm/b) = %v, want [b-10 b-2]", got)
	}
}

func testListPrefixIsolation(t *testing.T, s store.Store) {
	keys := map[string]string{ // key -> name, created in sorted key order below
		"/a":      "bare",
		"/a/":     "slash",
		"/a/x":    "ax",
		"/a/y/z":  "ayz",
		"/ab/x":   "abx",
		"/a0/x":   "a0x",
		"/a./x":   "adotx",
		"/b/a/x":  "bax",
		"/0/a/":   "zeroa",
		"/aa":     "aa",
		"/a/\xff": "high",
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	for _, k := range sorted {
		mustCreate(t, s, k, configMap(keys[k], k))
	}
	cases := []struct {
		prefix string
		want   []string
	}{
		{"/a/", []string{"slash", "ax", "ayz", "high"}},
		{"/ab/", []string{"abx"}},
		{"/a/y/", []string{"ayz"}},
		{"/b/", []string{"bax"}},
		{"/c/", nil},
		{"/a/x", []string{"ax"}},
	}
	for _, c := range cases {
		got := listNames(t, s, c.prefix)
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("List(%q) = %v, want %v", c.prefix, got, c.want)
		}
	}
	if got := listNames(t, s, "/"); len(got) != len(keys) {
		t.Errorf("List(/) returned %d objects, want %d", len(got), len(keys))
	}
}

func testListRevision(t *testing.T, s store.Store) {
	mustCreate(t, s, "/cm/a", configMap("a", "1"))
	mustCreate(t, s, "/other/b", configMap("b", "1")) // outside the listed prefix
	_, rev, err := s.List("/cm/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if want := s.Revision(); rev != want {
		t.Fatalf("List revision = %d, want the store revision %d", rev, want)
	}
}

func testListEmpty(t *testing.T, s store.Store) {
	objs, rev, err := s.List("/nothing/")
	if err != nil || len(objs) != 0 {
		t.Fatalf("List on empty prefix = %d objects, %v", len(objs), err)
	}
	if rev != s.Revision() {
		t.Fatalf("List revision = %d, want %d", rev, s.Revision())
	}
}

func testListAfterDelete(t *testing.T, s store.Store) {
	for _, n := range []string{"a", "b", "c"} {
		mustCreate(t, s, "/cm/"+n, configMap(n, n))
	}
	mustDelete(t, s, "/cm/b", 0)
	mustUpdate(t, s, "/cm/c", configMap("c", "c2"), 0)
	objs, _, err := s.List("/cm/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(objs) != 2 || name(t, objs[0]) != "a" || value(t, objs[1]) != "c2" {
		t.Fatalf("List after delete/update = %v", listNames(t, s, "/cm/"))
	}
}
