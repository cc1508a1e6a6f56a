package deployment

import (
	"context"
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/controllers/replicaset"
	"github.com/drydock-sim/drydock/core/harness"
	"github.com/drydock-sim/drydock/core/rng"
)

// brokenImage never becomes ready under the test kubelet.
const brokenImage = "broken:1"

type env struct {
	h  *harness.Harness
	dc *Controller
	rc *replicaset.Controller
	// readyAfter is how long after creation the kubelet marks a pod ready.
	readyAfter time.Duration
	stopped    bool
}

// setup runs the Deployment and ReplicaSet controllers over reflector-fed
// informers and a kubelet that ticks every second. Watch events are delayed
// by a seeded random duration below maxLatency.
func setup(t testing.TB, maxLatency time.Duration) *env {
	t.Helper()
	h := harness.New(t)
	if maxLatency > 0 {
		r := rng.Stream(11, "latency")
		h.Client.Latency = func() time.Duration { return time.Duration(r.Int64N(int64(maxLatency))) }
	}
	pods, rss, deps := h.Informer(api.Pods), h.Informer(api.ReplicaSets), h.Informer(api.Deployments)
	e := &env{h: h, readyAfter: 2 * time.Second}
	e.dc = New(Config{Client: h.Client, Clock: h.Clock, Recorder: h.Recorder("deployment-controller"),
		Pods: pods, ReplicaSets: rss, Deployments: deps})
	e.rc = replicaset.New(replicaset.Config{Client: h.Client, Clock: h.Clock, Recorder: h.Recorder("replicaset-controller"),
		Pods: pods, ReplicaSets: rss, Deployments: deps})
	var tick func()
	tick = func() {
		if e.stopped {
			return
		}
		e.kubelet()
		h.Clock.AfterFunc(time.Second, tick)
	}
	h.Clock.AfterFunc(time.Second, tick)
	return e
}

// kubelet binds new pods, marks them Running and Ready readyAfter after
// creation (never for brokenImage), and finishes graceful deletions.
func (e *env) kubelet() {
	ctx := context.Background()
	now := e.h.Clock.Now()
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
		case p.Status.Phase == corev1.PodPending && p.Spec.Containers[0].Image != brokenImage &&
			!now.Before(p.CreationTimestamp.Add(e.readyAfter)):
			cp := p.DeepCopy()
			ts := metav1.NewTime(now.Truncate(time.Second))
			cp.Status.Phase = corev1.PodRunning
			cp.Status.Conditions = append(cp.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: ts})
			if _, err := e.h.API.Update(ctx, cp, "status"); err != nil {
				e.h.T.Fatalf("pod status: %v", err)
			}
		}
	}
}

func int32p(v int32) *int32 { return &v }

func newDeployment(name string, replicas int32, image string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: int32p(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
			},
		},
	}
}

func rolling(d *appsv1.Deployment, surge, unavailable intstr.IntOrString) *appsv1.Deployment {
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}}
	return d
}

func (e *env) deployment(name string) *appsv1.Deployment {
	o := e.h.Get(api.Deployments, "default", name)
	if o == nil {
		e.h.T.Fatalf("deployment %s not found", name)
	}
	return o.(*appsv1.Deployment)
}

// update changes the stored Deployment through f.
func (e *env) update(name string, f func(d *appsv1.Deployment)) {
	e.h.T.Helper()
	d := e.deployment(name).DeepCopy()
	f(d)
	if _, err := e.h.API.Update(context.Background(), d, ""); err != nil {
		e.h.T.Fatalf("update deployment: %v", err)
	}
}

func setImage(image string) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = image }
}

// rss lists the stored ReplicaSets, oldest revision first.
func (e *env) rss() []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, o := range e.h.List(api.ReplicaSets, "default", "") {
		out = append(out, o.(*appsv1.ReplicaSet))
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := Revision(out[i])
		b, _ := Revision(out[j])
		return a < b
	})
	return out
}

func (e *env) pods() []*corev1.Pod {
	var out []*corev1.Pod
	for _, o := range e.h.List(api.Pods, "default", "") {
		out = append(out, o.(*corev1.Pod))
	}
	return out
}

// availablePods counts ready pods that are not terminating.
func (e *env) availablePods() int {
	n := 0
	for _, p := range e.pods() {
		if p.DeletionTimestamp == nil && replicaset.IsPodReady(p) {
			n++
		}
	}
	return n
}

// runUntil steps the clock until done reports true or limit passes,
// calling check after every step.
func (e *env) runUntil(limit time.Duration, done func() bool, check func()) {
	e.h.T.Helper()
	end := e.h.Clock.Now().Add(limit)
	for !done() {
		at, ok := e.h.Clock.Next()
		if !ok || at.After(end) {
			e.h.T.Fatalf("not done after %v", limit)
		}
		e.h.Clock.Step()
		if check != nil {
			check()
		}
	}
}

// rolledOut is `kubectl rollout status`'s success test.
func (e *env) rolledOut(name string) bool {
	d := e.deployment(name)
	if d.Generation > d.Status.ObservedGeneration {
		return false
	}
	if c := GetCondition(d.Status, appsv1.DeploymentProgressing); c != nil && c.Reason == ReasonTimedOut {
		return false
	}
	n := *d.Spec.Replicas
	return d.Status.UpdatedReplicas >= n && d.Status.Replicas <= d.Status.UpdatedReplicas && d.Status.AvailableReplicas >= d.Status.UpdatedReplicas
}

func (e *env) messages(reason string) []string {
	var out []string
	for _, ev := range e.h.Events {
		if ev.Reason == reason {
			out = append(out, ev.Message)
		}
	}
	return out
}
