package proxy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
	"github.com/drydock-sim/drydock/core/proxy"
)

// recorder is a Backend that remembers every Apply.
type recorder struct {
	h       *harness.Harness
	applies []applied
	fail    error
}

type applied struct {
	at time.Duration // since harness.Epoch
	rs proxy.RuleSet
}

func (r *recorder) Apply(rs proxy.RuleSet) error {
	r.applies = append(r.applies, applied{r.h.Clock.Now().Sub(harness.Epoch), rs})
	return r.fail
}

func (r *recorder) last() proxy.RuleSet { return r.applies[len(r.applies)-1].rs }

func (r *recorder) times() []time.Duration {
	var out []time.Duration
	for _, a := range r.applies {
		out = append(out, a.at)
	}
	return out
}

type fixture struct {
	h      *harness.Harness
	be     *recorder
	p      *proxy.Proxy
	errors []error
}

func setup(t *testing.T) *fixture {
	h := harness.New(t)
	f := &fixture{h: h, be: &recorder{h: h}}
	f.p = proxy.New(proxy.Config{Clock: h.Clock, Services: h.Informer(api.Services), Endpoints: h.Informer(api.Endpoints),
		Backend: f.be, OnError: func(err error) { f.errors = append(f.errors, err) }})
	return f
}

func (f *fixture) service(name string) {
	f.h.Create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Port: 80}}}})
}

// endpoints creates or replaces name's Endpoints with one ready address per ip.
func (f *fixture) endpoints(name string, ips ...string) {
	f.h.T.Helper()
	e := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
	if len(ips) > 0 {
		ss := corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Port: 8080, Protocol: corev1.ProtocolTCP}}}
		for _, ip := range ips {
			ss.Addresses = append(ss.Addresses, corev1.EndpointAddress{IP: ip})
		}
		e.Subsets = []corev1.EndpointSubset{ss}
	}
	ctx := context.Background()
	if cur := f.h.Get(api.Endpoints, "default", name); cur != nil {
		e.ResourceVersion = cur.GetResourceVersion()
		e.Labels = cur.GetLabels()
		if _, err := f.h.API.Update(ctx, e, ""); err != nil {
			f.h.T.Fatalf("update endpoints: %v", err)
		}
		return
	}
	f.h.Create(e)
}

func backends(t *testing.T, rs proxy.RuleSet, name string) []string {
	t.Helper()
	p, ok := rs.Get(proxy.ServicePortName{Namespace: "default", Name: name, Protocol: corev1.ProtocolTCP})
	if !ok {
		return nil
	}
	out := []string{}
	for _, e := range p.Endpoints {
		out = append(out, e.String())
	}
	return out
}

func TestProxyInitialSyncAppliesExistingState(t *testing.T) {
	f := setup(t)
	f.service("web")
	f.endpoints("web", "10.0.0.1")
	f.h.Settle()
	f.p.Start()
	f.h.Settle()
	if len(f.be.applies) != 1 {
		t.Fatalf("applies = %v, want one at start", f.be.times())
	}
	if got := backends(t, f.be.last(), "web"); len(got) != 1 || got[0] != "10.0.0.1:8080" {
		t.Errorf("web backends = %v", got)
	}
	if !f.p.InSync() {
		t.Errorf("not in sync after a successful apply")
	}
}

func TestProxyEmptyClusterStillSyncsOnce(t *testing.T) {
	f := setup(t)
	f.p.Start()
	f.h.Settle()
	if len(f.be.applies) != 1 || f.be.last().Len() != 0 {
		t.Fatalf("applies = %d, want one empty apply", len(f.be.applies))
	}
}

// A burst of changes right after a sync is applied once, MinSyncPeriod after
// that sync; a change after a quiet spell is applied at once.
func TestProxyCoalescesBursts(t *testing.T) {
	f := setup(t)
	f.service("web")
	f.p.Start()
	f.h.Settle() // apply at 0
	ips := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}
	for i := range ips {
		f.h.Advance(100 * time.Millisecond)
		f.endpoints("web", ips[:i+1]...)
	}
	f.h.Settle()
	if n := len(f.be.applies); n != 1 {
		t.Fatalf("applied %d times before MinSyncPeriod, want 1: %v", n, f.be.times())
	}
	f.h.Advance(700 * time.Millisecond) // t = 1s
	if got := f.be.times(); len(got) != 2 || got[1] != time.Second {
		t.Fatalf("apply times = %v, want [0 1s]", got)
	}
	if got := backends(t, f.be.last(), "web"); len(got) != 3 {
		t.Errorf("coalesced apply has backends %v, want all three", got)
	}
	f.h.Advance(10 * time.Second)
	f.endpoints("web", "10.0.0.9")
	f.h.Settle()
	if got := f.be.times(); len(got) != 3 || got[2] != 11*time.Second {
		t.Fatalf("apply times = %v, want third at 11s", got)
	}
}

