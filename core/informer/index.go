package informer

import (
	"slices"
	"sort"

	"github.com/drydock-sim/drydock/core/api"
)

// index is one secondary index: value -> bucket of objects.
type index struct {
	name    string
	fn      IndexFunc
	buckets map[string]*bucket
}

// bucket holds the objects with one index value. Besides the map it keeps
// the keys in sorted order so ByIndex, which controllers call on every
// reconcile (a ReplicaSet's pods on every pod event), costs a copy rather
// than a sort. Small buckets stay sorted through insertions; a large one
// whose key set changes is re-sorted lazily on the next read.
type bucket struct {
	objs   map[string]api.Object
	keys   []string     // sorted; valid unless stale
	sorted []api.Object // parallel to keys
	stale  bool
}

// maxSortedInsert bounds the size up to which a bucket is kept sorted by
// insertion (an O(n) move); beyond it a key set change re-sorts on read.
const maxSortedInsert = 1024

func (x *index) add(v, key string, obj api.Object) {
	b := x.buckets[v]
	if b == nil {
		b = &bucket{objs: map[string]api.Object{}}
		x.buckets[v] = b
	}
	b.put(key, obj)
}

func (x *index) remove(v, key string) {
	b := x.buckets[v]
	if b == nil {
		return
	}
	b.del(key)
	if len(b.objs) == 0 {
		delete(x.buckets, v)
	}
}

// replace swaps the object under key in bucket v, whose key set is unchanged.
func (x *index) replace(v, key string, obj api.Object) {
	if b := x.buckets[v]; b != nil {
		b.replace(key, obj)
	}
}

// replace is put for a key the bucket holds: the sorted position is found
// without first asking the map whether the key is new.
func (b *bucket) replace(key string, obj api.Object) {
	if !b.stale {
		n, found := slices.BinarySearch(b.keys, key)
		if !found {
			b.put(key, obj) // not held after all: the general path
			return
		}
		b.sorted[n] = obj
	}
	b.objs[key] = obj
}

func (b *bucket) put(key string, obj api.Object) {
	_, had := b.objs[key]
	b.objs[key] = obj
	if b.stale {
		return
	}
	n, found := slices.BinarySearch(b.keys, key)
	switch {
	case found:
		b.sorted[n] = obj
	case had:
		b.stale = true // cannot happen: keys mirror objs
	case len(b.keys) < maxSortedInsert:
		b.keys = slices.Insert(b.keys, n, key)
		b.sorted = slices.Insert(b.sorted, n, obj)
	default:
		b.markStale()
	}
}

func (b *bucket) del(key string) {
	if _, had := b.objs[key]; !had {
		return
	}
	delete(b.objs, key)
	if b.stale {
		return
	}
	if len(b.keys) > maxSortedInsert {
		b.markStale()
		return
	}
	if n, found := slices.BinarySearch(b.keys, key); found {
		b.keys = slices.Delete(b.keys, n, n+1)
		b.sorted = slices.Delete(b.sorted, n, n+1)
	}
}

func (b *bucket) markStale() { b.stale, b.keys, b.sorted = true, nil, nil }

// list returns the bucket's objects ordered by key; the caller gets its own slice.
func (b *bucket) list() []api.Object { return slices.Clone(b.shared()) }

// shared returns the bucket's own sorted slice, capped so an append by the
// caller cannot write into it.
func (b *bucket) shared() []api.Object {
	if b.stale {
		b.keys = make([]string, 0, len(b.objs))
		for k := range b.objs {
			b.keys = append(b.keys, k)
		}
		sort.Strings(b.keys)
		b.sorted = make([]api.Object, len(b.keys))
		for n, k := range b.keys {
			b.sorted[n] = b.objs[k]
		}
		b.stale = false
	}
	return b.sorted[:len(b.sorted):len(b.sorted)]
}

func sameValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
