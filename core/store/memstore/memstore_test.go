package memstore_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/drydock-sim/drydock/core/store"
	"github.com/drydock-sim/drydock/core/store/memstore"
	"github.com/drydock-sim/drydock/core/store/storetest"
)

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []memstore.Option
	}{
		{"default", nil},
		{"unbounded history", []memstore.Option{memstore.WithHistoryLimit(0)}},
		{"small history", []memstore.Option{memstore.WithHistoryLimit(64)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Run(t, func(*testing.T) store.Store { return memstore.New(tc.opts...) })
		})
	}
}

func cm(name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
}

func collect(evs *[]store.Event) func(store.Event) {
	return func(ev store.Event) { *evs = append(*evs, ev) }
}

func revs(evs []store.Event) []int64 {
	out := make([]int64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Revision
	}
	return out
}

func TestHistoryLimit(t *testing.T) {
	s := memstore.New(memstore.WithHistoryLimit(10))
	for i := range 25 {
		if _, err := s.Create(fmt.Sprintf("/cm/%02d", i), cm("x")); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.CompactedRevision(); got != 15 {
		t.Fatalf("CompactedRevision = %d, want 15 (25 writes, 10 kept)", got)
	}
	if _, err := s.Watch("/cm/", 14, func(store.Event) {}); !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("Watch from 14: err = %v, want ErrCompacted", err)
	}
	var evs []store.Event
	cancel, err := s.Watch("/cm/", 15, collect(&evs))
	if err != nil {
		t.Fatalf("Watch from 15: %v", err)
	}
	defer cancel()
	want := []int64{16, 17, 18, 19, 20, 21, 22, 23, 24, 25}
	if !slices.Equal(revs(evs), want) {
		t.Fatalf("replayed %v, want %v", revs(evs), want)
	}
	// Keeps trimming as writes continue, while the data stays.
	for i := range 1000 {
		if _, err := s.Update("/cm/00", cm("x"), 0); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	if got := s.CompactedRevision(); got != 1015 {
		t.Fatalf("CompactedRevision = %d, want 1015", got)
	}
	if s.Len() != 25 || len(evs) != 1010 {
		t.Fatalf("Len = %d, events = %d", s.Len(), len(evs))
	}
	// An explicit Compact below the automatic one is a no-op.
	if err := s.Compact(3); err != nil || s.CompactedRevision() != 1015 {
		t.Fatalf("Compact(3) = %v, compacted %d", err, s.CompactedRevision())
	}
}

func TestSynchronousDelivery(t *testing.T) {
	s := memstore.New()
	s.Create("/cm/a", cm("a"))
	var evs []store.Event
	cancel, _ := s.Watch("/cm/", 0, collect(&evs))
	defer cancel()
	rev, _ := s.Create("/cm/b", cm("b"))
	if len(evs) != 1 || evs[0].Revision != rev {
		t.Fatalf("after Create returned, watcher had %v", revs(evs))
	}
	var replay []store.Event
	cancel2, _ := s.Watch("/cm/", 0+1, collect(&replay))
	defer cancel2()
	if !slices.Equal(revs(replay), []int64{2}) {
		t.Fatalf("after Watch returned, replay had %v, want [2]", revs(replay))
	}
}

// Callbacks must not write back synchronously, but if one does the write is
// queued behind the event being delivered rather than deadlocking or
// reordering delivery.
func TestWriteFromCallbackIsQueued(t *testing.T) {
	s := memstore.New()
	var first, second []int64
	cancel1, _ := s.Watch("/cm/", 0, func(ev store.Event) {
		first = append(first, ev.Revision)
		if ev.Key == "/cm/a" && ev.Type == store.Added {
			if _, err := s.Create("/cm/b", cm("b")); err != nil {
				t.Errorf("create from callback: %v", err)
			}
		}
	})
	defer cancel1()
	cancel2, _ := s.Watch("/cm/", 0, func(ev store.Event) { second = append(second, ev.Revision) })
	defer cancel2()
	s.Create("/cm/a", cm("a"))
	if !slices.Equal(first, []int64{1, 2}) || !slices.Equal(second, []int64{1, 2}) {
		t.Fatalf("delivery order: first %v, second %v, want [1 2] for both", first, second)
	}
}

func TestCancelInsideCallback(t *testing.T) {
	s := memstore.New()
	var got []int64
	var cancel func()
	cancel, _ = s.Watch("/cm/", 0, func(ev store.Event) {
		got = append(got, ev.Revision)
		cancel()
	})
	for _, k := range []string{"/cm/a", "/cm/b"} {
		s.Create(k, cm("x"))
	}
	if !slices.Equal(got, []int64{1}) {
		t.Fatalf("got %v after cancelling in the first callback", got)
	}
}

// Watchers on different prefixes that match the same key are called in the
// order they were registered, never in an order derived from prefixes.
func TestDeliveryOrderAcrossPrefixes(t *testing.T) {
	s := memstore.New()
	var order []string
	for _, p := range []string{"/registry/pods/ns/", "/", "/registry/", "/registry/pods/", "/registry/pods/ns/"} {
		cancel, _ := s.Watch(p, 0, func(store.Event) { order = append(order, p) })
		defer cancel()
	}
	s.Create("/registry/pods/ns/p", cm("p"))
	want := []string{"/registry/pods/ns/", "/", "/registry/", "/registry/pods/", "/registry/pods/ns/"}
	if !slices.Equal(order, want) {
		t.Fatalf("order = %v, want %v", order, want)
	}
	order = nil
	s.Create("/registry/nodes/n", cm("n"))
	if !slices.Equal(order, []string{"/", "/registry/"}) {
		t.Fatalf("order = %v", order)
	}
}

func TestDeleteCopiesCheaplyWithoutTouchingShared(t *testing.T) {
	s := memstore.New()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"}},
		Spec: corev1.PodSpec{NodeName: "n1"}}
	s.Create("/pods/p", p)
	got, rev, err := s.Delete("/pods/p", 0)
	if err != nil {
		t.Fatal(err)
	}
	if p.ResourceVersion != "1" {
		t.Fatalf("stored object's resourceVersion changed to %q", p.ResourceVersion)
	}
	dp := got.(*corev1.Pod)
	if dp == p || dp.ResourceVersion != fmt.Sprint(rev) || dp.Spec.NodeName != "n1" || dp.Labels["a"] != "b" {
		t.Fatalf("deleted copy = %+v", dp.ObjectMeta)
	}

	// Unstructured keeps metadata in a map, so it needs a deep copy.
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}
	u.SetName("u")
	s.Create("/u/u", u)
	gotU, rev, err := s.Delete("/u/u", 0)
	if err != nil {
		t.Fatal(err)
	}
	if u.GetResourceVersion() != "3" || gotU.(*unstructured.Unstructured).GetResourceVersion() != fmt.Sprint(rev) {
		t.Fatalf("unstructured: stored rv %q, deleted rv %q", u.GetResourceVersion(), gotU.(*unstructured.Unstructured).GetResourceVersion())
	}
}

