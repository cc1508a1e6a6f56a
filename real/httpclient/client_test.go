package httpclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/informer"
	"github.com/drydock-sim/drydock/real/loop"
)

const deadline = 15 * time.Second

// eventually polls cond on the loop until it holds or the deadline passes.
func eventually(t *testing.T, l *loop.Loop, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		var ok bool
		if err := l.Do(func() { ok = cond() }); err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func pod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

func TestNewRejectsBadServer(t *testing.T) {
	for _, s := range []string{"", "ftp://x", "https://", "::"} {
		if _, err := New(Config{Server: s}); err == nil {
			t.Errorf("New(%q) succeeded", s)
		}
	}
}

func TestCRUDAndStatusErrors(t *testing.T) { forEachServer(t, testCRUDAndStatusErrors) }

func testCRUDAndStatusErrors(t *testing.T, f *fakeServer) {
	c, _ := f.client(t, nil)
	ctx := context.Background()

	created, err := c.Create(ctx, pod("p1", ""), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.GetUID() == "" || created.GetResourceVersion() == "" {
		t.Fatalf("created pod lacks uid/resourceVersion: %+v", created)
	}
	if _, err := c.Create(ctx, pod("p1", ""), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: %v, want AlreadyExists", err)
	}
	got, err := c.Get(ctx, api.Pods, "default", "p1")
	if err != nil || got.GetUID() != created.GetUID() {
		t.Fatalf("get: %v %v", got, err)
	}
	if _, err := c.Get(ctx, api.Pods, "default", "nope"); !apierrors.IsNotFound(err) {
		t.Fatalf("get missing: %v, want NotFound", err)
	}
	if _, err := c.Get(ctx, api.Nodes, "", "n1"); !apierrors.IsNotFound(err) {
		t.Fatalf("get missing node: %v, want NotFound", err)
	}

	// Update with a stale resourceVersion conflicts.
	upd := got.(*corev1.Pod).DeepCopy()
	upd.Labels["v"] = "2"
	u1, err := c.Update(ctx, upd, "")
	if err != nil {
		t.Fatal(err)
	}
	if u1.GetLabels()["v"] != "2" {
		t.Fatalf("update lost the label: %v", u1.GetLabels())
	}
	if _, err := c.Update(ctx, upd, ""); !apierrors.IsConflict(err) {
		t.Fatalf("stale update: %v, want Conflict", err)
	}
	// Status subresource.
	st := u1.(*corev1.Pod).DeepCopy()
	st.Status.Message = "hello"
	if out, err := c.Update(ctx, st, "status"); err != nil || out.(*corev1.Pod).Status.Message != "hello" {
		t.Fatalf("status update: %v %v", out, err)
	}
	// Patch.
	p, err := c.Patch(ctx, api.Pods, "default", "p1", types.MergePatchType, []byte(`{"metadata":{"labels":{"patched":"yes"}}}`), "")
	if err != nil || p.GetLabels()["patched"] != "yes" {
		t.Fatalf("patch: %v %v", p, err)
	}
	// Validation errors keep their causes.
	bad := pod("Bad_Name", "")
	if _, err := c.Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("invalid create: %v, want Invalid", err)
	} else if se := err.(*apierrors.StatusError); se.ErrStatus.Details == nil || len(se.ErrStatus.Details.Causes) == 0 {
		t.Fatalf("invalid create lost its causes: %+v", se.ErrStatus)
	}

	// List with a label selector.
	if _, err := c.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	objs, rv, err := c.List(ctx, api.Pods, "default", metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(objs) != 1 || objs[0].GetName() != "p1" || rv == "" {
		t.Fatalf("list: %d objects, rv %q, %v", len(objs), rv, err)
	}
	if _, ok := objs[0].(*corev1.Pod); !ok {
		t.Fatalf("list item is %T", objs[0])
	}
	if _, _, err := c.List(ctx, api.Pods, "default", metav1.ListOptions{FieldSelector: "spec.bogus=1"}); !apierrors.IsBadRequest(err) {
		t.Fatalf("bad field selector: %v, want BadRequest", err)
	}
	// Cluster-scoped and grouped resources.
	if objs, _, err := c.List(ctx, api.Namespaces, "", metav1.ListOptions{}); err != nil || len(objs) < 4 {
		t.Fatalf("namespaces: %d, %v", len(objs), err)
	}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}}
	if _, err := c.Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if d.Kind != "" {
		t.Fatal("Create wrote kind into the caller's object")
	}
	if out, err := c.Get(ctx, api.Deployments, "default", "web"); err != nil || out.(*appsv1.Deployment).Spec.Replicas == nil {
		t.Fatalf("deployment get: %v %v", out, err)
	}
	found := false
	for _, r := range f.log() {
		if strings.HasPrefix(r, "GET /apis/apps/v1/namespaces/default/deployments/web") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no request to the apps group path: %v", f.log())
	}
}

