// Package informer keeps a component's local cache of one resource, fed by a
// list followed by a watch (the Reflector), with secondary indexes and event
// handlers, like client-go's shared informers but single-threaded: the driver
// delivers every event on its control loop.
package informer

import (
	"slices"
	"sort"

	"github.com/drydock-sim/drydock/core/api"
)

// Handler reacts to cache changes. Any field may be nil. Objects are shared:
// never modify them.
type Handler struct {
	OnAdd    func(obj api.Object)
	OnUpdate func(old, cur api.Object)
	OnDelete func(obj api.Object)
}

// IndexFunc returns the index values of an object.
type IndexFunc func(obj api.Object) []string

// Key is the cache key of an object: "namespace/name", or "name" for
// cluster-scoped objects.
func Key(obj api.Object) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns + "/" + obj.GetName()
	}
	return obj.GetName()
}

// SplitKey splits a cache key into namespace and name.
func SplitKey(key string) (ns, name string) {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}

// Informer is a cache of one resource.
type Informer struct {
	Resource *api.Resource
	items    map[string]*item
	indices  []*index // in registration order
	byName   map[string]*index
	handlers []Handler
	synced   bool
	rv       string
	sorted   []api.Object // List cache; nil when stale
	keys     []string     // the keys of sorted
	keyBuf   []byte       // scratch for building keys to look up
}

// item is one cached object with its key and, per index (in the order of
// indices), the values the index function gave it, so an update or delete
// need not call the index functions on the old object again.
type item struct {
	key  string
	obj  api.Object
	vals [][]string
}

// New returns an empty informer for r.
func New(r *api.Resource) *Informer {
	return &Informer{Resource: r, items: map[string]*item{}, byName: map[string]*index{}}
}

// AddIndex registers a secondary index. Call before the first event.
func (i *Informer) AddIndex(name string, fn IndexFunc) {
	idx := &index{name: name, fn: fn, buckets: map[string]*bucket{}}
	if old := i.byName[name]; old != nil {
		i.indices = slices.DeleteFunc(i.indices, func(x *index) bool { return x == old })
	}
	i.indices = append(i.indices, idx)
	i.byName[name] = idx
	// Rebuild every item's value list against the new index order (map
	// order does not matter: buckets keep their own key order).
	for _, it := range i.items {
		it.vals = it.vals[:0]
		for _, x := range i.indices {
			vals := x.fn(it.obj)
			it.vals = append(it.vals, vals)
			if x == idx {
				for _, v := range vals {
					idx.add(v, it.key, it.obj)
				}
			}
		}
	}
}

// AddHandler registers a handler; it is called for future changes only.
func (i *Informer) AddHandler(h Handler) { i.handlers = append(i.handlers, h) }

// HasSynced reports whether the first list has been loaded.
func (i *Informer) HasSynced() bool { return i.synced }

// ResourceVersion is the last resourceVersion the cache has seen.
func (i *Informer) ResourceVersion() string { return i.rv }

// Len is the number of cached objects.
func (i *Informer) Len() int { return len(i.items) }

// Get returns a cached object.
func (i *Informer) Get(ns, name string) (api.Object, bool) {
	var it *item
	if ns == "" {
		it = i.items[name]
	} else {
		it = i.items[string(i.buildKey(ns, name))] // no allocation for the lookup
	}
	if it == nil {
		return nil, false
	}
	return it.obj, true
}

// GetKey returns a cached object by key.
func (i *Informer) GetKey(key string) (api.Object, bool) {
	if it := i.items[key]; it != nil {
		return it.obj, true
	}
	return nil, false
}

// buildKey writes "ns/name" into the scratch buffer.
func (i *Informer) buildKey(ns, name string) []byte {
	i.keyBuf = append(append(append(i.keyBuf[:0], ns...), '/'), name...)
	return i.keyBuf
}

// lookup finds obj's item; key is its cache key, allocated only when the
// object is not cached yet.
func (i *Informer) lookup(obj api.Object) (it *item, key string) {
	ns, name := obj.GetNamespace(), obj.GetName()
	if ns == "" {
		return i.items[name], name
	}
	if it = i.items[string(i.buildKey(ns, name))]; it != nil {
		return it, it.key
	}
	return nil, ns + "/" + name
}

