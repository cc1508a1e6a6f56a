package endpoints

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
)

type fixture struct {
	t *testing.T
	h *harness.Harness
	c *Controller
}

func newFixture(t *testing.T, max int) *fixture {
	h := harness.New(t)
	c := New(Config{Client: h.Client, Clock: h.Clock, Recorder: h.Recorder("endpoint-controller"),
		Services: h.Informer(api.Services), Pods: h.Informer(api.Pods), Endpoints: h.Informer(api.Endpoints),
		MaxAddresses: max})
	return &fixture{t: t, h: h, c: c}
}

func (f *fixture) service(ns, name string, sel map[string]string, mut func(*corev1.Service)) {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"team": "x"}},
		Spec: corev1.ServiceSpec{Selector: sel, Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromString("http")},
			{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9100)},
		}}}
	if mut != nil {
		mut(s)
	}
	f.h.Create(s)
}

// pod creates a pod; ip "" leaves it without an address.
func (f *fixture) pod(ns, name string, lbl map[string]string, ip string, ready bool, mut func(*corev1.Pod)) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbl},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "img:1",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}}}
	if mut != nil {
		mut(p)
	}
	f.h.Create(p)
	f.setStatus(ns, name, ip, ready)
}

func (f *fixture) setStatus(ns, name, ip string, ready bool) {
	p := f.h.Get(api.Pods, ns, name).(*corev1.Pod).DeepCopy()
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = ip
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	f.update(p, "status")
}

func (f *fixture) update(obj api.Object, sub string) {
	f.t.Helper()
	if _, err := f.h.API.Update(context.Background(), obj, sub); err != nil {
		f.t.Fatalf("update %s: %v", obj.GetName(), err)
	}
}

// summary renders an Endpoints compactly: "ports|ready|notready;..."
func (f *fixture) summary(ns, name string) string {
	o := f.h.Get(api.Endpoints, ns, name)
	if o == nil {
		return "<none>"
	}
	var parts []string
	for _, s := range o.(*corev1.Endpoints).Subsets {
		var ports, ready, nr []string
		for _, p := range s.Ports {
			ports = append(ports, fmt.Sprintf("%s=%d", p.Name, p.Port))
		}
		for _, a := range s.Addresses {
			ready = append(ready, a.TargetRef.Name)
		}
		for _, a := range s.NotReadyAddresses {
			nr = append(nr, a.TargetRef.Name)
		}
		parts = append(parts, strings.Join(ports, ",")+"|"+strings.Join(ready, ",")+"|"+strings.Join(nr, ","))
	}
	return strings.Join(parts, ";")
}

var web = map[string]string{"app": "web"}

