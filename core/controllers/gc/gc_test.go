package gc

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
	"github.com/drydock-sim/drydock/core/informer"
)

type fixture struct {
	t *testing.T
	h *harness.Harness
	c *Controller
	// deleted lists objects in the order the API removed them ("kind/name").
	deleted []string
}

func newFixture(t *testing.T) *fixture {
	h := harness.New(t)
	f := &fixture{t: t, h: h}
	for _, r := range []*api.Resource{api.Deployments, api.ReplicaSets, api.Pods} {
		_, err := h.Client.Watch(context.Background(), r, "", metav1.ListOptions{}, func(ev api.WatchEvent) {
			if ev.Type == api.WatchDeleted {
				o := ev.Object.(api.Object)
				f.deleted = append(f.deleted, r.Kind+"/"+o.GetName())
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	f.c = New(Config{Client: h.Client, Clock: h.Clock, Recorder: h.Recorder("garbage-collector"),
		Informers: []*informer.Informer{h.Informer(api.Pods), h.Informer(api.ReplicaSets), h.Informer(api.Deployments)}})
	return f
}

func ownerRef(o api.Object, block bool) metav1.OwnerReference {
	r := api.MustFor(o)
	return metav1.OwnerReference{APIVersion: r.APIVersion(), Kind: r.Kind, Name: o.GetName(), UID: o.GetUID(),
		Controller: ptr(true), BlockOwnerDeletion: ptr(block)}
}

var labels = map[string]string{"app": "web"}

func template() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img:1"}}}}
}

// tree creates deployment web -> replicaset web-1 -> pods web-1-a, web-1-b.
// bound pods are deleted gracefully and stay until the "kubelet" removes them.
func (f *fixture) tree(bound bool) {
	d := f.h.Create(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template()}})
	rs := f.h.Create(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default",
		OwnerReferences: []metav1.OwnerReference{ownerRef(d, true)}},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template()}})
	for _, n := range []string{"web-1-a", "web-1-b"} {
		f.pod(n, bound, ownerRef(rs, true))
	}
	f.h.Settle()
}

func (f *fixture) pod(name string, bound bool, refs ...metav1.OwnerReference) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels, OwnerReferences: refs},
		Spec: template().Spec}
	if bound {
		p.Spec.NodeName = "n1"
	}
	f.h.Create(p)
}

func (f *fixture) del(r *api.Resource, name string, policy metav1.DeletionPropagation) {
	f.t.Helper()
	if _, _, err := f.h.API.Delete(context.Background(), r, "default", name, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
		f.t.Fatalf("delete %s: %v", name, err)
	}
}

