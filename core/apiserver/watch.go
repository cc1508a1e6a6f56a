package apiserver

import (
	"cmp"
	"context"
	"slices"
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
// fn must not call back into the server (cancel included). Over a
// synchronous store (the simulator's memstore) it is called from the write
// path; over an asynchronous one (etcd) from the store's delivery goroutine,
// one event at a time and in revision order. Either way a watch from a
// resourceVersion the caller got from a write or a list sees every later
// event, even those the store has not delivered yet. After cancel returns fn
// is not called again.
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
	r   *api.Resource
	ns  string
	sel *selectors
	fn  func(api.WatchEvent)
	seq uint64
	// mu is held while fn runs and guards from and closed: detach takes it
	// to wait for a delivery in progress, so no fn call follows it.
	mu     sync.Mutex
	from   int64 // deliver only revisions above this
	closed bool
}

// hub fans one store watch per resource out to client watches, indexing pod
// watches by spec.nodeName so a kubelet's watch costs nothing for other
// nodes' pods. It keeps a window of recent events for resuming watches.
//
// Every write of the resource passes through dispatch (1000 kubelets renew
// their leases every 10 s), so dispatch allocates nothing and does no work
// proportional to the window or to the number of watchers it skips.
type hub struct {
	r      *api.Resource
	mu     sync.Mutex
	all    []*watcher            // watchers without a node index, in attach order
	byNode map[string][]*watcher // pod watches by spec.nodeName, each in attach order
	// window is a ring of the newest events: win[(head+i)%len(win)] for
	// i < n, oldest first. Shifting a slice instead would copy the whole
	// window on every write.
	win     []store.Event
	head, n int
	lastRev int64
	order   []*watcher // reused dispatch buffer
	nextSeq uint64
}

func newHub(r *api.Resource, size int) *hub {
	return &hub{r: r, byNode: map[string][]*watcher{}, win: make([]store.Event, 0, size)}
}

// at is the i-th oldest event in the window.
func (h *hub) at(i int) *store.Event { return &h.win[(h.head+i)%cap(h.win)] }

// remember adds ev to the window, dropping the oldest event when it is full.
func (h *hub) remember(ev store.Event) {
	if c := cap(h.win); h.n < c {
		if len(h.win) < c {
			h.win = append(h.win, ev)
		} else {
			*h.at(h.n) = ev
		}
		h.n++
		return
	}
	h.win[h.head] = ev
	h.head = (h.head + 1) % cap(h.win)
}

func (h *hub) attach(w *watcher, from int64) error {
	h.mu.Lock()
	if h.n > 0 && from < h.at(0).Revision-1 {
		h.mu.Unlock()
		return apierrors.NewResourceExpired("too old resource version: " + strconv.FormatInt(from, 10) +
			" (" + strconv.FormatInt(h.at(0).Revision-1, 10) + ")")
	}
	if h.n == 0 && from < h.lastRev {
		h.mu.Unlock()
		return apierrors.NewResourceExpired("too old resource version: " + strconv.FormatInt(from, 10))
	}
	var replay []store.Event
	for i := 0; i < h.n; i++ {
		if ev := h.at(i); ev.Revision > from {
			replay = append(replay, *ev)
		}
	}
	// A store that delivers asynchronously may not have handed this hub
	// every event up to from yet (from came from a write or a list); those
	// arrive later through dispatch and are skipped there, being <= from.
	w.mu.Lock()
	defer w.mu.Unlock()
	w.from = from
	h.nextSeq++
	w.seq = h.nextSeq
	if len(replay) > 0 {
		w.from = replay[len(replay)-1].Revision
	}
	// Appending keeps each list in attach (seq) order.
	if w.sel.byNodeName {
		h.byNode[w.sel.nodeName] = append(h.byNode[w.sel.nodeName], w)
	} else {
		h.all = append(h.all, w)
	}
	// Replay under the lock: a concurrent dispatch either ran before (its
	// event is in the replay) or waits until the replay is done.
	defer h.mu.Unlock()
	for _, ev := range replay {
		w.deliver(ev)
	}
	return nil
}

// detach removes w; once it returns, w.fn is not running and will not run.
func (h *hub) detach(w *watcher) {
	h.remove(w)
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

func (h *hub) remove(w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w.sel.byNodeName {
		ws := removeWatcher(h.byNode[w.sel.nodeName], w)
		if len(ws) == 0 {
			delete(h.byNode, w.sel.nodeName)
		} else {
			h.byNode[w.sel.nodeName] = ws
		}
		return
	}
	h.all = removeWatcher(h.all, w)
}

// removeWatcher deletes w from ws keeping the order; the slice is copied so
// a dispatch iterating over the old one is not disturbed.
func removeWatcher(ws []*watcher, w *watcher) []*watcher {
	i := slices.Index(ws, w)
	if i < 0 {
		return ws
	}
	out := make([]*watcher, 0, len(ws)-1)
	out = append(out, ws[:i]...)
	return append(out, ws[i+1:]...)
}

// dispatch receives the store's events for the hub's resource.
func (h *hub) dispatch(ev store.Event) {
	h.mu.Lock()
	h.remember(ev)
	h.lastRev = ev.Revision
	targets := append(h.order[:0], h.all...)
	if h.r == api.Pods && len(h.byNode) > 0 {
		cur, prev := podNodes(ev)
		n := len(targets)
		if cur != "" {
			targets = append(targets, h.byNode[cur]...)
		}
		if prev != "" {
			targets = append(targets, h.byNode[prev]...)
		}
		if len(targets) > n && (n > 0 || (cur != "" && prev != "")) {
			// Several lists: map and list order must not reach delivery
			// order, watchers are served in the order they attached.
			slices.SortFunc(targets, func(a, b *watcher) int { return cmp.Compare(a.seq, b.seq) })
		}
	}
	h.order = targets
	h.mu.Unlock()
	for _, w := range targets {
		w.mu.Lock()
		if ev.Revision > w.from && !w.closed {
			w.deliver(ev)
		}
		w.mu.Unlock()
	}
	clear(targets)
}

// podNodes returns the node of a pod event's object and, if different, the
// node of its previous version.
func podNodes(ev store.Event) (cur, prev string) {
	if p, ok := ev.Object.(*corev1.Pod); ok {
		cur = p.Spec.NodeName
	}
	if ev.PrevObject != nil {
		if p, ok := ev.PrevObject.(*corev1.Pod); ok && p.Spec.NodeName != cur {
			prev = p.Spec.NodeName
		}
	}
	return cur, prev
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
