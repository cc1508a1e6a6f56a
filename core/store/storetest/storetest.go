// Package storetest is the conformance suite every store.Store
// implementation must pass: the in-memory store used by the simulator and the
// etcd store used in real mode run the same tests, which is what lets the
// control plane run unchanged on either.
//
// The suite relies only on the store.Store interface. It does not assume
// that watch callbacks run synchronously: it waits for expected events by
// polling with a deadline, and it proves an event was NOT delivered by
// writing a later event the watcher must see and relying on in-order
// delivery. It does not exercise concurrent use.
//
// Contract points the suite pins down beyond the interface comments:
//   - Every successful write advances the revision by exactly one; failed
//     writes leave it unchanged. The suite never assumes a fresh store starts
//     at revision 0, only that it is empty.
//   - Create and Update set the passed object's resourceVersion to the
//     decimal revision of the write; Delete returns (and the Deleted event
//     carries) the last stored object with resourceVersion set to the
//     deletion's revision; PrevObject is the value being replaced or removed.
//   - Errors wrap the sentinels (errors.Is) and mention the key.
//   - List of prefix "/a/" never returns "/ab/..." keys; results are sorted
//     by key.
//   - Watch(prefix, fromRev) delivers exactly the events with revision >
//     fromRev, in revision order; fromRev 0 means from the current revision;
//     a fromRev ahead of the current revision is allowed and skips events up
//     to it.
//   - Compact(c) discards the events with revision <= c. Watch from c is
//     still allowed (every event it needs, c+1 onwards, is retained); Watch
//     from any fromRev in [1, c) returns ErrCompacted. Compacting at or below
//     an earlier compaction is a no-op; compacting beyond the current
//     revision is an error. Compaction never changes Get or List results.
//     (etcd refuses only watches starting below its compaction revision, so
//     an etcd-backed store compacts etcd at c, which keeps the previous
//     values the events after c need, and refuses fromRev < c itself.)
//   - After cancel returns, the callback is not called again; cancel is
//     idempotent.
package storetest

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/drydock-sim/drydock/core/store"
)

// WaitTimeout bounds how long the suite waits for an asynchronous store to
// deliver an expected watch event.
var WaitTimeout = 10 * time.Second

type testCase struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// Run runs every conformance test against a fresh, empty store from
// newStore. newStore should register any cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	var all []testCase
	all = append(all, crudTests...)
	all = append(all, listTests...)
	all = append(all, watchTests...)
	all = append(all, compactTests...)
	for _, tc := range all {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// waitUntil polls cond until it holds or WaitTimeout passes. For a
// synchronous store cond already holds on the first check, so the loop
// costs nothing; otherwise it yields to let delivery goroutines run. The
// deadline comes from a context rather than the clock so that this package,
// which lives under core/, reads no time directly.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if cond() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("timed out after %v waiting for %s", WaitTimeout, what)
		}
		runtime.Gosched()
	}
}

// recorder collects watch events. Its callback may run on any goroutine.
type recorder struct {
	mu     sync.Mutex
	events []store.Event
}

func (r *recorder) fn(ev store.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *recorder) snapshot() []store.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]store.Event(nil), r.events...)
}

// waitRev waits until an event with revision >= rev arrived and returns all
// events so far. Because delivery is in revision order, once it returns no
// event at or below rev can still arrive.
func (r *recorder) waitRev(t *testing.T, rev int64) []store.Event {
	t.Helper()
	waitUntil(t, "watch event at revision "+strconv.FormatInt(rev, 10), func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.events) > 0 && r.events[len(r.events)-1].Revision >= rev
	})
	return r.snapshot()
}

func watch(t *testing.T, s store.Store, prefix string, fromRev int64) *recorder {
	t.Helper()
	r := &recorder{}
	cancel, err := s.Watch(prefix, fromRev, r.fn)
	if err != nil {
		t.Fatalf("Watch(%q, %d): %v", prefix, fromRev, err)
	}
	t.Cleanup(cancel)
	return r
}

func configMap(name, value string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "test"}},
		Data:       map[string]string{"v": value},
	}
}

func pod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
		},
	}
}

func rv(t *testing.T, obj k8sruntime.Object) string {
	t.Helper()
	m, err := meta.Accessor(obj)
	if err != nil {
		t.Fatalf("meta.Accessor(%T): %v", obj, err)
	}
	return m.GetResourceVersion()
}

func name(t *testing.T, obj k8sruntime.Object) string {
	t.Helper()
	m, err := meta.Accessor(obj)
	if err != nil {
		t.Fatalf("meta.Accessor(%T): %v", obj, err)
	}
	return m.GetName()
}

// value is the "v" entry of a ConfigMap.
func value(t *testing.T, obj k8sruntime.Object) string {
	t.Helper()
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		t.Fatalf("got %T, want *v1.ConfigMap", obj)
	}
	return cm.Data["v"]
}

func revString(rev int64) string { return strconv.FormatInt(rev, 10) }

func mustCreate(t *testing.T, s store.Store, key string, obj k8sruntime.Object) int64 {
	t.Helper()
	rev, err := s.Create(key, obj)
	if err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
	return rev
}

func mustUpdate(t *testing.T, s store.Store, key string, obj k8sruntime.Object, expected int64) int64 {
	t.Helper()
	rev, err := s.Update(key, obj, expected)
	if err != nil {
		t.Fatalf("Update(%q, %d): %v", key, expected, err)
	}
	return rev
}

func mustDelete(t *testing.T, s store.Store, key string, expected int64) (k8sruntime.Object, int64) {
	t.Helper()
	obj, rev, err := s.Delete(key, expected)
	if err != nil {
		t.Fatalf("Delete(%q, %d): %v", key, expected, err)
	}
	return obj, rev
}

// wantErr checks that err wraps sentinel and names key.
func wantErr(t *testing.T, op string, err, sentinel error, key string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("%s: err = %v, want errors.Is %v", op, err, sentinel)
	}
	if key != "" && !strings.Contains(err.Error(), key) {
		t.Errorf("%s: error %q does not mention key %q", op, err, key)
	}
}

// wantRevision checks the store's current revision.
func wantRevision(t *testing.T, s store.Store, want int64) {
	t.Helper()
	if got := s.Revision(); got != want {
		t.Fatalf("Revision() = %d, want %d", got, want)
	}
}

// eventSummary is the comparable part of an event.
type eventSummary struct {
	Type store.EventType
	Key  string
	Rev  int64
}

func summarize(evs []store.Event) []eventSummary {
	out := make([]eventSummary, len(evs))
	for i, ev := range evs {
		out[i] = eventSummary{ev.Type, ev.Key, ev.Revision}
	}
	return out
}

func wantEvents(t *testing.T, got []store.Event, want []eventSummary) {
	t.Helper()
	g := summarize(got)
	if len(g) != len(want) {
		t.Fatalf("got %d events %v, want %d %v", len(g), g, len(want), want)
	}
	for i := range want {
		if g[i] != want[i] {
			t.Fatalf("event %d = %v, want %v (all: %v)", i, g[i], want[i], g)
		}
	}
	for i, ev := range got {
		if ev.Object == nil {
			t.Fatalf("event %d (%v) has nil Object", i, g[i])
		}
		if r := rv(t, ev.Object); r != revString(ev.Revision) {
			t.Errorf("event %d (%v): Object resourceVersion %q, want %q", i, g[i], r, revString(ev.Revision))
		}
		if (ev.Type == store.Added) != (ev.PrevObject == nil) {
			t.Errorf("event %d (%v): PrevObject = %v; want nil exactly for Added", i, g[i], ev.PrevObject)
		}
	}
}