// List returns every cached object ordered by key. The slice is shared until
// the next change: do not modify it.
func (i *Informer) List() []api.Object {
	if i.sorted == nil {
		keys := make([]string, 0, len(i.items))
		for k := range i.items {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		i.sorted = make([]api.Object, len(keys))
		for n, k := range keys {
			i.sorted[n] = i.items[k].obj
		}
		i.keys = keys
	}
	return i.sorted
}

// ByIndex returns the objects with the given index value, ordered by key.
func (i *Informer) ByIndex(index, value string) []api.Object {
	idx := i.byName[index]
	if idx == nil {
		return nil
	}
	b := idx.buckets[value]
	if b == nil || len(b.objs) == 0 {
		return nil
	}
	return b.list()
}

// ByIndexShared is ByIndex without the copy, for hot paths: the slice is
// the index's own and valid only until the informer next changes; the
// caller must neither modify nor keep it.
func (i *Informer) ByIndexShared(index, value string) []api.Object {
	idx := i.byName[index]
	if idx == nil {
		return nil
	}
	b := idx.buckets[value]
	if b == nil || len(b.objs) == 0 {
		return nil
	}
	return b.shared()
}

// CountByIndex is the number of objects with the index value.
func (i *Informer) CountByIndex(index, value string) int {
	if idx := i.byName[index]; idx != nil {
		if b := idx.buckets[value]; b != nil {
			return len(b.objs)
		}
	}
	return 0
}

// Apply folds one watch event into the cache and calls the handlers.
func (i *Informer) Apply(ev api.WatchEvent) {
	switch ev.Type {
	case api.WatchBookmark:
		i.rv = ev.Object.(api.Object).GetResourceVersion()
		return
	case api.WatchError:
		return
	}
	obj := ev.Object.(api.Object)
	i.rv = obj.GetResourceVersion()
	it, key := i.lookup(obj)
	had := it != nil
	var old api.Object
	if had {
		old = it.obj
	}
	if ev.Type == api.WatchDeleted {
		if !had {
			return
		}
		i.remove(it)
		for _, h := range i.handlers {
			if h.OnDelete != nil {
				h.OnDelete(old)
			}
		}
		return
	}
	i.put(it, key, obj)
	for _, h := range i.handlers {
		if had {
			if h.OnUpdate != nil {
				h.OnUpdate(old, obj)
			}
		} else if h.OnAdd != nil {
			h.OnAdd(obj)
		}
	}
}

// Replace swaps the cache contents for a fresh list, calling handlers for the
// differences (adds, updates of changed resourceVersions, deletes), ordered
// by key.
func (i *Informer) Replace(objs []api.Object, rv string) {
	seen := make(map[string]bool, len(objs))
	for _, obj := range objs {
		key := Key(obj)
		seen[key] = true
		if it := i.items[key]; it != nil && it.obj.GetResourceVersion() == obj.GetResourceVersion() {
			continue
		}
		i.Apply(api.WatchEvent{Type: api.WatchModified, Object: obj})
	}
	var gone []string
	for k := range i.items {
		if !seen[k] {
			gone = append(gone, k)
		}
	}
	sort.Strings(gone)
	for _, k := range gone {
		i.Apply(api.WatchEvent{Type: api.WatchDeleted, Object: i.items[k].obj})
	}
	i.rv = rv
	i.synced = true
}

// put stores obj under key; it is the existing item, or nil for a new key.
func (i *Informer) put(it *item, key string, obj api.Object) {
	if it == nil {
		i.sorted = nil
		it = &item{key: key}
		if len(i.indices) > 0 {
			it.vals = make([][]string, len(i.indices))
		}
		i.items[key] = it
	} else if i.sorted != nil {
		// Same key set: patch the cached sorted slice in place.
		if n, found := slices.BinarySearch(i.keys, key); found {
			i.sorted[n] = obj
		} else {
			i.sorted = nil
		}
	}
	updating := it.obj != nil
	it.obj = obj
	for j, idx := range i.indices {
		cur := idx.fn(obj)
		if updating {
			prev := it.vals[j]
			if sameValues(prev, cur) {
				// The common case (a status change): same buckets, new object.
				for _, v := range cur {
					idx.replace(v, key, obj)
				}
				continue
			}
			for _, v := range prev {
				idx.remove(v, key)
			}
		}
		for _, v := range cur {
			idx.add(v, key, obj)
		}
		it.vals[j] = cur
	}
}

func (i *Informer) remove(it *item) {
	delete(i.items, it.key)
	i.sorted = nil
	for j, idx := range i.indices {
		for _, v := range it.vals[j] {
			idx.remove(v, it.key)
		}
	}
}
