package traffic

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/drydock-sim/drydock/core/proxy"
)

// A Service answers throughout while its pods are up; when the only pod on
// one node dies (and the endpoints are not yet updated), the requests routed
// to it fail in exactly those windows.
func TestGeneratorCountsPerWindow(t *testing.T) {
	n, clk := twoNodes(t)
	apply(t, n, webRules(nil), "a", "b")
	down := map[string]bool{}
	c := NewCounter(clk.Now(), time.Second)
	g := &Generator{Name: "web", Clock: clk, Rand: rand.New(rand.NewPCG(5, 5)), Network: n, ClientNode: "a",
		Service: webName, Rate: 20, Reachable: func(ip string) bool { return !down[ip] }, Sink: c}
	g.Start()
	clk.Advance(3*time.Second - time.Nanosecond)
	down["10.244.2.5"] = true
	clk.Advance(2 * time.Second)
	down["10.244.2.5"] = false
	clk.Advance(2 * time.Second)
	g.Stop()
	clk.Advance(10 * time.Second)

	if g.Sent() != 140 {
		t.Errorf("sent %d, want 140 (20/s for 7s)", g.Sent())
	}
	ws := c.Windows()
	if len(ws) != 7 {
		t.Fatalf("%d windows, want 7", len(ws))
	}
	for i, w := range ws {
		if w.Sent() != 20 {
			t.Errorf("window %d: sent %d, want 20", i, w.Sent())
		}
		bad := i == 3 || i == 4
		if bad != (w.Unreachable > 0) || w.Failed() != w.Unreachable || w.OK == 0 {
			t.Errorf("window %d: %+v", i, w)
		}
	}
	if err := c.AnsweredThroughout(epoch, epoch.Add(3*time.Second)); err != nil {
		t.Errorf("first 3s: %v", err)
	}
	err := c.AnsweredThroughout(epoch, epoch.Add(7*time.Second))
	if err == nil || !strings.Contains(err.Error(), "window at +3s") {
		t.Errorf("whole run: %v, want a failure at +3s", err)
	}
	if err := c.AnsweredThroughout(epoch.Add(5*time.Second), epoch.Add(8*time.Second)); err == nil || !strings.Contains(err.Error(), "no requests") {
		t.Errorf("after stop: %v, want no requests", err)
	}
	tot := c.Total()
	if tot.Sent() != 140 || tot.OK+tot.Unreachable != 140 {
		t.Errorf("total %+v", tot)
	}
	if b := c.Between(epoch.Add(3*time.Second), epoch.Add(5*time.Second)); b.Sent() != 40 || b.Unreachable == 0 {
		t.Errorf("between 3s and 5s: %+v", b)
	}
}

// Routing failures are classified; the generator follows the Service as the
// client node's table has it.
func TestGeneratorClassifiesFailures(t *testing.T) {
	n, clk := twoNodes(t)
	c := NewCounter(clk.Now(), 0)
	g := &Generator{Clock: clk, Rand: rand.New(rand.NewPCG(1, 2)), Network: n, ClientNode: "a", Service: webName, Sink: c}
	step := func(rs *proxy.RuleSet) Result {
		if rs != nil {
			apply(t, n, *rs, "a", "b")
		}
		clk.Advance(time.Second)
		return g.Send()
	}
	noEps := webRules(func(p *proxy.ServicePort) { p.Endpoints = nil })
	local := webRules(func(p *proxy.ServicePort) { p.InternalLocal = true; p.Endpoints = p.Endpoints[1:] })
	ok := webRules(nil)
	moved := webRules(func(p *proxy.ServicePort) { p.ClusterIP = "10.96.0.99" })
	for i, tc := range []struct {
		rs   *proxy.RuleSet
		want error
	}{
		{nil, proxy.ErrNoRule},
		{&noEps, proxy.ErrRejected},
		{&local, proxy.ErrDropped},
		{&ok, nil},
		{&moved, nil},
	} {
		if res := step(tc.rs); !errors.Is(res.Err, tc.want) {
			t.Errorf("step %d: %v, want %v", i, res.Err, tc.want)
		}
	}
	n.SetNodeUp("a", false)
	if res := step(nil); !errors.Is(res.Err, ErrNodeDown) {
		t.Errorf("node down: %v", res.Err)
	}
	ws := c.Windows()
	got := []int{ws[1].NoRule, ws[2].Rejected, ws[3].Dropped, ws[4].OK, ws[5].OK, ws[6].Other}
	for _, v := range got {
		if v != 1 {
			t.Errorf("window counts %v, want one each", got)
			break
		}
	}
}

// Through a NodePort, from outside the cluster.
func TestGeneratorNodePortFromOutside(t *testing.T) {
	n, clk := twoNodes(t)
	apply(t, n, webRules(func(p *proxy.ServicePort) { p.ExternalLocal = true }), "a", "b")
	c := NewCounter(clk.Now(), time.Second)
	var pods []string
	g := &Generator{Clock: clk, Rand: rand.New(rand.NewPCG(1, 2)), Network: n, NodeIP: "192.168.0.2", Service: webName,
		Rate: 10, Sink: sinkFunc(func(r Result) { c.Record(r); pods = append(pods, r.Backend.Pod) })}
	g.Start()
	clk.Advance(time.Second - 1)
	if err := c.AnsweredThroughout(epoch, epoch.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if p != "default/web-b" {
			t.Fatalf("external traffic to b reached %s under Local policy", p)
		}
	}
}

type sinkFunc func(Result)

func (f sinkFunc) Record(r Result) { f(r) }

// Poisson arrivals average the rate and replay identically from a seed.
func TestGeneratorPoisson(t *testing.T) {
	run := func() []time.Time {
		n, clk := twoNodes(t)
		apply(t, n, webRules(nil), "a")
		var at []time.Time
		g := &Generator{Clock: clk, Rand: rand.New(rand.NewPCG(8, 8)), Network: n, ClientNode: "a", Service: webName,
			Rate: 50, Poisson: true, Sink: sinkFunc(func(r Result) { at = append(at, r.At) })}
		g.Start()
		clk.Advance(100 * time.Second)
		return at
	}
	a, b := run(), run()
	if len(a) < 4500 || len(a) > 5500 {
		t.Errorf("%d requests in 100s at 50/s", len(a))
	}
	if len(a) != len(b) {
		t.Fatalf("replay differs: %d vs %d", len(a), len(b))
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			t.Fatalf("replay differs at %d", i)
		}
	}
}

// A Sink may stop its generator from inside Record.
func TestGeneratorStopFromSink(t *testing.T) {
	n, clk := twoNodes(t)
	apply(t, n, webRules(nil), "a")
	var g *Generator
	g = &Generator{Clock: clk, Rand: rand.New(rand.NewPCG(1, 2)), Network: n, ClientNode: "a", Service: webName, Rate: 10,
		Sink: sinkFunc(func(Result) {
			if g.Sent() == 3 {
				g.Stop()
			}
		})}
	g.Start()
	clk.Advance(10 * time.Second)
	if g.Sent() != 3 || clk.Len() != 0 {
		t.Errorf("sent %d, pending timers %d; want 3 and none", g.Sent(), clk.Len())
	}
}
