package memstore_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/store"
	"github.com/drydock-sim/drydock/core/store/memstore"
)

// The benchmarks use the simulator's target scale: 150,000 pods spread over
// 1,000 namespaces, keyed as the API server keys them.
const (
	benchPods       = 150_000
	benchNamespaces = 1_000
)

func podKey(i int) string {
	return fmt.Sprintf("/registry/pods/ns-%04d/pod-%06d", i%benchNamespaces, i)
}

func benchPod(i int) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: fmt.Sprintf("pod-%06d", i), Namespace: fmt.Sprintf("ns-%04d", i%benchNamespaces)}}
}

// rotating returns a small pool of pods that the write benchmarks reuse:
// allocating one pod per iteration would put gigabytes on the heap at large
// b.N and measure the garbage collector rather than the store. The store
// only stamps resourceVersion, so reuse does not change its work.
func rotating() []*corev1.Pod {
	objs := make([]*corev1.Pod, 4096)
	for i := range objs {
		objs[i] = benchPod(i)
	}
	return objs
}

// newKeys returns n fresh pod keys beyond the filled range and the object
// pool to store under them.
func newKeys(n int) ([]*corev1.Pod, []string) {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = podKey(benchPods + i)
	}
	return rotating(), keys
}

func filled(b *testing.B, opts ...memstore.Option) *memstore.Store {
	b.Helper()
	s := memstore.New(opts...)
	for i := range benchPods {
		if _, err := s.Create(podKey(i), benchPod(i)); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkCreate measures Create into a store already holding 150,000
// pods, with the API server's per-resource watchers attached.
func BenchmarkCreate(b *testing.B) {
	s := filled(b)
	for _, p := range []string{"/registry/pods/", "/registry/nodes/", "/registry/services/"} {
		cancel, _ := s.Watch(p, 0, func(store.Event) {})
		defer cancel()
	}
	objs, keys := newKeys(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Create(keys[i], objs[i%len(objs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdate measures unconditional and compare-and-swap updates of
// random pods among 150,000.
func BenchmarkUpdate(b *testing.B) {
	s := filled(b)
	cancel, _ := s.Watch("/registry/pods/", 0, func(store.Event) {})
	defer cancel()
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([]string, b.N)
	for i := range b.N {
		keys[i] = podKey(r.IntN(benchPods))
	}
	objs := rotating()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Update(keys[i], objs[i%len(objs)], 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateDelete is pod churn: one create and one delete per op.
// Delete's cost includes the shallow copy of the pod it reports.
func BenchmarkCreateDelete(b *testing.B) {
	s := filled(b)
	objs, keys := newKeys(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k := keys[i]
		if _, err := s.Create(k, objs[i%len(objs)]); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Delete(k, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList lists one namespace's 150 pods, and all 150,000 pods.
func BenchmarkList(b *testing.B) {
	s := filled(b)
	for _, bc := range []struct{ name, prefix string }{
		{"namespace", "/registry/pods/ns-0500/"},
		{"all", "/registry/pods/"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				objs, _, _ := s.List(bc.prefix)
				if len(objs) == 0 {
					b.Fatal("empty list")
				}
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	s := filled(b)
	r := rand.New(rand.NewPCG(3, 4))
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = podKey(r.IntN(benchPods))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Get(keys[i%len(keys)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDispatchManyWatchers has 5,000 watchers on distinct per-namespace
// prefixes (as if each node watched its own slice); a write reaches one.
func BenchmarkDispatchManyWatchers(b *testing.B) {
	s := memstore.New()
	hits := 0
	for i := range 5000 {
		cancel, _ := s.Watch(fmt.Sprintf("/registry/pods/ns-%04d/", i), 0, func(store.Event) { hits++ })
		defer cancel()
	}
	obj := benchPod(0)
	s.Create(podKey(0), obj)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.Update(podKey(0), obj, 0)
	}
	if hits != b.N+1 {
		b.Fatalf("hits = %d", hits)
	}
}
