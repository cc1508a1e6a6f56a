package apiserver

import (
	"context"
	"sort"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/store"
)

// Watch calls fn for every change to objects of r in ns ("" = all) that
// match opts' selectors, after opts.ResourceVersion. With resourceVersion ""
// or "0" it first sends a synthetic ADDED for every current object, as
// Kubernetes does; with SendInitialEvents it ends those with a bookmark
// annotated k8s.io/initial-events-end. A resourceVersion older than the watch
// window fails with 410 Expired. An object that stops matching the selectors
// is reported DELETED, one that starts matching ADDED.
//
// fn is called synchronously from the write path and must not call back into
// the server; the simulator queues events, real mode buffers them.
func (s *Server) Watch(ctx context.Context, r *api.Resource, ns string, opts metav1.ListOptions, fn func(api.WatchEvent)) (func(), error) {
	sel, err := parseSelectors(r, opts)
	if err != nil {
		return nil, err
	}
	if !r.Namespaced {
		ns = ""
	}
	w := &watcher{ns: ns, sel: sel, r: r, fn: fn}
	h := s.hubs[r]
	rv := opts.ResourceVersion
	initial := rv == "" || rv == "0" || (opts.SendInitialEvents != nil && *opts.SendInitialEvents)
	if !initial {
		from, err := strconv.ParseInt(rv, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest("invalid resource version: " + rv)
		}
		if err := h.attach(w, from); err != nil {
			return nil, err
		}
		return func() { h.detach(w) }, nil
	}
	// Initial state and attachment happen under the write lock so no write
	// can fall between the list and the first live event.
	s.mu.Lock()
	defer s.mu.Unlock()
	objs, rev, err := s.store.List(r.KeyPrefix(ns))
	if err != nil {
		return nil, storeError(err, r, "")
	}
	for _, o := range objs {
		if obj := o.(api.Object); sel.matches(r, obj) {
			fn(api.WatchEvent{Type: api.WatchAdded, Object: obj})
		}
	}
	if opts.SendInitialEvents != nil && *opts.SendInitialEvents {
		bm := r.New()
		api.SetTypeMeta(bm)
		bm.SetResourceVersion(strconv.FormatInt(rev, 10))
		bm.SetAnnotations(map[string]string{api.InitialEventsEndAnnotation: "true"})
		fn(api.WatchEvent{Type: api.WatchBookmark, Object: bm, Revision: rev})
	}
	if err := h.attach(w, rev); err != nil {
		return nil, err
	}
	return func() { h.detach(w) }, nil
}

// watcher is one client watch.
type watcher struct {
	r      *api.Resource
	ns     string
	sel    *selectors
	fn     func(api.WatchEvent)
	from   int64 // deliver only revisions above this
	seq    uint64
	closed bool
}

// hub fans one store watch per resource out to client watches, indexing pod
// watches by spec.nodeName so a kubelet's watch costs nothing for other
// nodes' pods. It keeps a window of recent events for resuming watches.
type hub struct {
	r       *api.Resource
	mu      sync.Mutex
	all     map[*watcher]struct{}
	byNode  map[string]map[*watcher]struct{}
	window  []store.Event // ring of recent events, oldest first
	size    int
	lastRev int64
	order   []*watcher // reused dispatch buffer
	nextSeq uint64
}

func newHub(r *api.Resource, size int) *hub {
	return &hub{r: r, all: map[*watcher]struct{}{}, byNode: map[string]map[*watcher]struct{}{}, size: size}
}

func (h *hub) attach(w *watcher, from int64) error {
	h.mu.Lock()
	if len(h.window) > 0 && from < h.window[0].Revision-1 {
		h.mu.Unlock()
		return apierrors.NewResourceExpired("too old resource version: " + strconv.FormatInt(from, 10) +
			" (" + strconv.FormatInt(h.window[0].Revision-1, 10) + ")")
	}
	if len(h.window) == 0 && from < h.lastRev {
		h.mu.Unlock()
		return apierrors.NewResourceExpired("too old resource version: " + strconv.FormatInt(from, 10))
	}
	var replay []store.Event
	for _, ev := range h.window {
		if ev.Revision > from {
			replay = append(replay, ev)
		}
	}
	w.from = from
	h.nextSeq++
	w.seq = h.nextSeq
	if len(replay) > 0 {
		w.from = replay[len(replay)-1].Revision
	}
	if w.sel.byNodeName {
		m := h.byNode[w.sel.nodeName]
		if m == nil {
			m = map[*watcher]struct{}{}
			h.byNode[w.sel.nodeName] = m
		}
		m[w] = struct{}{}
	} else {
		h.all[w] = struct{}{}
	}
	// Replay under the lock: a concurrent dispatch either ran before (its
	// event is in the replay) or waits until the replay is done.
	defer h.mu.Unlock()
	for _, ev := range replay {
		w.deliver(ev)
	}
	return nil
}

func (h *hub) detach(w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w.closed = true
	if w.sel.byNodeName {
		if m := h.byNode[w.sel.nodeName]; m != nil {
			delete(m, w)
			if len(m) == 0 {
				delete(h.byNode, w.sel.nodeName)
			}
		}
		return
	}
	delete(h.all, w)
}

// dispatch receives the store's events for the hub's resource.
func (h *hub) dispatch(ev store.Event) {
	h.mu.Lock()
	if len(h.window) >= h.size {
		copy(h.window, h.window[1:])
		h.window = h.window[:len(h.window)-1]
	}
	h.window = append(h.window, ev)
	h.lastRev = ev.Revision
	targets := h.order[:0]
	for w := range h.all {
		targets = append(targets, w)
	}
	if h.r == api.Pods {
		nodes := podNodes(ev)
		for _, n := range nodes {
			for w := range h.byNode[n] {
				targets = append(targets, w)
			}
		}
	}
	// Map order must not reach delivery order: watchers are served in the
	// order they attached.
	h.order = targets
	h.mu.Unlock()
	sort.Slice(targets, func(i, j int) bool { return targets[i].seq < targets[j].seq })
	for _, w := range targets {
		if ev.Revision > w.from && !w.closed {
			w.deliver(ev)
		}
	}
}

func podNodes(ev store.Event) []string {
	var out []string
	if p, ok := ev.Object.(*corev1.Pod); ok && p.Spec.NodeName != "" {
		out = append(out, p.Spec.NodeName)
	}
	if ev.PrevObject != nil {
		if p, ok := ev.PrevObject.(*corev1.Pod); ok && p.Spec.NodeName != "" && (len(out) == 0 || out[0] != p.Spec.NodeName) {
			out = append(out, p.Spec.NodeName)
		}
	}
	return out
}

func (w *watcher) deliver(ev store.Event) {
	obj := ev.Object.(api.Object)
	if w.ns != "" && obj.GetNamespace() != w.ns {
		return
	}
	now := w.sel.matches(w.r, obj)
	was := false
	if ev.PrevObject != nil {
		was = w.sel.matches(w.r, ev.PrevObject.(api.Object))
	}
	var t api.WatchEventType
	switch {
	case ev.Type == store.Deleted:
		if !now {
			return
		}
		t = api.WatchDeleted
	case now && (was || ev.Type == store.Added):
		if ev.Type == store.Added {
			t = api.WatchAdded
		} else {
			t = api.WatchModified
		}
	case now:
		t = api.WatchAdded
	case was:
		t = api.WatchDeleted
	default:
		return
	}
	w.fn(api.WatchEvent{Type: t, Object: obj, Revision: ev.Revision})
}
