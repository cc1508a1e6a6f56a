package replicaset

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
	"github.com/drydock-sim/drydock/core/rng"
)

type env struct {
	h *harness.Harness
	c *Controller
}

// setup starts pod and ReplicaSet informers and the controller; every
// watch event is delayed by a seeded random duration up to maxLatency, so
// events of different watches interleave unpredictably (each watch stays in
// order).
func setup(t testing.TB, maxLatency time.Duration) *env {
	t.Helper()
	h := harness.New(t)
	if maxLatency > 0 {
		r := rng.Stream(7, "latency")
		h.Client.Latency = func() time.Duration { return time.Duration(r.Int64N(int64(maxLatency))) }
	}
	c := New(Config{Client: h.Client, Clock: h.Clock, Recorder: h.Recorder("replicaset-controller"),
		Pods: h.Informer(api.Pods), ReplicaSets: h.Informer(api.ReplicaSets)})
	return &env{h: h, c: c}
}

func int32p(v int32) *int32 { return &v }

func newRS(name string, replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: int32p(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name, "tier": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1"}}},
			},
		},
	}
}

func (e *env) rs(name string) *appsv1.ReplicaSet {
	o := e.h.Get(api.ReplicaSets, "default", name)
	if o == nil {
		e.h.T.Fatalf("replicaset %s not found", name)
	}
	return o.(*appsv1.ReplicaSet)
}

func (e *env) scale(name string, n int32) {
	e.h.T.Helper()
	rs := e.rs(name).DeepCopy()
	rs.Spec.Replicas = &n
	if _, err := e.h.API.Update(context.Background(), rs, ""); err != nil {
		e.h.T.Fatalf("scale: %v", err)
	}
}

// pods lists every stored pod in default.
func (e *env) pods() []*corev1.Pod {
	var out []*corev1.Pod
	for _, o := range e.h.List(api.Pods, "default", "") {
		out = append(out, o.(*corev1.Pod))
	}
	return out
}

// active lists stored pods that count toward a ReplicaSet.
func (e *env) active() []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range e.pods() {
		if IsPodActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// kubelet plays every node: binds unbound pods to node-1 and marks them
// Running and Ready, and finishes graceful deletions.
func (e *env) kubelet() {
	ctx := context.Background()
	for _, p := range e.pods() {
		switch {
		case p.DeletionTimestamp != nil:
			zero := int64(0)
			e.h.API.Delete(ctx, api.Pods, p.Namespace, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		case p.Spec.NodeName == "":
			if err := e.h.API.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace},
				Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}}); err != nil {
				e.h.T.Fatalf("bind: %v", err)
			}
			e.markReady(p.Name)
		}
	}
}

func (e *env) markReady(name string) {
	e.setStatus(name, func(p *corev1.Pod) {
		now := metav1.NewTime(e.h.Clock.Now().Truncate(time.Second))
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now})
	})
}

func (e *env) setStatus(name string, f func(*corev1.Pod)) {
	e.h.T.Helper()
	p := e.h.Get(api.Pods, "default", name).(*corev1.Pod).DeepCopy()
	f(p)
	if _, err := e.h.API.Update(context.Background(), p, "status"); err != nil {
		e.h.T.Fatalf("pod status: %v", err)
	}
}

func (e *env) countReasons(reason string) int {
	n := 0
	for _, ev := range e.h.Events {
		if ev.Reason == reason {
			n++
		}
	}
	return n
}
