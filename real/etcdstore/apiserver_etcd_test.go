package etcdstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/apiserver"
	"github.com/drydock-sim/drydock/core/clock"
)

// These tests drive the transport-free API server over etcd, whose watch
// events reach the server's hubs on etcd's delivery goroutines rather than
// inside the write, as they do over memstore.

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }
func (wallClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	return time.AfterFunc(d, f)
}

var bg = context.Background()

func newAPIServer(t *testing.T, window int) *apiserver.Server {
	t.Helper()
	st := newTestStore(t)
	srv, err := apiserver.New(apiserver.Config{Store: st, Clock: wallClock{}, Rand: rand.New(rand.NewPCG(1, 2)), WatchWindow: window})
	if err != nil {
		t.Fatalf("apiserver.New over etcd: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func testPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

// eventLog records API watch events from any goroutine and lets a test wait
// for a condition on them with a deadline.
type eventLog struct {
	mu     sync.Mutex
	evs    []api.WatchEvent
	notify chan struct{}
}

func newEventLog() *eventLog { return &eventLog{notify: make(chan struct{}, 1)} }

func (l *eventLog) fn(ev api.WatchEvent) {
	l.mu.Lock()
	l.evs = append(l.evs, ev)
	l.mu.Unlock()
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

func (l *eventLog) snapshot() []api.WatchEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]api.WatchEvent(nil), l.evs...)
}

// waitFor waits until cond holds for the events so far and returns them.
func (l *eventLog) waitFor(t *testing.T, what string, cond func([]api.WatchEvent) bool) []api.WatchEvent {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		if evs := l.snapshot(); cond(evs) {
			return evs
		}
		select {
		case <-l.notify:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; got %s", what, describe(l.snapshot()))
		}
	}
}

// waitRV waits for an event whose object has resourceVersion >= rv. Events
// arrive in revision order, so nothing at or below rv can follow.
func (l *eventLog) waitRV(t *testing.T, rv string) []api.WatchEvent {
	t.Helper()
	want := mustRV(t, rv)
	return l.waitFor(t, "an event at resourceVersion "+rv, func(evs []api.WatchEvent) bool {
		return len(evs) > 0 && mustRV(t, evs[len(evs)-1].Object.(api.Object).GetResourceVersion()) >= want
	})
}

func mustRV(t *testing.T, rv string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q: %v", rv, err)
	}
	return n
}

type evSummary struct {
	Type api.WatchEventType
	Name string
	RV   string
}

func summarizeAPI(evs []api.WatchEvent) []evSummary {
	out := make([]evSummary, len(evs))
	for i, ev := range evs {
		out[i] = evSummary{ev.Type, obj(ev).GetName(), obj(ev).GetResourceVersion()}
	}
	return out
}

func obj(ev api.WatchEvent) api.Object { return ev.Object.(api.Object) }

func describe(evs []api.WatchEvent) string { return fmt.Sprint(summarizeAPI(evs)) }

func wantAPIEvents(t *testing.T, got []api.WatchEvent, want []evSummary) {
	t.Helper()
	g := summarizeAPI(got)
	if fmt.Sprint(g) != fmt.Sprint(want) {
		t.Fatalf("events:\n got %v\nwant %v", g, want)
	}
}

func watchAPI(t *testing.T, srv *apiserver.Server, rv string) *eventLog {
	t.Helper()
	l := newEventLog()
	cancel, err := srv.Watch(bg, api.Pods, "default", metav1.ListOptions{ResourceVersion: rv}, l.fn)
	if err != nil {
		t.Fatalf("Watch pods from %q: %v", rv, err)
	}
	t.Cleanup(cancel)
	return l
}

func create(t *testing.T, srv *apiserver.Server, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	out, err := srv.Create(bg, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("Create %s: %v", p.Name, err)
	}
	return out.(*corev1.Pod)
}

func update(t *testing.T, srv *apiserver.Server, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	out, err := srv.Update(bg, p, "")
	if err != nil {
		t.Fatalf("Update %s: %v", p.Name, err)
	}
	return out.(*corev1.Pod)
}

