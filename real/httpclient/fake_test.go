package httpclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/apiserver"
	"github.com/drydock-sim/drydock/core/rng"
	"github.com/drydock-sim/drydock/core/store/memstore"
	"github.com/drydock-sim/drydock/real/loop"
)

// fakeServer is a minimal Kubernetes REST front for core/apiserver, enough
// to exercise the client including failures real/apihttp would not produce
// on demand (cut streams, errors on re-watch).
type fakeServer struct {
	t   *testing.T
	api *apiserver.Server
	srv *httptest.Server

	mu sync.Mutex
	// cut is closed to end every open watch stream.
	cut chan struct{}
	// closing is closed when the test ends, ending every watch.
	closing chan struct{}
	// watchFail, if set, answers watch requests instead of the server
	// (return false to serve normally).
	watchFail func(w http.ResponseWriter, r *http.Request) bool
	requests  []string // METHOD path?query, in order
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	l := loop.New() // wall clock only; the server calls none of its timers
	srv, err := apiserver.New(apiserver.Config{Store: memstore.New(), Clock: l, Rand: rng.Stream(1, "apiserver"), WatchWindow: 50})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{t: t, api: srv, cut: make(chan struct{}), closing: make(chan struct{})}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.EnableHTTP2 = true
	f.srv.StartTLS()
	t.Cleanup(func() {
		close(f.closing)
		f.srv.Close()
		srv.Close()
	})
	return f
}

// client returns a client of f whose watch events run on a started loop.
func (f *fakeServer) client(t *testing.T, mod func(*Config)) (*Client, *loop.Loop) {
	t.Helper()
	l := loop.New()
	ctx, cancel := context.WithCancel(context.Background())
	go l.Run(ctx) //nolint:errcheck
	cfg := Config{Server: f.srv.URL, Transport: f.srv.Client().Transport, Post: l.Post, RetryBackoff: 10 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); cancel(); <-l.Done() })
	return c, l
}

func (f *fakeServer) cutWatches() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.cut)
	f.cut = make(chan struct{})
}

func (f *fakeServer) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func writeStatus(w http.ResponseWriter, err error) {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		se = apierrors.NewInternalError(err)
	}
	st := se.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	json.NewEncoder(w).Encode(st) //nolint:errcheck
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) //nolint:errcheck
}

// route parses /api/v1/... and /apis/g/v/... paths.
func route(path string) (r *api.Resource, ns, name, sub string, ok bool) {
	var group, version string
	var parts []string
	switch p := strings.Split(strings.Trim(path, "/"), "/"); {
	case len(p) >= 3 && p[0] == "api":
		version, parts = p[1], p[2:]
	case len(p) >= 4 && p[0] == "apis":
		group, version, parts = p[1], p[2], p[3:]
	default:
		return nil, "", "", "", false
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		ns, parts = parts[1], parts[2:]
	}
	for _, res := range api.All {
		if res.Name == parts[0] && res.Group == group && res.Version == version {
			r = res
		}
	}
	if r == nil {
		return nil, "", "", "", false
	}
	if len(parts) > 1 {
		name = parts[1]
	}
	if len(parts) > 2 {
		sub = parts[2]
	}
	return r, ns, name, sub, true
}