func TestEndpointsTransitions(t *testing.T) {
	f := newFixture(t, 0)
	f.service("default", "web", web, nil)
	f.pod("default", "a", web, "10.0.0.2", true, nil)
	f.pod("default", "b", web, "10.0.0.1", false, nil)
	f.pod("default", "noip", web, "", true, nil)
	f.pod("default", "other", map[string]string{"app": "db"}, "10.0.0.9", true, nil)
	f.pod("default", "noport", web, "10.0.0.5", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil })
	f.h.Settle()

	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"initial", func() {}, "http=8080,metrics=9100|a|b;metrics=9100|noport|"},
		{"b becomes ready", func() { f.setStatus("default", "b", "10.0.0.1", true) }, "http=8080,metrics=9100|b,a|;metrics=9100|noport|"},
		{"a becomes not ready", func() { f.setStatus("default", "a", "10.0.0.2", false) }, "http=8080,metrics=9100|b|a;metrics=9100|noport|"},
		{"noip gets an IP", func() { f.setStatus("default", "noip", "10.0.0.3", true) }, "http=8080,metrics=9100|b,noip|a;metrics=9100|noport|"},
		{"other relabelled in", func() {
			p := f.h.Get(api.Pods, "default", "other").(*corev1.Pod).DeepCopy()
			p.Labels = web
			f.update(p, "")
		}, "http=8080,metrics=9100|b,noip,other|a;metrics=9100|noport|"},
		{"b relabelled out", func() {
			p := f.h.Get(api.Pods, "default", "b").(*corev1.Pod).DeepCopy()
			p.Labels = map[string]string{"app": "gone"}
			f.update(p, "")
		}, "http=8080,metrics=9100|noip,other|a;metrics=9100|noport|"},
		{"noip terminating", func() {
			f.h.API.Delete(context.Background(), api.Pods, "default", "noip", metav1.DeleteOptions{})
		}, "http=8080,metrics=9100|other|a;metrics=9100|noport|"},
		{"noport deleted", func() {
			f.h.API.Delete(context.Background(), api.Pods, "default", "noport", metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		}, "http=8080,metrics=9100|other|a"},
		{"other fails", func() {
			p := f.h.Get(api.Pods, "default", "other").(*corev1.Pod).DeepCopy()
			p.Status.Phase = corev1.PodFailed
			f.update(p, "status")
		}, "http=8080,metrics=9100||a"},
		{"selector changed", func() {
			s := f.h.Get(api.Services, "default", "web").(*corev1.Service).DeepCopy()
			s.Spec.Selector = map[string]string{"app": "gone"}
			f.update(s, "")
		}, "http=8080,metrics=9100|b|"},
		{"service deleted", func() {
			f.h.API.Delete(context.Background(), api.Services, "default", "web", metav1.DeleteOptions{})
		}, "<none>"},
	}
	for _, s := range steps {
		s.do()
		f.h.Settle()
		if got := f.summary("default", "web"); got != s.want {
			t.Errorf("%s: endpoints = %q, want %q", s.name, got, s.want)
		}
	}
}

func TestEndpointsShape(t *testing.T) {
	f := newFixture(t, 0)
	f.service("default", "web", web, nil)
	f.pod("default", "a", web, "10.0.0.2", true, func(p *corev1.Pod) {
		p.Spec.Hostname, p.Spec.Subdomain = "host-a", "web"
	})
	f.h.Settle()
	ep := f.h.Get(api.Endpoints, "default", "web").(*corev1.Endpoints)
	want := []corev1.EndpointSubset{{
		Addresses: []corev1.EndpointAddress{{IP: "10.0.0.2", Hostname: "host-a", NodeName: ptr("n1"),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "a",
				UID: f.h.Get(api.Pods, "default", "a").GetUID()}}},
		Ports: []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP},
			{Name: "metrics", Port: 9100, Protocol: corev1.ProtocolTCP}},
	}}
	if !apiequality.Semantic.DeepEqual(ep.Subsets, want) {
		t.Errorf("subsets = %+v\nwant %+v", ep.Subsets, want)
	}
	if ep.Labels["team"] != "x" {
		t.Errorf("labels = %v, want the service's", ep.Labels)
	}
}

func TestEndpointsVariants(t *testing.T) {
	cases := []struct {
		name string
		max  int
		svc  func(*corev1.Service)
		want string
	}{
		{"publishNotReadyAddresses", 0, func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true },
			"http=8080,metrics=9100|r1,r2,u1,u2|"},
		{"headless without ports", 0, func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone; s.Spec.Ports = nil },
			"|r1,r2|u1,u2"},
		{"truncated ready first", 3, nil, "http=8080,metrics=9100|r1,r2|u1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.max)
			f.service("default", "web", web, tc.svc)
			f.pod("default", "r1", web, "10.0.0.1", true, nil)
			f.pod("default", "r2", web, "10.0.0.2", true, nil)
			f.pod("default", "u1", web, "10.0.0.3", false, nil)
			f.pod("default", "u2", web, "10.0.0.4", false, nil)
			f.h.Settle()
			if got := f.summary("default", "web"); got != tc.want {
				t.Errorf("endpoints = %q, want %q", got, tc.want)
			}
			ep := f.h.Get(api.Endpoints, "default", "web").(*corev1.Endpoints)
			if got := ep.Annotations[OverCapacityAnnotation]; (got == "truncated") != (tc.max > 0) {
				t.Errorf("over-capacity annotation = %q", got)
			}
			if _, ok := ep.Labels[HeadlessLabel]; ok != (tc.svc != nil && strings.HasPrefix(tc.name, "headless")) {
				t.Errorf("headless label = %v", ok)
			}
		})
	}
}