func deleteNow(t *testing.T, srv *apiserver.Server, name string) (api.Object, bool) {
	t.Helper()
	zero := int64(0)
	obj, gone, err := srv.Delete(bg, api.Pods, "default", name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	if err != nil {
		t.Fatalf("Delete %s: %v", name, err)
	}
	return obj, gone
}

// TestAPIWatchFromWriteRV: a watch from the resourceVersion a write just
// returned, usually before etcd has delivered that write to the server's
// hub, sees exactly the later events: no 410, nothing missed, no repeat.
func TestAPIWatchFromWriteRV(t *testing.T) {
	srv := newAPIServer(t, 0)
	for i := range 20 {
		a := create(t, srv, testPod(fmt.Sprintf("a%d", i)))
		l := watchAPI(t, srv, a.ResourceVersion)
		b := create(t, srv, testPod(fmt.Sprintf("b%d", i)))
		a2 := a.DeepCopy()
		a2.Labels["step"] = "2"
		a2 = update(t, srv, a2)
		if _, ok := deleteNow(t, srv, b.Name); !ok {
			t.Fatalf("pod %s not deleted at once", b.Name)
		}
		// The deletion's revision is the next one: nothing else writes.
		del := strconv.FormatInt(mustRV(t, a2.ResourceVersion)+1, 10)
		wantAPIEvents(t, l.waitRV(t, del), []evSummary{
			{api.WatchAdded, b.Name, b.ResourceVersion},
			{api.WatchModified, a.Name, a2.ResourceVersion},
			{api.WatchDeleted, b.Name, del},
		})
	}
}

// TestAPIListThenWatch: list, then watch from the list's resourceVersion
// while other writers keep going; the watch continues the list exactly.
func TestAPIListThenWatch(t *testing.T) {
	srv := newAPIServer(t, 0)
	for i := range 5 {
		create(t, srv, testPod(fmt.Sprintf("pre%d", i)))
	}
	// Writers running concurrently with the list and the watch.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var written sync.Map // name -> resourceVersion
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d", w, i)
				out, err := srv.Create(bg, testPod(name), metav1.CreateOptions{})
				if err != nil {
					t.Errorf("Create %s: %v", name, err)
					return
				}
				written.Store(name, out.GetResourceVersion())
			}
		}()
	}
	objs, listRV, err := srv.List(bg, api.Pods, "default", metav1.ListOptions{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	l := watchAPI(t, srv, listRV)
	// Let the writers produce some more, then stop them.
	l.waitFor(t, "a few live events", func(evs []api.WatchEvent) bool { return len(evs) >= 10 })
	close(stop)
	wg.Wait()
	last := create(t, srv, testPod("last"))
	evs := l.waitRV(t, last.ResourceVersion)

	listed := map[string]bool{}
	for _, o := range objs {
		listed[o.GetName()] = true
	}
	seen := map[string]bool{}
	prev := mustRV(t, listRV)
	for _, ev := range evs {
		rv := mustRV(t, ev.Object.(api.Object).GetResourceVersion())
		if ev.Type != api.WatchAdded || rv <= prev || listed[ev.Object.(api.Object).GetName()] || seen[ev.Object.(api.Object).GetName()] {
			t.Fatalf("event %v after list at %s (previous event at %d): out of order, repeated or already listed",
				evSummary{ev.Type, obj(ev).GetName(), obj(ev).GetResourceVersion()}, listRV, prev)
		}
		prev = rv
		seen[ev.Object.(api.Object).GetName()] = true
	}
	written.Store("last", last.ResourceVersion)
	written.Range(func(k, v any) bool {
		name := k.(string)
		if !listed[name] && !seen[name] {
			t.Errorf("pod %s (resourceVersion %s) neither listed nor watched", name, v)
		}
		return true
	})
}

// TestAPIWatchInitialEvents: a watch from "" sends the current pods as
// ADDED, then the live events, in order.
func TestAPIWatchInitialEvents(t *testing.T) {
	srv := newAPIServer(t, 0)
	a := create(t, srv, testPod("a"))
	l := watchAPI(t, srv, "")
	b := create(t, srv, testPod("b"))
	wantAPIEvents(t, l.waitRV(t, b.ResourceVersion), []evSummary{
		{api.WatchAdded, "a", a.ResourceVersion},
		{api.WatchAdded, "b", b.ResourceVersion},
	})
}

// TestAPIDeleteWithFinalizer: deleting a pod that carries a finalizer only
// marks it; removing the finalizer then deletes it. Watchers see both steps.
func TestAPIDeleteWithFinalizer(t *testing.T) {
	srv := newAPIServer(t, 0)
	p := testPod("f")
	p.Finalizers = []string{"example.com/hold"}
	created := create(t, srv, p)
	l := watchAPI(t, srv, created.ResourceVersion)

	marked, gone := deleteNow(t, srv, "f")
	if gone || marked.GetDeletionTimestamp() == nil {
		t.Fatalf("Delete with a finalizer: gone=%v deletionTimestamp=%v, want kept and marked", gone, marked.GetDeletionTimestamp())
	}
	cur, err := srv.Get(bg, api.Pods, "default", "f")
	if err != nil || cur.GetDeletionTimestamp() == nil {
		t.Fatalf("Get after Delete: %v, %v", cur, err)
	}
	release := cur.(*corev1.Pod).DeepCopy()
	release.Finalizers = nil
	if _, err := srv.Update(bg, release, ""); err != nil {
		t.Fatalf("Update removing the finalizer: %v", err)
	}
	evs := l.waitFor(t, "DELETED f", func(evs []api.WatchEvent) bool {
		return len(evs) > 0 && evs[len(evs)-1].Type == api.WatchDeleted
	})
	if len(evs) != 2 || evs[0].Type != api.WatchModified || evs[0].Object.(api.Object).GetDeletionTimestamp() == nil ||
		evs[0].Object.(api.Object).GetResourceVersion() != marked.GetResourceVersion() {
		t.Fatalf("events %s, want MODIFIED (marked at %s) then DELETED", describe(evs), marked.GetResourceVersion())
	}
	if mustRV(t, obj(evs[1]).GetResourceVersion()) <= mustRV(t, marked.GetResourceVersion()) {
		t.Errorf("DELETED event at resourceVersion %s, not after the mark at %s", obj(evs[1]).GetResourceVersion(), marked.GetResourceVersion())
	}
	if _, err := srv.Get(bg, api.Pods, "default", "f"); !apierrors.IsNotFound(err) {
		t.Fatalf("Get after the finalizer was removed: %v, want NotFound", err)
	}
}

// TestAPIWatchExpired: with a small window, a resourceVersion older than the
// events the hub still holds gets 410 Expired, once those events arrived.
func TestAPIWatchExpired(t *testing.T) {
	srv := newAPIServer(t, 4)
	first := create(t, srv, testPod("p0"))
	l := watchAPI(t, srv, first.ResourceVersion)
	var last *corev1.Pod
	for i := 1; i <= 8; i++ {
		last = create(t, srv, testPod(fmt.Sprintf("p%d", i)))
	}
	l.waitRV(t, last.ResourceVersion) // the hub has seen them all
	_, err := srv.Watch(bg, api.Pods, "default", metav1.ListOptions{ResourceVersion: first.ResourceVersion}, func(api.WatchEvent) {})
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Fatalf("Watch from %s after 8 more writes with a window of 4: err = %v, want 410", first.ResourceVersion, err)
	}
	// The newest write's resourceVersion is always fine.
	l2 := watchAPI(t, srv, last.ResourceVersion)
	next := create(t, srv, testPod("next"))
	wantAPIEvents(t, l2.waitRV(t, next.ResourceVersion), []evSummary{{api.WatchAdded, "next", next.ResourceVersion}})
}