func TestCallbackPanicLeavesStoreUsable(t *testing.T) {
	s := memstore.New()
	cancel, _ := s.Watch("/cm/", 0, func(store.Event) { panic("boom") })
	func() {
		defer func() { recover() }()
		s.Create("/cm/a", cm("a"))
	}()
	cancel()
	var evs []store.Event
	cancel2, _ := s.Watch("/cm/", 0, collect(&evs))
	defer cancel2()
	s.Create("/cm/b", cm("b"))
	if len(evs) != 1 {
		t.Fatalf("after a panicking callback, events = %v", revs(evs))
	}
}

func TestRejectsBadInput(t *testing.T) {
	s := memstore.New()
	if _, err := s.Create("/x", nil); err == nil {
		t.Error("Create(nil) succeeded")
	}
	if _, err := s.Watch("/", -1, func(store.Event) {}); err == nil {
		t.Error("Watch from -1 succeeded")
	}
	if s.Revision() != 0 {
		t.Errorf("revision moved to %d", s.Revision())
	}
}

// Concurrent writers (parallel subtests, so the test itself starts no
// goroutines) must still produce watch deliveries in strict revision order.
// Run with -race.
func TestConcurrentWritersDeliverInOrder(t *testing.T) {
	s := memstore.New(memstore.WithHistoryLimit(100))
	var got []int64 // appended only by the single active drainer
	cancel, _ := s.Watch("/", 0, func(ev store.Event) { got = append(got, ev.Revision) })
	const writers, perWriter = 4, 200
	t.Run("writers", func(t *testing.T) {
		for w := range writers {
			t.Run(fmt.Sprint(w), func(t *testing.T) {
				t.Parallel()
				for i := range perWriter {
					key := fmt.Sprintf("/w%d/%d", w, i)
					if _, err := s.Create(key, cm("x")); err != nil {
						t.Error(err)
					}
					s.Get(key)
					s.List(fmt.Sprintf("/w%d/", w))
					if i%50 == 0 {
						var sink []store.Event
						c, err := s.Watch("/", s.Revision()-10, collect(&sink))
						if err == nil {
							c()
						}
					}
				}
			})
		}
	})
	cancel()
	if len(got) != writers*perWriter {
		t.Fatalf("delivered %d events, want %d", len(got), writers*perWriter)
	}
	for i, r := range got {
		if r != int64(i+1) {
			t.Fatalf("event %d has revision %d", i, r)
		}
	}
}