// A pod change re-queues only the Services whose selector matches it, and
// an irrelevant change re-queues none and writes nothing.
func TestEndpointsTargetedRequeue(t *testing.T) {
	f := newFixture(t, 0)
	f.h.Create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}})
	f.service("default", "web", web, nil)
	f.service("default", "web-canary", map[string]string{"app": "web", "track": "canary"}, nil)
	f.service("default", "db", map[string]string{"app": "db"}, nil)
	f.service("other", "web", web, nil)
	f.service("default", "manual", nil, nil)
	f.pod("default", "a", web, "10.0.0.1", false, nil)
	f.h.Settle()
	if got := f.h.Get(api.Endpoints, "default", "manual"); got != nil {
		t.Errorf("selectorless service got endpoints")
	}
	before := f.c.Runner.Reconciles
	rv := f.h.Get(api.Endpoints, "default", "web").GetResourceVersion()

	p := f.h.Get(api.Pods, "default", "a").(*corev1.Pod).DeepCopy()
	p.Annotations = map[string]string{"note": "irrelevant"}
	f.update(p, "")
	f.h.Settle()
	if d := f.c.Runner.Reconciles - before; d != 0 {
		t.Errorf("irrelevant pod change caused %d reconciles", d)
	}

	f.setStatus("default", "a", "10.0.0.1", true)
	f.h.Settle()
	if d := f.c.Runner.Reconciles - before; d != 1 {
		t.Errorf("readiness change caused %d reconciles, want 1 (default/web only)", d)
	}
	if f.h.Get(api.Endpoints, "default", "web").GetResourceVersion() == rv {
		t.Errorf("endpoints not updated")
	}
	// A resync of an unchanged service writes nothing.
	rv = f.h.Get(api.Endpoints, "default", "web").GetResourceVersion()
	f.c.Runner.Enqueue("default/web")
	f.h.Settle()
	if f.h.Get(api.Endpoints, "default", "web").GetResourceVersion() != rv {
		t.Errorf("unchanged endpoints rewritten")
	}
	if got := f.summary("other", "web"); got != "" {
		t.Errorf("other/web = %q, want empty", got)
	}
}

func TestLeftoverEndpointsDeleted(t *testing.T) {
	f := newFixture(t, 0)
	f.h.Create(&corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "stale", Namespace: "default"}})
	f.h.Create(&corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "lock", Namespace: "default",
		Annotations: map[string]string{LeaderAnnotation: "{}"}}})
	f.h.Settle()
	if f.h.Get(api.Endpoints, "default", "stale") != nil {
		t.Errorf("leftover endpoints kept")
	}
	if f.h.Get(api.Endpoints, "default", "lock") == nil {
		t.Errorf("leader-election endpoints deleted")
	}
	if !slices.Equal(f.h.EventReasons(), nil) {
		t.Errorf("events = %v", f.h.EventReasons())
	}
}

func ptr[T any](v T) *T { return &v }

// Services the informer held before the controller was built get Endpoints.
func TestStartsFromExistingCache(t *testing.T) {
	h := harness.New(t)
	svcs, pods, eps := h.Informer(api.Services), h.Informer(api.Pods), h.Informer(api.Endpoints)
	f := &fixture{t: t, h: h}
	f.service("default", "web", web, nil)
	f.pod("default", "a", web, "10.0.0.1", true, nil)
	h.Settle()
	New(Config{Client: h.Client, Clock: h.Clock, Services: svcs, Pods: pods, Endpoints: eps})
	h.Settle()
	if got := f.summary("default", "web"); got != "http=8080,metrics=9100|a|" {
		t.Errorf("endpoints = %q", got)
	}
}