// Without changes, everything is re-applied every SyncPeriod; an object
// update that does not change the rules does not cause an apply.
func TestProxyPeriodicResyncAndNoopUpdates(t *testing.T) {
	f := setup(t)
	f.service("web")
	f.endpoints("web", "10.0.0.1")
	f.p.Start()
	f.h.Settle()
	f.h.Advance(5 * time.Second)
	// Same addresses, new labels: a new resourceVersion but the same rules.
	e := f.h.Get(api.Endpoints, "default", "web").(*corev1.Endpoints).DeepCopy()
	e.Labels = map[string]string{"touched": "yes"}
	if _, err := f.h.API.Update(context.Background(), e, ""); err != nil {
		t.Fatal(err)
	}
	f.h.Advance(24*time.Second + 900*time.Millisecond)
	if n := len(f.be.applies); n != 1 {
		t.Fatalf("applies = %v, want only the initial one before 30s", f.be.times())
	}
	f.h.Advance(100 * time.Millisecond)
	f.h.Advance(30 * time.Second)
	if got := f.be.times(); len(got) != 3 || got[1] != 30*time.Second || got[2] != 60*time.Second {
		t.Fatalf("apply times = %v, want [0 30s 60s]", got)
	}
	if s := f.p.Stats(); s.Applies != 3 || s.Failures != 0 || s.Syncs < 3 {
		t.Errorf("stats = %+v", s)
	}
}

// A failed apply is reported and retried with the periodic resync, or
// sooner when something changes.
func TestProxyRetriesFailedApply(t *testing.T) {
	f := setup(t)
	f.service("web")
	f.be.fail = errors.New("iptables-restore: exit status 1")
	f.p.Start()
	f.h.Settle()
	if len(f.errors) != 1 || f.p.InSync() {
		t.Fatalf("errors = %v, inSync = %v", f.errors, f.p.InSync())
	}
	f.h.Advance(30 * time.Second)
	if got := f.be.times(); len(got) != 2 || got[1] != 30*time.Second {
		t.Fatalf("apply times = %v, want retry at 30s", got)
	}
	f.be.fail = nil
	f.h.Advance(5 * time.Second)
	f.endpoints("web", "10.0.0.1")
	f.h.Settle()
	if got := f.be.times(); len(got) != 3 || got[2] != 35*time.Second || !f.p.InSync() {
		t.Fatalf("apply times = %v inSync=%v, want success at 35s", got, f.p.InSync())
	}
	if s := f.p.Stats(); s.Failures != 2 || s.LastApply != harness.Epoch.Add(35*time.Second) {
		t.Errorf("stats = %+v", s)
	}
}

func TestProxyFollowsAddsAndDeletes(t *testing.T) {
	f := setup(t)
	f.p.Start()
	f.h.Settle()
	f.service("a")
	f.service("b")
	f.endpoints("b", "10.0.0.2")
	f.h.Advance(time.Second)
	rs := f.be.last()
	if rs.Len() != 2 || len(backends(t, rs, "a")) != 0 || len(backends(t, rs, "b")) != 1 {
		t.Fatalf("rules = %+v", rs.Ports)
	}
	if _, _, err := f.h.API.Delete(context.Background(), api.Services, "default", "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	f.h.Advance(time.Second)
	rs2 := f.be.last()
	if rs2.Len() != 1 || rs2.Ports[0].Name.Name != "b" {
		t.Fatalf("after delete: %+v", rs2.Ports)
	}
	// RuleSets handed out earlier are never modified.
	if rs.Len() != 2 || rs.Ports[0].Name.Name != "a" {
		t.Errorf("earlier RuleSet changed: %+v", rs.Ports)
	}
	if !f.p.Rules().Equal(rs2) {
		t.Errorf("Rules() differs from the last apply")
	}
}

func TestProxyStop(t *testing.T) {
	f := setup(t)
	f.p.Start()
	f.h.Settle()
	f.p.Stop()
	f.service("a")
	f.h.Advance(time.Minute)
	if n := len(f.be.applies); n != 1 {
		t.Fatalf("applies after Stop: %v", f.be.times())
	}
	f.p.Start()
	f.h.Settle()
	if rs := f.be.last(); len(f.be.applies) != 2 || rs.Len() != 1 {
		t.Fatalf("restart: applies %v, last %+v", f.be.times(), rs.Ports)
	}
}
