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
	items    map[string]api.Object
	indices  []*index // in registration order
	byName   map[string]*index
	handlers []Handler
	synced   bool
	rv       string
	sorted   []api.Object // List cache; nil when stale
	keys     []string     // the keys of sorted
	keyBuf   []byte       // scratch for building keys to look up
}

// New returns an empty informer for r.
func New(r *api.Resource) *Informer {
	return &Informer{Resource: r, items: map[string]api.Object{}, byName: map[string]*index{}}
}

// AddIndex registers a secondary index. Call before the first event.
func (i *Informer) AddIndex(name string, fn IndexFunc) {
	idx := &index{name: name, fn: fn, buckets: map[string]*bucket{}}
	if old := i.byName[name]; old != nil {
		i.indices = slices.DeleteFunc(i.indices, func(x *index) bool { return x == old })
	}
	i.indices = append(i.indices, idx)
	i.byName[name] = idx
	for k, o := range i.items {
		for _, v := range fn(o) {
			idx.add(v, k, o)
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
	if ns == "" {
		o, ok := i.items[name]
		return o, ok
	}
	// Built in a scratch buffer: the lookup does not allocate.
	i.keyBuf = append(append(append(i.keyBuf[:0], ns...), '/'), name...)
	o, ok := i.items[string(i.keyBuf)]
	return o, ok
}

// GetKey returns a cached object by key.
func (i *Informer) GetKey(key string) (api.Object, bool) {
	o, ok := i.items[key]
	return o, ok
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
			i.sorted[n] = i.items[k]
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

// IndexLen is the number of distinct values the index holds objects under
// (0 for an unknown index).
func (i *Informer) IndexLen(index string) int {
	if idx := i.byName[index]; idx != nil {
		return len(idx.buckets)
	}
	return 0
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
	key := Key(obj)
	old, had := i.items[key]
	if ev.Type == api.WatchDeleted {
		if !had {
			return
		}
		i.remove(key, old)
		for _, h := range i.handlers {
			if h.OnDelete != nil {
				h.OnDelete(old)
			}
		}
		return
	}
	i.put(key, old, obj)
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
		old, had := i.items[key]
		if had && old.GetResourceVersion() == obj.GetResourceVersion() {
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
		i.Apply(api.WatchEvent{Type: api.WatchDeleted, Object: i.items[k]})
	}
	i.rv = rv
	i.synced = true
}

func (i *Informer) put(key string, old, obj api.Object) {
	if old == nil {
		i.sorted = nil
	} else if i.sorted != nil {
		// Same key set: patch the cached sorted slice in place.
		if n, found := slices.BinarySearch(i.keys, key); found {
			i.sorted[n] = obj
		} else {
			i.sorted = nil
		}
	}
	i.items[key] = obj
	for _, idx := range i.indices {
		cur := idx.fn(obj)
		if old != nil {
			prev := idx.fn(old)
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
	}
}

func (i *Informer) remove(key string, old api.Object) {
	delete(i.items, key)
	i.sorted = nil
	for _, idx := range i.indices {
		for _, v := range idx.fn(old) {
			idx.remove(v, key)
		}
	}
}