// TestReplayedDeletion: the history keeps a deletion without its Object
// and a replay rebuilds it; it must equal what live watchers got.
func TestReplayedDeletion(t *testing.T) {
	s := memstore.New()
	var live []store.Event
	if _, err := s.Watch("/cm/", 0, collect(&live)); err != nil {
		t.Fatal(err)
	}
	a, err := s.Create("/cm/a", cm("a"))
	if err != nil {
		t.Fatal(err)
	}
	last := cm("a")
	last.Labels = map[string]string{"v": "last"}
	u, err := s.Update("/cm/a", last, a)
	if err != nil {
		t.Fatal(err)
	}
	ret, d, err := s.Delete("/cm/a", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range []int64{a, u} {
		var replay []store.Event
		if _, err := s.Watch("/cm/", from, collect(&replay)); err != nil {
			t.Fatal(err)
		}
		ev := replay[len(replay)-1]
		if ev.Type != store.Deleted || ev.Revision != d {
			t.Fatalf("from %d: last replayed event %v@%d, want Deleted@%d", from, ev.Type, ev.Revision, d)
		}
		got, want := ev.Object.(*corev1.ConfigMap), live[len(live)-1].Object.(*corev1.ConfigMap)
		if got.ResourceVersion != fmt.Sprint(d) || got.Labels["v"] != "last" || got.Name != "a" {
			t.Fatalf("from %d: replayed Deleted Object = %s@%s %v, want a@%d with the last labels", from, got.Name, got.ResourceVersion, got.Labels, d)
		}
		if got.ResourceVersion != want.ResourceVersion || got.ResourceVersion != ret.(*corev1.ConfigMap).ResourceVersion {
			t.Fatalf("from %d: replayed RV %s, live %s, returned %s", from, got.ResourceVersion, want.ResourceVersion, ret.(*corev1.ConfigMap).ResourceVersion)
		}
		if p := ev.PrevObject.(*corev1.ConfigMap); p.ResourceVersion != fmt.Sprint(u) {
			t.Fatalf("from %d: replayed PrevObject RV %s, want %d", from, p.ResourceVersion, u)
		}
	}
}