// kubelet finishes the graceful deletion of every terminating pod.
func (f *fixture) kubelet() {
	for _, o := range f.h.List(api.Pods, "default", "") {
		if o.GetDeletionTimestamp() != nil {
			f.h.API.Delete(context.Background(), api.Pods, "default", o.GetName(), metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		}
	}
	f.h.Settle()
}

func (f *fixture) names(r *api.Resource) []string {
	var out []string
	for _, o := range f.h.List(r, "default", "") {
		out = append(out, o.GetName())
	}
	return out
}

func TestPropagation(t *testing.T) {
	cases := []struct {
		name   string
		policy metav1.DeletionPropagation
		bound  bool
		check  func(f *fixture)
	}{
		{"background", metav1.DeletePropagationBackground, false, func(f *fixture) {
			f.h.Settle()
			want := []string{"Deployment", "ReplicaSet", "Pod"}
			if !slices.Equal(kindOrder(f.deleted), want) || len(f.deleted) != 4 {
				t.Errorf("deleted %v, want %v", f.deleted, want)
			}
		}},
		{"foreground waits for terminating pods", metav1.DeletePropagationForeground, true, func(f *fixture) {
			f.h.Settle()
			if len(f.deleted) != 0 {
				t.Fatalf("deleted %v before pods terminated", f.deleted)
			}
			d := f.h.Get(api.Deployments, "default", "web")
			rs := f.h.Get(api.ReplicaSets, "default", "web-1")
			if d == nil || rs == nil || !has(rs.GetFinalizers(), metav1.FinalizerDeleteDependents) {
				t.Fatalf("owners should wait in the foreground: deployment %v, rs %v", d != nil, rs)
			}
			for _, p := range f.h.List(api.Pods, "default", "") {
				if p.GetDeletionTimestamp() == nil {
					t.Errorf("pod %s not being deleted", p.GetName())
				}
			}
			f.kubelet()
			f.h.Settle()
			want := []string{"Pod", "ReplicaSet", "Deployment"}
			if !slices.Equal(kindOrder(f.deleted), want) || len(f.deleted) != 4 {
				t.Errorf("deleted %v, want %v", f.deleted, want)
			}
		}},
		{"orphan", metav1.DeletePropagationOrphan, false, func(f *fixture) {
			f.h.Settle()
			if !slices.Equal(f.deleted, []string{"Deployment/web"}) {
				t.Errorf("deleted %v, want the deployment only", f.deleted)
			}
			rs := f.h.Get(api.ReplicaSets, "default", "web-1")
			if rs == nil || len(rs.GetOwnerReferences()) != 0 {
				t.Fatalf("replicaset should be orphaned: %v", rs)
			}
			if got := f.names(api.Pods); len(got) != 2 {
				t.Errorf("pods = %v, want both kept", got)
			}
			for _, p := range f.h.List(api.Pods, "default", "") {
				if len(p.GetOwnerReferences()) != 1 {
					t.Errorf("pod %s lost its replicaset owner", p.GetName())
				}
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.tree(tc.bound)
			f.del(api.Deployments, "web", tc.policy)
			tc.check(f)
			if tc.policy != metav1.DeletePropagationOrphan && f.c.Len() != 0 {
				t.Errorf("graph keeps %d nodes", f.c.Len())
			}
		})
	}
}

func TestOwnerChecks(t *testing.T) {
	f := newFixture(t)
	rs := f.h.Create(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template()}})
	ghost := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "ghost", UID: types.UID("ghost-uid")}
	stale := ownerRef(rs, false)
	stale.UID = "old-uid" // same name, another object
	unknown := metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Widget", Name: "w", UID: "w-uid"}
	f.pod("dangling", false, ghost)
	f.pod("stale-uid", false, stale)
	f.pod("two-owners", false, ownerRef(rs, false), ghost)
	f.pod("unknown-kind", false, unknown)
	f.pod("owned", false, ownerRef(rs, false))
	f.h.Settle()
	f.h.Settle()
	if got := f.names(api.Pods); !slices.Equal(got, []string{"owned", "two-owners", "unknown-kind"}) {
		t.Errorf("pods = %v", got)
	}
	p := f.h.Get(api.Pods, "default", "two-owners")
	if refs := p.GetOwnerReferences(); len(refs) != 1 || refs[0].UID != rs.GetUID() {
		t.Errorf("two-owners refs = %v, want only the live replicaset", refs)
	}
}

// An owner of a kind no informer watches is looked up again periodically.
func TestUnwatchedOwner(t *testing.T) {
	f := newFixture(t)
	n := f.h.Create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}})
	f.pod("mirror", false, metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: "n1", UID: n.GetUID()})
	f.h.Settle()
	f.h.Advance(2 * time.Minute)
	if f.h.Get(api.Pods, "default", "mirror") == nil {
		t.Fatalf("pod with a live owner deleted")
	}
	f.h.API.Delete(context.Background(), api.Nodes, "", "n1", metav1.DeleteOptions{})
	f.h.Advance(DefaultVirtualRecheckPeriod)
	if f.h.Get(api.Pods, "default", "mirror") != nil {
		t.Errorf("pod outlived its unwatched owner")
	}
}

// kindOrder is the sequence of kinds in a deletion log, repeats collapsed
// (siblings go in UID order, which the test does not pin).
func kindOrder(deleted []string) []string {
	var out []string
	for _, d := range deleted {
		k, _, _ := strings.Cut(d, "/")
		if len(out) == 0 || out[len(out)-1] != k {
			out = append(out, k)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// Objects the informers held before the collector started are in its graph.
func TestStartsFromExistingCache(t *testing.T) {
	h := harness.New(t)
	pods := h.Informer(api.Pods)
	h.Create(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "orphaned", Namespace: "default",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "gone", UID: "gone-uid"}}},
		Spec: template().Spec})
	h.Settle()
	New(Config{Client: h.Client, Clock: h.Clock, Informers: []*informer.Informer{pods, h.Informer(api.ReplicaSets)}})
	h.Settle()
	if h.Get(api.Pods, "default", "orphaned") != nil {
		t.Errorf("pod with a missing owner kept")
	}
}

// Foreground deletion only waits for dependents with blockOwnerDeletion,
// but deletes the others too.
func TestForegroundNonBlocking(t *testing.T) {
	f := newFixture(t)
	rs := f.h.Create(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template()}})
	f.pod("free", true, ownerRef(rs, false))
	f.h.Settle()
	f.del(api.ReplicaSets, "rs", metav1.DeletePropagationForeground)
	f.h.Settle()
	if f.h.Get(api.ReplicaSets, "default", "rs") != nil {
		t.Errorf("owner waited for a non-blocking dependent")
	}
	if p := f.h.Get(api.Pods, "default", "free"); p == nil || p.GetDeletionTimestamp() == nil {
		t.Errorf("non-blocking dependent not deleted: %v", p)
	}
}