// TestAPIWatchCancel: once cancel returns, the callback is not called again,
// even while events keep arriving on etcd's goroutine.
func TestAPIWatchCancel(t *testing.T) {
	srv := newAPIServer(t, 0)
	for i := range 10 {
		var cancelled atomic.Bool
		var calls atomic.Int64
		started := make(chan struct{}, 1)
		cancel, err := srv.Watch(bg, api.Pods, "default", metav1.ListOptions{ResourceVersion: strconv.FormatInt(srv.Store().Revision(), 10)}, func(api.WatchEvent) {
			if cancelled.Load() {
				t.Errorf("round %d: callback after cancel returned", i)
			}
			calls.Add(1)
			select {
			case started <- struct{}{}:
			default:
			}
		})
		if err != nil {
			t.Fatalf("Watch: %v", err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for j := range 20 {
				if _, err := srv.Create(bg, testPod(fmt.Sprintf("c%d-%d", i, j)), metav1.CreateOptions{}); err != nil {
					t.Errorf("Create: %v", err)
					return
				}
			}
		}()
		<-started
		cancel()
		cancelled.Store(true)
		cancel() // idempotent
		<-done
		// A write after everything before it was delivered to a witness
		// proves the cancelled watch had its chance to misbehave.
		w := watchAPI(t, srv, strconv.FormatInt(srv.Store().Revision(), 10))
		p := create(t, srv, testPod(fmt.Sprintf("witness%d", i)))
		w.waitRV(t, p.ResourceVersion)
		if calls.Load() == 0 {
			t.Fatalf("round %d: the watch saw nothing before cancel", i)
		}
	}
}

// TestAPIWatchCancelWhileDelivering: events reach the server on etcd's
// goroutine, so a client can cancel while a delivery is in progress. Cancel
// must wait for a callback that is running, and a watcher cancelled while
// another one's callback holds up the dispatch must get nothing (and, under
// -race, without a data race on its state).
func TestAPIWatchCancelWhileDelivering(t *testing.T) {
	srv := newAPIServer(t, 0)
	from := strconv.FormatInt(srv.Store().Revision(), 10)
	entered := make(chan struct{})
	release := make(chan struct{})
	var releaseOnce sync.Once
	// Registered after newAPIServer's cleanup, so it runs first: a failing
	// test must not leave the callback blocking the server's Close.
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	var returned atomic.Bool
	var once sync.Once
	cancel1, err := srv.Watch(bg, api.Pods, "default", metav1.ListOptions{ResourceVersion: from}, func(api.WatchEvent) {
		once.Do(func() {
			close(entered)
			<-release
			returned.Store(true)
		})
	})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	var calls2 atomic.Int64
	cancel2, err := srv.Watch(bg, api.Pods, "default", metav1.ListOptions{ResourceVersion: from}, func(api.WatchEvent) { calls2.Add(1) })
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	create(t, srv, testPod("p"))
	<-entered // the first watcher's callback is running on etcd's goroutine
	cancel2()
	cancelled := make(chan struct{})
	go func() {
		cancel1()
		close(cancelled)
	}()
	// cancel1 must not return while the callback runs. A bounded wait
	// gives a broken implementation the chance to return early.
	select {
	case <-cancelled:
		t.Fatal("cancel returned while the watch's callback was still running")
	case <-time.After(200 * time.Millisecond):
	}
	releaseOnce.Do(func() { close(release) })
	select {
	case <-cancelled:
	case <-time.After(20 * time.Second):
		t.Fatal("cancel did not return after the callback did")
	}
	if !returned.Load() {
		t.Fatal("cancel returned before the callback")
	}
	// Everything before the witness's event has been dispatched.
	w := watchAPI(t, srv, from)
	q := create(t, srv, testPod("q"))
	w.waitRV(t, q.ResourceVersion)
	if n := calls2.Load(); n != 0 {
		t.Fatalf("watcher cancelled before its delivery got %d events", n)
	}
}

// TestAPIServerRestart: a second API server over the same etcd data (a
// `drydock server` restart) serves the objects; a watch from a
// resourceVersion older than its start gets 410, as kube-apiserver's fresh
// watch cache answers, and clients relist.
func TestAPIServerRestart(t *testing.T) {
	st := newTestStore(t)
	cfg := apiserver.Config{Store: st, Clock: wallClock{}}
	srv1 := mustServer(t, cfg)
	p := create(t, srv1, testPod("survivor"))
	srv1.Close()
	create(t, mustServer(t, cfg), testPod("bump")) // the store moves on
	srv2 := mustServer(t, cfg)
	got, err := srv2.Get(bg, api.Pods, "default", "survivor")
	if err != nil || got.GetResourceVersion() != p.ResourceVersion || got.GetUID() != p.UID {
		t.Fatalf("Get after restart: %v, %v", got, err)
	}
	_, err = srv2.Watch(bg, api.Pods, "default", metav1.ListOptions{ResourceVersion: p.ResourceVersion}, func(api.WatchEvent) {})
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Fatalf("watch from before the restart: %v, want 410", err)
	}
	_, rv, err := srv2.List(bg, api.Pods, "default", metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l := watchAPI(t, srv2, rv)
	q := create(t, srv2, testPod("after"))
	wantAPIEvents(t, l.waitRV(t, q.ResourceVersion), []evSummary{{api.WatchAdded, "after", q.ResourceVersion}})
}

var serverSeed atomic.Uint64

// mustServer starts an API server over cfg.Store with its own random
// stream (real mode seeds each start from crypto/rand; the same stream twice
// would repeat UIDs).
func mustServer(t *testing.T, cfg apiserver.Config) *apiserver.Server {
	t.Helper()
	cfg.Rand = rand.New(rand.NewPCG(serverSeed.Add(1), 7))
	srv, err := apiserver.New(cfg)
	if err != nil {
		t.Fatalf("apiserver.New: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv
}