func TestDeleteReportsGone(t *testing.T) { forEachServer(t, testDeleteReportsGone) }

func testDeleteReportsGone(t *testing.T, f *fakeServer) {
	c, _ := f.client(t, nil)
	ctx := context.Background()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	if _, err := c.Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*corev1.Pod{pod("unbound", ""), pod("bound", "n1")} {
		if _, err := c.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tmp"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fg := metav1.DeletePropagationForeground
	zero := int64(0)
	tests := []struct {
		name     string
		r        *api.Resource
		ns, obj  string
		opts     metav1.DeleteOptions
		wantGone bool
	}{
		{"unbound pod goes at once", api.Pods, "default", "unbound", metav1.DeleteOptions{}, true},
		{"bound pod is deleted gracefully", api.Pods, "default", "bound", metav1.DeleteOptions{}, false},
		{"the kubelet's final delete removes it", api.Pods, "default", "bound", metav1.DeleteOptions{GracePeriodSeconds: &zero}, true},
		{"namespace terminates first", api.Namespaces, "", "tmp", metav1.DeleteOptions{}, false},
		{"foreground keeps the object", api.Nodes, "", "n1", metav1.DeleteOptions{PropagationPolicy: &fg}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, gone, err := c.Delete(ctx, tc.r, tc.ns, tc.obj, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if gone != tc.wantGone {
				t.Fatalf("gone = %v, want %v (object %+v)", gone, tc.wantGone, out)
			}
			if out == nil || out.GetName() != tc.obj {
				t.Fatalf("returned object %v", out)
			}
		})
	}
	if _, _, err := c.Delete(ctx, api.Pods, "default", "unbound", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("delete missing: %v, want NotFound", err)
	}
}

func TestBindAndEvict(t *testing.T) { forEachServer(t, testBindAndEvict) }

func testBindAndEvict(t *testing.T, f *fakeServer) {
	c, _ := f.client(t, nil)
	ctx := context.Background()
	if _, err := c.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := c.Create(ctx, pod("p1", ""), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p1", Namespace: "default", UID: p.GetUID()},
		Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}
	if err := c.Bind(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(ctx, b); !apierrors.IsConflict(err) {
		t.Fatalf("second bind: %v, want Conflict", err)
	}
	got, _ := c.Get(ctx, api.Pods, "default", "p1")
	if got.(*corev1.Pod).Spec.NodeName != "n1" {
		t.Fatalf("not bound: %+v", got)
	}
	if err := c.Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "p1", Namespace: "default"}}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.Get(ctx, api.Pods, "default", "p1")
	if got.GetDeletionTimestamp() == nil {
		t.Fatal("evicted pod has no deletionTimestamp")
	}
	if err := c.Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "nope", Namespace: "default"}}); !apierrors.IsNotFound(err) {
		t.Fatalf("evict missing: %v, want NotFound", err)
	}
}