func (f *fakeServer) serve(w http.ResponseWriter, req *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, req.Method+" "+req.URL.Path+"?"+req.URL.RawQuery)
	f.mu.Unlock()
	r, ns, name, sub, ok := route(req.URL.Path)
	if !ok {
		writeStatus(w, apierrors.NewNotFound(api.Pods.GroupResource(), req.URL.Path))
		return
	}
	ctx := req.Context()
	body, _ := io.ReadAll(req.Body)
	q := req.URL.Query()
	decode := func() (api.Object, bool) {
		obj := r.New()
		if err := json.Unmarshal(body, obj); err != nil {
			writeStatus(w, apierrors.NewBadRequest(err.Error()))
			return nil, false
		}
		return obj, true
	}
	switch {
	case req.Method == http.MethodGet && name == "" && q.Get("watch") == "true":
		f.watch(w, req, r, ns)
	case req.Method == http.MethodGet && name == "":
		opts := metav1.ListOptions{LabelSelector: q.Get("labelSelector"), FieldSelector: q.Get("fieldSelector")}
		objs, rv, err := f.api.List(ctx, r, ns, opts)
		if err != nil {
			writeStatus(w, err)
			return
		}
		items := make([]json.RawMessage, len(objs))
		for i, o := range objs {
			items[i], _ = json.Marshal(o)
		}
		writeJSON(w, 200, map[string]any{"kind": r.ListKind, "apiVersion": r.APIVersion(),
			"metadata": map[string]string{"resourceVersion": rv}, "items": items})
	case req.Method == http.MethodGet:
		obj, err := f.api.Get(ctx, r, ns, name)
		if err != nil {
			writeStatus(w, err)
			return
		}
		writeJSON(w, 200, obj)
	case req.Method == http.MethodPost && sub == "binding":
		var b corev1.Binding
		if err := json.Unmarshal(body, &b); err != nil {
			writeStatus(w, apierrors.NewBadRequest(err.Error()))
			return
		}
		if err := f.api.Bind(ctx, &b); err != nil {
			writeStatus(w, err)
			return
		}
		writeJSON(w, 201, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: 201})
	case req.Method == http.MethodPost && sub == "eviction":
		var e policyv1.Eviction
		if err := json.Unmarshal(body, &e); err != nil {
			writeStatus(w, apierrors.NewBadRequest(err.Error()))
			return
		}
		if err := f.api.Evict(ctx, &e); err != nil {
			writeStatus(w, err)
			return
		}
		writeJSON(w, 201, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: 201})
	case req.Method == http.MethodPost:
		obj, ok := decode()
		if !ok {
			return
		}
		out, err := f.api.Create(ctx, obj, metav1.CreateOptions{})
		if err != nil {
			writeStatus(w, err)
			return
		}
		writeJSON(w, 201, out)
	case req.Method == http.MethodPut:
		obj, ok := decode()
		if !ok {
			return
		}
		out, err := f.api.Update(ctx, obj, sub)
		if err != nil {
			writeStatus(w, err)
			return
		}
		writeJSON(w, 200, out)
	case req.Method == http.MethodPatch:
		out, err := f.api.Patch(ctx, r, ns, name, types.PatchType(req.Header.Get("Content-Type")), body, sub)
		if err != nil {
			writeStatus(w, err)
			return
		}
		writeJSON(w, 200, out)
	case req.Method == http.MethodDelete:
		var opts metav1.DeleteOptions
		if len(body) > 0 {
			if err := json.Unmarshal(body, &opts); err != nil {
				writeStatus(w, apierrors.NewBadRequest(err.Error()))
				return
			}
		}
		out, _, err := f.api.Delete(ctx, r, ns, name, opts)
		if err != nil {
			writeStatus(w, err)
			return
		}
		writeJSON(w, 200, out) // Kubernetes answers the object either way
	default:
		writeStatus(w, apierrors.NewMethodNotSupported(r.GroupResource(), req.Method))
	}
}

func (f *fakeServer) watch(w http.ResponseWriter, req *http.Request, r *api.Resource, ns string) {
	f.mu.Lock()
	hook, cut := f.watchFail, f.cut
	f.mu.Unlock()
	if hook != nil && hook(w, req) {
		return
	}
	q := req.URL.Query()
	opts := metav1.ListOptions{ResourceVersion: q.Get("resourceVersion"), LabelSelector: q.Get("labelSelector"),
		FieldSelector: q.Get("fieldSelector")}
	var mu sync.Mutex
	var queue []api.WatchEvent
	wake := make(chan struct{}, 1)
	cancel, err := f.api.Watch(req.Context(), r, ns, opts, func(ev api.WatchEvent) {
		mu.Lock()
		queue = append(queue, ev)
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	if err != nil {
		writeStatus(w, err)
		return
	}
	defer cancel()
	timeout := time.Hour
	if s := q.Get("timeoutSeconds"); s != "" {
		n, _ := strconv.Atoi(s)
		timeout = time.Duration(n) * time.Second
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	fl := w.(http.Flusher)
	fl.Flush()
	enc := json.NewEncoder(w)
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	for {
		mu.Lock()
		evs := queue
		queue = nil
		mu.Unlock()
		for _, ev := range evs {
			enc.Encode(map[string]any{"type": ev.Type, "object": ev.Object}) //nolint:errcheck
		}
		fl.Flush()
		select {
		case <-wake:
		case <-cut:
			return
		case <-f.closing:
			return
		case <-tm.C:
			return
		case <-req.Context().Done():
			return
		}
	}
}

func newPlainServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}
