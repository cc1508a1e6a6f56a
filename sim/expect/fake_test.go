package expect

import (
	"testing"
	"testing/fstest"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/sim/scenario"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeView is a View over plain slices.
type fakeView struct {
	now    time.Duration
	pods   []*corev1.Pod
	nodes  []*corev1.Node
	deps   map[string]*appsv1.Deployment
	events []*corev1.Event
}

func (v *fakeView) Now() time.Time          { return t0.Add(v.now) }
func (v *fakeView) Pods() []*corev1.Pod     { return v.pods }
func (v *fakeView) Nodes() []*corev1.Node   { return v.nodes }
func (v *fakeView) Events() []*corev1.Event { return v.events }
func (v *fakeView) Deployment(ns, name string) *appsv1.Deployment {
	return v.deps[ns+"/"+name]
}

// parse builds a scenario with pools a (a-0, a-1) and b (b-0) and the given
// expectations block.
func parse(t *testing.T, expectations string) *scenario.Scenario {
	t.Helper()
	src := `name: t
duration: 10m
nodePools:
  - {name: a, count: 2, capacity: {cpu: "4", memory: 8Gi}}
  - {name: b, count: 1, capacity: {cpu: "4", memory: 8Gi}}
expectations:
` + expectations
	sc, err := scenario.ParseFS(fstest.MapFS{}, "t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// eval evaluates the first expectation's check once against v.
func eval(t *testing.T, expectation string, v *fakeView) (bool, string) {
	t.Helper()
	sc := parse(t, expectation)
	c := New(sc, t0)
	return c.states[0].eval(&sample{v: v, c: c, now: v.now})
}

type podOpt func(*corev1.Pod)

func pod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func on(node string) podOpt { return func(p *corev1.Pod) { p.Spec.NodeName = node } }
func phase(ph corev1.PodPhase) podOpt {
	return func(p *corev1.Pod) { p.Status.Phase = ph }
}
func isReady(p *corev1.Pod) {
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue})
}
func deleting(p *corev1.Pod) {
	ts := metav1.NewTime(t0)
	p.DeletionTimestamp = &ts
}
func label(k, v string) podOpt { return func(p *corev1.Pod) { p.Labels[k] = v } }
func ns(n string) podOpt       { return func(p *corev1.Pod) { p.Namespace = n } }
func image(i string) podOpt    { return func(p *corev1.Pod) { p.Spec.Containers[0].Image = i } }
func requests(cpu, mem string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
	}
}
func unschedulablePod(p *corev1.Pod) {
	p.Status.Phase = corev1.PodPending
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}
}
func tolerate(key string, secs *int64) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs})
	}
}

func ptr[T any](v T) *T { return &v }

type nodeOpt func(*corev1.Node)

func node(name string, opts ...nodeOpt) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("3")},
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

// readyStatus sets the Ready condition, which changed at offset since (a
// negative since leaves lastTransitionTime unset).
func readyStatus(s corev1.ConditionStatus, since time.Duration) nodeOpt {
	return func(n *corev1.Node) {
		c := corev1.NodeCondition{Type: corev1.NodeReady, Status: s}
		if since >= 0 {
			c.LastTransitionTime = metav1.NewTime(t0.Add(since))
		}
		n.Status.Conditions = []corev1.NodeCondition{c}
	}
}

func zone(z string) nodeOpt { return func(n *corev1.Node) { n.Labels["zone"] = z } }