func TestNonStatusErrorBody(t *testing.T) {
	srv := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "upstream down")
	})
	c, err := New(Config{Server: srv, Post: func(func()) {}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(context.Background(), api.Pods, "default", "p")
	se, ok := err.(*apierrors.StatusError)
	if !apierrors.IsServiceUnavailable(err) || !ok || se.ErrStatus.Details == nil || len(se.ErrStatus.Details.Causes) == 0 ||
		se.ErrStatus.Details.Causes[0].Message != "upstream down" {
		t.Fatalf("err = %#v, want ServiceUnavailable carrying the body as its cause", err)
	}
}

// recorder collects watch events on the loop.
type recorder struct {
	evs []api.WatchEvent
}

func (r *recorder) fn(ev api.WatchEvent) { r.evs = append(r.evs, ev) }

func (r *recorder) names() []string {
	var out []string
	for _, ev := range r.evs {
		if o, ok := ev.Object.(api.Object); ok {
			out = append(out, string(ev.Type)+" "+o.GetName())
		} else {
			out = append(out, string(ev.Type))
		}
	}
	return out
}

func TestWatchDeliversInOrderOnTheLoop(t *testing.T) {
	forEachServer(t, testWatchDeliversInOrderOnTheLoop)
}

func testWatchDeliversInOrderOnTheLoop(t *testing.T, f *fakeServer) {
	c, l := f.client(t, nil)
	ctx := context.Background()
	_, rv, err := c.List(ctx, api.Pods, "default", metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	var cancel func()
	var werr error
	l.Do(func() {
		cancel, werr = c.Watch(ctx, api.Pods, "default", metav1.ListOptions{ResourceVersion: rv}, rec.fn)
	})
	if werr != nil {
		t.Fatal(werr)
	}
	for i := 0; i < 20; i++ {
		if _, err := c.Create(ctx, pod(fmt.Sprintf("p%02d", i), ""), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.Delete(ctx, api.Pods, "default", "p00", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, l, "21 events", func() bool { return len(rec.evs) == 21 })
	l.Do(func() {
		for i := 0; i < 20; i++ {
			if want := fmt.Sprintf("ADDED p%02d", i); rec.names()[i] != want {
				t.Errorf("event %d = %s, want %s", i, rec.names()[i], want)
			}
		}
		if last := rec.evs[20]; last.Type != api.WatchDeleted || last.Revision <= rec.evs[19].Revision {
			t.Errorf("last event %s rev %d", last.Type, last.Revision)
		}
		cancel()
	})
	// No event reaches fn after cancel returned on the loop.
	if _, err := c.Create(ctx, pod("late", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Round trip something through the server and the loop to give a stray
	// event every chance to arrive.
	if _, err := c.Get(ctx, api.Pods, "default", "late"); err != nil {
		t.Fatal(err)
	}
	l.Do(func() {})
	l.Do(func() {
		if len(rec.evs) != 21 {
			t.Fatalf("events after cancel: %v", rec.names()[21:])
		}
	})
}

func TestWatchTooOldResourceVersionFailsAtOnce(t *testing.T) {
	forEachServer(t, testWatchTooOldResourceVersionFailsAtOnce)
}

// A resourceVersion older than the server's window is a 410: either the
// answer to the watch request (the fake, like the in-process server) or,
// as kube-apiserver sends it, an ERROR event first on the stream.
func testWatchTooOldResourceVersionFailsAtOnce(t *testing.T, f *fakeServer) {
	c, l := f.client(t, nil)
	ctx := context.Background()
	_, rv, _ := c.List(ctx, api.Pods, "default", metav1.ListOptions{})
	for i := 0; i < 60; i++ { // the fake's window is 50 events
		if _, err := c.Create(ctx, pod(fmt.Sprintf("p%02d", i), ""), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recorder{}
	var err error
	l.Do(func() { _, err = c.Watch(ctx, api.Pods, "default", metav1.ListOptions{ResourceVersion: rv}, rec.fn) })
	if err != nil {
		if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
			t.Fatalf("watch from an expired rv: %v, want 410", err)
		}
		return
	}
	eventually(t, l, "an event", func() bool { return len(rec.evs) > 0 })
	l.Do(func() {
		st, ok := rec.evs[0].Object.(*metav1.Status)
		if rec.evs[0].Type != api.WatchError || !ok || st.Code != 410 {
			t.Fatalf("first event %s %+v, want ERROR 410", rec.evs[0].Type, rec.evs[0].Object)
		}
	})
}

// Streams the server ends itself (timeoutSeconds) are resumed without a
// gap or a repeat.
func TestWatchResumesAfterServerTimeout(t *testing.T) {
	forEachServer(t, testWatchResumesAfterServerTimeout)
}

func testWatchResumesAfterServerTimeout(t *testing.T, f *fakeServer) {
	c, l := f.client(t, func(c *Config) { c.WatchTimeout = func() time.Duration { return time.Second } })
	ctx := context.Background()
	_, rv, _ := c.List(ctx, api.Pods, "default", metav1.ListOptions{})
	rec := &recorder{}
	l.Do(func() {
		if _, err := c.Watch(ctx, api.Pods, "default", metav1.ListOptions{ResourceVersion: rv}, rec.fn); err != nil {
			t.Error(err)
		}
	})
	var want []string
	end := time.Now().Add(2500 * time.Millisecond) // spans at least two server timeouts
	for i := 0; time.Now().Before(end); i++ {
		name := fmt.Sprintf("p%03d", i)
		if _, err := c.Create(ctx, pod(name, ""), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		want = append(want, "ADDED "+name)
		time.Sleep(20 * time.Millisecond) // pacing the writes, not waiting for a condition
	}
	eventually(t, l, "every event", func() bool { return len(rec.evs) >= len(want) })
	l.Do(func() {
		if got := strings.Join(rec.names(), ","); got != strings.Join(want, ",") {
			t.Fatalf("events across re-watches:\n got %s\nwant %s", got, strings.Join(want, ","))
		}
	})
	n := 0
	for _, r := range f.log() {
		if strings.Contains(r, "watch=true") {
			n++
		}
	}
	if n < 3 {
		t.Fatalf("%d watch requests, want the stream re-established at least twice", n)
	}
}

func TestWatchResumesAfterTheStreamEnds(t *testing.T) {
	f := newFakeServer(t)
	c, l := f.client(t, nil)
	ctx := context.Background()
	_, rv, _ := c.List(ctx, api.Pods, "default", metav1.ListOptions{})
	rec := &recorder{}
	if err := l.Do(func() {
		_, err := c.Watch(ctx, api.Pods, "default", metav1.ListOptions{ResourceVersion: rv}, rec.fn)
		if err != nil {
			t.Error(err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, pod("a", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, l, "first event", func() bool { return len(rec.evs) == 1 })
	f.cutWatches()
	// Changes while no stream is open arrive once the client re-watches.
	for _, n := range []string{"b", "c"} {
		if _, err := c.Create(ctx, pod(n, ""), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, l, "events b and c", func() bool { return len(rec.evs) == 3 })
	l.Do(func() {
		if got := strings.Join(rec.names(), ","); got != "ADDED a,ADDED b,ADDED c" {
			t.Fatalf("events %s", got)
		}
	})
	// The re-watch started from the last resourceVersion seen.
	var rewatch []string
	for _, r := range f.log() {
		if strings.Contains(r, "watch=true") {
			rewatch = append(rewatch, r)
		}
	}
	if len(rewatch) < 2 || !strings.Contains(rewatch[1], "resourceVersion="+revOf(t, rec.evs[0])) {
		t.Fatalf("re-watch requests %v, want the second from rv %s", rewatch, revOf(t, rec.evs[0]))
	}
}

func revOf(t *testing.T, ev api.WatchEvent) string {
	t.Helper()
	return ev.Object.(api.Object).GetResourceVersion()
}

func TestWatchResumeFailures(t *testing.T) {
	tests := []struct {
		name string
		// fail answers the re-watch; nil: let it through.
		fail      func(n int, w http.ResponseWriter) bool
		wantError int32 // 0: the watch recovers
	}{
		{"410 on re-watch ends the watch with an ERROR event", func(n int, w http.ResponseWriter) bool {
			writeStatus(w, apierrors.NewResourceExpired("too old resource version"))
			return true
		}, http.StatusGone},
		{"403 is not retried", func(n int, w http.ResponseWriter) bool {
			writeStatus(w, apierrors.NewForbidden(api.Pods.GroupResource(), "", fmt.Errorf("no")))
			return true
		}, http.StatusForbidden},
		{"503 twice, then the stream resumes", func(n int, w http.ResponseWriter) bool {
			if n > 2 {
				return false
			}
			writeStatus(w, apierrors.NewServiceUnavailable("busy"))
			return true
		}, 0},
		{"a broken stream is retried", func(n int, w http.ResponseWriter) bool {
			if n > 1 {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			fmt.Fprint(w, `{"type":"ADDED","obj`)
			return true
		}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t)
			var errs atomic.Int32
			c, l := f.client(t, func(c *Config) { c.OnWatchError = func(*api.Resource, error) { errs.Add(1) } })
			ctx := context.Background()
			_, rv, _ := c.List(ctx, api.Pods, "default", metav1.ListOptions{})
			rec := &recorder{}
			l.Do(func() {
				if _, err := c.Watch(ctx, api.Pods, "default", metav1.ListOptions{ResourceVersion: rv}, rec.fn); err != nil {
					t.Error(err)
				}
			})
			var n atomic.Int32
			f.mu.Lock()
			f.watchFail = func(w http.ResponseWriter, r *http.Request) bool { return tc.fail(int(n.Add(1)), w) }
			f.mu.Unlock()
			f.cutWatches()
			// Write only once the client re-watches: before, the event
			// could still leave on the stream being cut.
			eventually(t, l, "a re-watch", func() bool { return n.Load() >= 1 })
			if _, err := c.Create(ctx, pod("a", ""), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(t, l, "one event", func() bool { return len(rec.evs) == 1 })
			l.Do(func() {
				ev := rec.evs[0]
				if tc.wantError == 0 {
					if ev.Type != api.WatchAdded {
						t.Fatalf("event %s, want ADDED a after recovering", ev.Type)
					}
					return
				}
				st, ok := ev.Object.(*metav1.Status)
				if ev.Type != api.WatchError || !ok || st.Code != tc.wantError {
					t.Fatalf("event %s %+v, want ERROR %d", ev.Type, ev.Object, tc.wantError)
				}
			})
			if tc.wantError == 0 && errs.Load() == 0 {
				t.Error("OnWatchError not told about the failed attempts")
			}
		})
	}
}

// An informer kept by core's Reflector over this client ends up equal to
// the server's state through cut streams and a relist after 410.
func TestReflectorOverHTTP(t *testing.T) {
	f := newFakeServer(t)
	c, l := f.client(t, nil)
	ctx := context.Background()
	inf := informer.New(api.Pods)
	var errsMu sync.Mutex
	var watchErrs []error
	refl := &informer.Reflector{Client: c, Informer: inf, Namespace: "default", Clock: l, RetryAfter: 20 * time.Millisecond,
		OnError: func(err error) { errsMu.Lock(); watchErrs = append(watchErrs, err); errsMu.Unlock() }}
	l.Do(func() { refl.Start(ctx) })
	t.Cleanup(func() { l.Do(refl.Stop) })
	for i := 0; i < 5; i++ {
		c.Create(ctx, pod(fmt.Sprintf("p%d", i), ""), metav1.CreateOptions{}) //nolint:errcheck
	}
	eventually(t, l, "5 pods cached", func() bool { return inf.Len() == 5 })

	// Make the re-watch fail with 410 while more than the window changes.
	var fail atomic.Bool
	fail.Store(true)
	f.mu.Lock()
	f.watchFail = func(w http.ResponseWriter, r *http.Request) bool {
		if fail.Load() {
			writeStatus(w, apierrors.NewResourceExpired("too old"))
			return true
		}
		return false
	}
	f.mu.Unlock()
	f.cutWatches()
	for i := 0; i < 5; i++ {
		c.Delete(ctx, api.Pods, "default", fmt.Sprintf("p%d", i), metav1.DeleteOptions{}) //nolint:errcheck
	}
	c.Create(ctx, pod("q", ""), metav1.CreateOptions{}) //nolint:errcheck
	fail.Store(false)
	eventually(t, l, "cache relisted to the single pod q", func() bool {
		_, ok := inf.Get("default", "q")
		return inf.Len() == 1 && ok
	})
	errsMu.Lock()
	defer errsMu.Unlock()
	if len(watchErrs) == 0 {
		t.Fatal("the reflector was not told the watch ended")
	}
}

func TestEncodeAddsTypeMetaOnce(t *testing.T) {
	gvk := api.Pods.GVK()
	tests := []struct {
		name string
		obj  *corev1.Pod
		want string
	}{
		{"empty type meta", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"kind": "x"}}},
			`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","labels":{"kind":"x"}}`},
		{"type meta set", &corev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "p"}},
			`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := encode(tc.obj, gvk)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), tc.want) || strings.Count(string(b), `"apiVersion"`) != 1 {
				t.Fatalf("encoded %s, want prefix %s", b, tc.want)
			}
			var back corev1.Pod
			if err := json.Unmarshal(b, &back); err != nil || back.Kind != "Pod" {
				t.Fatalf("decode: %v %+v", err, back.TypeMeta)
			}
		})
	}
	if b, _ := encode(&struct{}{}, gvk); string(b) != `{"kind":"Pod","apiVersion":"v1"}` {
		t.Fatalf("empty object: %s", b)
	}
}

// A watch that began with the current state (resourceVersion 0, or
// sendInitialEvents) and whose stream ends before that state is complete
// cannot resume from the newest revision it saw: objects not yet sent would
// never arrive. The client ends it with 410 so the caller lists again.
func TestWatchCutDuringInitialEventsAsksForARelist(t *testing.T) {
	podEvent := func(typ, name, rv string, annotations string) string {
		return fmt.Sprintf(`{"type":%q,"object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":%q,"namespace":"default","resourceVersion":%q%s}}}`+"\n",
			typ, name, rv, annotations)
	}
	tests := []struct {
		name string
		opts metav1.ListOptions
		// first is the first stream, cut after it.
		first      string
		wantResume bool
	}{
		{"legacy resourceVersion 0, cut among the initial events", metav1.ListOptions{ResourceVersion: "0"},
			podEvent("ADDED", "b", "9", "") + podEvent("ADDED", "c", "5", ""), false},
		{"sendInitialEvents, cut before the closing bookmark", metav1.ListOptions{SendInitialEvents: ptr(true),
			ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true},
			podEvent("ADDED", "b", "9", ""), false},
		{"sendInitialEvents, cut after the closing bookmark", metav1.ListOptions{SendInitialEvents: ptr(true),
			ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true},
			podEvent("ADDED", "b", "9", "") + podEvent("BOOKMARK", "", "12", `,"annotations":{"k8s.io/initial-events-end":"true"}`), true},
		{"legacy resourceVersion 0, cut after a live event", metav1.ListOptions{ResourceVersion: "0"},
			podEvent("ADDED", "b", "9", "") + podEvent("MODIFIED", "b", "13", ""), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var watches []string
			url := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				watches = append(watches, r.URL.RawQuery)
				n := len(watches)
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(200)
				if n == 1 {
					fmt.Fprint(w, tc.first)
					return
				}
				// A resumed stream stays open and quiet.
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			})
			l := loop.New()
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(func() { cancel(); <-l.Done() })
			go l.Run(ctx)
			c, err := New(Config{Server: url, Post: l.Post})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			rec := &recorder{}
			l.Do(func() {
				if _, err := c.Watch(ctx, api.Pods, "default", tc.opts, rec.fn); err != nil {
					t.Error(err)
				}
			})
			if tc.wantResume {
				end := time.Now().Add(deadline)
				for {
					mu.Lock()
					n := len(watches)
					mu.Unlock()
					if n >= 2 {
						break
					}
					if time.Now().After(end) {
						t.Fatal("the watch did not resume")
					}
					time.Sleep(5 * time.Millisecond)
				}
				l.Do(func() {
					for _, ev := range rec.evs {
						if ev.Type == api.WatchError {
							t.Fatalf("events %v: an ERROR although the initial state was complete", rec.names())
						}
					}
				})
				return
			}
			eventually(t, l, "an ERROR event", func() bool {
				return len(rec.evs) > 0 && rec.evs[len(rec.evs)-1].Type == api.WatchError
			})
			l.Do(func() {
				st := rec.evs[len(rec.evs)-1].Object.(*metav1.Status)
				if st.Code != http.StatusGone {
					t.Errorf("ERROR %+v, want 410", st)
				}
			})
			mu.Lock()
			defer mu.Unlock()
			if len(watches) != 1 {
				t.Errorf("watch requests %v: resumed from an incomplete initial state", watches)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
