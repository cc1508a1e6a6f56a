package informer_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/informer"
)

// TestIndexesMatchBruteForce applies random adds, updates (with and without
// index value changes) and deletes, with one index registered before and one
// after the first objects, and checks ByIndex, ByIndexShared, CountByIndex
// and List against answers computed from scratch.
func TestIndexesMatchBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	byNode := func(o api.Object) []string {
		if n := o.(*corev1.Pod).Spec.NodeName; n != "" {
			return []string{n}
		}
		return nil
	}
	byLabels := func(o api.Object) []string {
		var out []string
		for k, v := range o.GetLabels() {
			out = append(out, k+"="+v)
		}
		sort.Strings(out)
		return out
	}
	inf := informer.New(api.Pods)
	inf.AddIndex("node", byNode)
	live := map[string]*corev1.Pod{}
	rv := 0
	for step := 0; step < 3000; step++ {
		if step == 100 {
			inf.AddIndex("labels", byLabels)
		}
		name := fmt.Sprintf("p%02d", r.IntN(60))
		ns := []string{"a", "b"}[r.IntN(2)]
		key := ns + "/" + name
		rv++
		if _, ok := live[key]; ok && r.IntN(4) == 0 {
			inf.Apply(api.WatchEvent{Type: api.WatchDeleted, Object: live[key]})
			delete(live, key)
			continue
		}
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: fmt.Sprint(rv),
			Labels: map[string]string{"app": fmt.Sprint(r.IntN(3))}}, Spec: corev1.PodSpec{NodeName: []string{"", "n1", "n2"}[r.IntN(3)]}}
		inf.Apply(api.WatchEvent{Type: api.WatchModified, Object: p})
		live[key] = p
		if step%50 != 0 {
			continue
		}
		for _, ix := range []struct {
			name string
			fn   informer.IndexFunc
		}{{"node", byNode}, {"labels", byLabels}} {
			if ix.name == "labels" && step < 100 {
				continue
			}
			want := map[string][]string{}
			for k, p := range live {
				for _, v := range ix.fn(p) {
					want[v] = append(want[v], k)
				}
			}
			if n := inf.IndexLen(ix.name); n != len(want) {
				t.Fatalf("step %d: index %s has %d values, want %d", step, ix.name, n, len(want))
			}
			for _, v := range []string{"n1", "n2", "app=0", "app=1", "app=2"} {
				sort.Strings(want[v])
				var got, shared []string
				for _, o := range inf.ByIndex(ix.name, v) {
					got = append(got, informer.Key(o))
					if live[informer.Key(o)] != o {
						t.Fatalf("step %d: %s=%s holds a stale object %s", step, ix.name, v, informer.Key(o))
					}
				}
				for _, o := range inf.ByIndexShared(ix.name, v) {
					shared = append(shared, informer.Key(o))
				}
				if !reflect.DeepEqual(got, want[v]) || !reflect.DeepEqual(shared, want[v]) || inf.CountByIndex(ix.name, v) != len(want[v]) {
					t.Fatalf("step %d: index %s=%s has %v (shared %v, count %d), want %v", step, ix.name, v, got, shared, inf.CountByIndex(ix.name, v), want[v])
				}
			}
		}
		for k, p := range live {
			ns, name := informer.SplitKey(k)
			if got, ok := inf.Get(ns, name); !ok || got != p {
				t.Fatalf("step %d: Get(%s) = %v, %v", step, k, got, ok)
			}
			if got, ok := inf.GetKey(k); !ok || got != p {
				t.Fatalf("step %d: GetKey(%s) = %v, %v", step, k, got, ok)
			}
		}
		if l := inf.List(); len(l) != len(live) {
			t.Fatalf("step %d: List has %d objects, want %d", step, len(l), len(live))
		}
	}
}

// BenchmarkApplyStatusUpdate applies updates that keep every index value
// (the common case: a status change) to 3,000 pods spread over 30 owners
// and 100 nodes, with three indexes.
func BenchmarkApplyStatusUpdate(b *testing.B) {
	inf := informer.New(api.Pods)
	inf.AddIndex("node", func(o api.Object) []string { return []string{o.(*corev1.Pod).Spec.NodeName} })
	inf.AddIndex("owner", func(o api.Object) []string { return []string{o.GetLabels()["owner"]} })
	inf.AddIndex("ns", func(o api.Object) []string { return []string{o.GetNamespace()} })
	const n = 3000
	pods := make([]*corev1.Pod, n)
	for i := range pods {
		pods[i] = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d-%05d", i%30, i), Namespace: "default",
			ResourceVersion: "1", Labels: map[string]string{"owner": fmt.Sprint(i % 30)}},
			Spec: corev1.PodSpec{NodeName: fmt.Sprintf("node-%d", i%100)}}
		inf.Apply(api.WatchEvent{Type: api.WatchAdded, Object: pods[i]})
	}
	// Two versions of each pod, applied alternately.
	next := make([]*corev1.Pod, n)
	for i, p := range pods {
		cp := *p
		cp.ResourceVersion = "2"
		next[i] = &cp
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % n
		inf.Apply(api.WatchEvent{Type: api.WatchModified, Object: next[j]})
		pods[j], next[j] = next[j], pods[j]
	}
}
