package sim

// Simulated Service traffic: each of the scenario's traffic entries is a
// client on a node that sends requests at a Service port at a steady rate.
// A request is routed through that node's rule table (sim/traffic, the
// simulator's stand-in for iptables), which one proxy component (core/proxy,
// kube-proxy's logic) keeps programmed from the control plane's Service and
// Endpoints caches; it is answered when the backend it reaches is alive.
//
// Simplifications, documented in the READMEs:
//   - one proxy for all client nodes, fed by the control plane's watch
//     caches, instead of one kube-proxy per node with its own watches (a
//     proxy per node would cost too much at 1,000+ nodes); so the client's
//     rules lag the API by the control plane's watch latency plus the
//     proxy's sync period. A crashed or partitioned client node's table is
//     not updated (its kube-proxy cannot reach the API server) and catches
//     up at its first request after the node is back, as kube-proxy
//     resyncs on reconnecting (here at once rather than about a second
//     later);
//   - a backend answers when its pod exists in the API with phase Running,
//     with the address the endpoint names, and its node is not crashed
//     (partitions cut nodes off the API server, not off each other);
//   - requests are instantaneous: a request is answered or fails at the
//     moment it is sent.

import (
	"errors"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/proxy"
	"github.com/drydock-sim/drydock/core/rng"
	"github.com/drydock-sim/drydock/core/store"
	"github.com/drydock-sim/drydock/sim/expect"
	"github.com/drydock-sim/drydock/sim/scenario"
	"github.com/drydock-sim/drydock/sim/trace"
	"github.com/drydock-sim/drydock/sim/traffic"
)

// TrafficResult totals one traffic entry's requests.
type TrafficResult struct {
	Name    string `json:"name"`
	Service string `json:"service"` // namespace/name:port
	Client  string `json:"client"`  // node the requests were sent from
	Sent    int    `json:"sent"`
	OK      int    `json:"ok"`
	Failed  int    `json:"failed"`
	// Failures counts the failed requests by cause: unreachable (the
	// backend pod was gone, not running or on a dead node), rejected (no
	// endpoints), dropped (no local endpoints), noRule (the client's rules
	// had no such Service port yet), clientDown (the client's node crashed).
	Failures map[string]int `json:"failures,omitempty"`
}

// trafficSim holds the data path shared by all traffic entries.
type trafficSim struct {
	w      *World
	net    *traffic.Network
	proxy  *proxy.Proxy
	tables []*traffic.Table // one per client node, in scenario order
	// stale marks the client nodes whose table missed rules while the
	// node was crashed or partitioned.
	stale map[string]bool
	gens  []*trafficGen
	// pods is what reachability needs of every pod in the API, fed
	// synchronously by a store watch so it is exact at every instant.
	pods map[string]podPresence
}

type podPresence struct {
	ip      string
	node    string
	running bool
}

// startTraffic wires the scenario's traffic entries into the world. It must
// run before the scenario's objects are applied, so that the pod watch sees
// every pod. Without traffic entries it does nothing.
func (w *World) startTraffic() {
	if len(w.sc.Traffic) == 0 {
		return
	}
	ts := &trafficSim{w: w, net: traffic.NewNetwork(w.clock), pods: map[string]podPresence{}, stale: map[string]bool{}}
	if _, err := w.store.Watch(api.Pods.KeyPrefix(""), 0, ts.observePod); err != nil {
		panic(fmt.Sprintf("sim: watch pods for traffic: %v", err)) // a new watch from now cannot fail
	}
	for i := range w.sc.Traffic {
		spec := &w.sc.Traffic[i]
		t, ok := ts.net.Table(spec.Client)
		if !ok {
			t = ts.net.AddNode(spec.Client, w.nodeIP(spec.Client))
			ts.tables = append(ts.tables, t)
		}
		g := &trafficGen{ts: ts, spec: spec, table: t, start: Epoch.Add(spec.From),
			gen: &traffic.Generator{Name: spec.Name, Clock: w.clock, Rand: rng.Stream(w.seed, "traffic/"+spec.Name),
				Network: ts.net, ClientNode: spec.Client}}
		g.total = g.before(spec.Until - spec.From)
		ts.gens = append(ts.gens, g)
	}
	ts.proxy = proxy.New(proxy.Config{Clock: w.clock, Services: w.cp.Informers[api.Services],
		Endpoints: w.cp.Informers[api.Endpoints], Backend: (*fanout)(ts)})
	ts.proxy.Start()
	for _, g := range ts.gens {
		g.schedule()
		w.clock.AfterFunc(g.spec.Until, g.finish)
	}
	w.traffic = ts
}

// nodeIP is the node's InternalIP as its kubelet registers it.
func (w *World) nodeIP(name string) string {
	for i, n := range w.order {
		if n == name {
			return nodeTemplate(w.sc.PoolOfNode(name), name, i).Status.Addresses[0].Address
		}
	}
	return ""
}

// fanout applies the one proxy's rules to the client nodes' tables (a
// RuleSet does not depend on the node it is applied on), except to those of
// nodes cut off from the API server.
type fanout trafficSim

func (f *fanout) Apply(rs proxy.RuleSet) error {
	ts := (*trafficSim)(f)
	for _, t := range ts.tables {
		if !ts.connected(t.Node()) {
			ts.stale[t.Node()] = true
			continue
		}
		if err := t.Apply(rs); err != nil {
			return err
		}
	}
	return nil
}

// connected reports whether node's kube-proxy could watch the API server.
func (ts *trafficSim) connected(node string) bool {
	n := ts.w.nodes[node]
	return n == nil || (!n.crashed && !n.partitioned)
}

// catchUp brings a reconnected client node's table up to date.
func (ts *trafficSim) catchUp(t *traffic.Table) {
	if ts.stale[t.Node()] && ts.connected(t.Node()) {
		delete(ts.stale, t.Node())
		_ = t.Apply(ts.proxy.Rules()) // a Table never fails to apply
	}
}

func (ts *trafficSim) observePod(ev store.Event) {
	p, ok := ev.Object.(*corev1.Pod)
	if !ok {
		return
	}
	key := p.Namespace + "/" + p.Name
	if ev.Type == store.Deleted {
		delete(ts.pods, key)
		return
	}
	ts.pods[key] = podPresence{ip: p.Status.PodIP, node: p.Spec.NodeName, running: p.Status.Phase == corev1.PodRunning}
}

// reachable reports whether the endpoint a request was forwarded to answers.
func (ts *trafficSim) reachable(ep proxy.Endpoint) bool {
	node := ep.NodeName
	if ep.Pod != "" {
		p, ok := ts.pods[ep.Pod]
		if !ok || !p.running || p.ip != ep.IP {
			return false
		}
		node = p.node
	}
	n := ts.w.nodes[node]
	return n == nil || !n.crashed
}

// cause is why a request failed; the order is the order of TrafficResult's
// documentation.
type cause uint8

const (
	causeUnreachable cause = iota
	causeRejected
	causeDropped
	causeNoRule
	causeClientDown
	numCauses
)

var causeNames = [numCauses]string{"unreachable", "rejected", "dropped", "noRule", "clientDown"}

func classify(err error) cause {
	switch {
	case errors.Is(err, proxy.ErrRejected):
		return causeRejected
	case errors.Is(err, proxy.ErrDropped):
		return causeDropped
	case errors.Is(err, proxy.ErrNoRule):
		return causeNoRule
	case errors.Is(err, traffic.ErrNodeDown), errors.Is(err, traffic.ErrUnknownNode):
		return causeClientDown
	}
	return causeUnreachable
}

// of points at c's counter in w.
func (c cause) of(w *traffic.Window) *int {
	switch c {
	case causeUnreachable:
		return &w.Unreachable
	case causeRejected:
		return &w.Rejected
	case causeDropped:
		return &w.Dropped
	case causeNoRule:
		return &w.NoRule
	}
	return &w.Other
}

// trafficGen sends one entry's requests. Request k (from 0) goes out at
// start + offset(k); the requests' outcomes are kept as runs of failed
// request indices, so that the requests of any window can be counted
// exactly in O(log n) without storing one record per request.
type trafficGen struct {
	ts    *trafficSim
	spec  *scenario.Traffic
	gen   *traffic.Generator
	table *traffic.Table
	start time.Time
	total int64 // requests in [From, Until)
	next  int64 // index of the next request
	runs  []failureRun
	sums  traffic.Window // every request so far
	// The current second of simulated time, whose counts go to the trace
	// when it had failures.
	sec    int64
	secWin traffic.Window
}

// failureRun is requests [first, end), all failed for one cause.
type failureRun struct {
	first, end int64
	cause      cause
}

// offset is when request k is sent, after start.
func (g *trafficGen) offset(k int64) time.Duration {
	return time.Duration(float64(k) * float64(time.Second) / g.spec.Rate)
}

// before is the number of requests sent at offsets below d.
func (g *trafficGen) before(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	hi := int64(d.Seconds()*g.spec.Rate) + 2 // offset(hi) > d
	return int64(sort.Search(int(hi)+1, func(k int) bool { return g.offset(int64(k)) >= d }))
}

func (g *trafficGen) schedule() {
	if g.next >= g.total {
		return
	}
	at := g.start.Add(g.offset(g.next))
	g.ts.w.clock.AfterFunc(at.Sub(g.ts.w.clock.Now()), g.tick)
}

func (g *trafficGen) tick() {
	g.record(g.send())
	g.next++
	g.schedule()
}

// send sends request g.next and returns its outcome.
func (g *trafficGen) send() traffic.Result {
	now := g.ts.w.clock.Now()
	if n := g.ts.w.nodes[g.spec.Client]; n != nil && n.crashed {
		return traffic.Result{At: now, Generator: g.spec.Name, Err: traffic.ErrNodeDown}
	}
	g.ts.catchUp(g.table)
	name, ok := g.resolve()
	if !ok {
		return traffic.Result{At: now, Generator: g.spec.Name, Err: proxy.ErrNoRule}
	}
	g.gen.Service = name
	res := g.gen.Send()
	if res.Err == nil && !g.ts.reachable(res.Backend) {
		res.Err = traffic.ErrUnreachable
	}
	return res
}

// resolve finds the Service port the entry targets in the client's rules,
// by number or by name, as the client's node currently knows it.
func (g *trafficGen) resolve() (proxy.ServicePortName, bool) {
	ports := g.table.Rules().Ports
	ns, svc := g.spec.Namespace, g.spec.Service
	i := sort.Search(len(ports), func(i int) bool {
		n := ports[i].Name
		return n.Namespace > ns || (n.Namespace == ns && n.Name >= svc)
	})
	for ; i < len(ports) && ports[i].Name.Namespace == ns && ports[i].Name.Name == svc; i++ {
		p := &ports[i]
		if p.Name.Protocol != corev1.ProtocolTCP {
			continue
		}
		if (g.spec.PortName != "" && p.Name.Port == g.spec.PortName) || (g.spec.PortName == "" && p.Port == g.spec.Port) {
			return p.Name, true
		}
	}
	return proxy.ServicePortName{}, false
}

func (g *trafficGen) record(res traffic.Result) {
	if sec := int64(res.At.Sub(Epoch) / time.Second); sec != g.sec {
		g.flushSecond()
		g.sec = sec
	}
	g.tally(res)
}

// tally counts request g.next's outcome.
func (g *trafficGen) tally(res traffic.Result) {
	if res.Err == nil {
		g.sums.OK++
		g.secWin.OK++
		return
	}
	c := classify(res.Err)
	*c.of(&g.sums)++
	*c.of(&g.secWin)++
	if n := len(g.runs); n > 0 && g.runs[n-1].end == g.next && g.runs[n-1].cause == c {
		g.runs[n-1].end++
	} else {
		g.runs = append(g.runs, failureRun{first: g.next, end: g.next + 1, cause: c})
	}
}

// flushSecond traces the current second if some of its requests failed:
// one line per second with failures, never one per request.
func (g *trafficGen) flushSecond() {
	w := g.secWin
	g.secWin = traffic.Window{}
	if w.Failed() == 0 {
		return
	}
	from := time.Duration(g.sec) * time.Second
	g.ts.w.trace.Add(g.ts.w.since(), trace.Record{Kind: "traffic", Op: "failures", Node: g.spec.Client,
		Object: "Service/" + g.spec.Namespace + "/" + g.spec.Service,
		Detail: fmt.Sprintf("%s [%s, %s): %d of %d answered; failed: %s", g.spec.Name,
			scenario.FormatDuration(from), scenario.FormatDuration(from+time.Second), w.OK, w.Sent(), expect.DescribeFailures(w))})
}

// finish runs at Until: the last second's failures and the entry's totals
// go to the trace.
func (g *trafficGen) finish() {
	g.flushSecond()
	s := g.sums
	detail := fmt.Sprintf("%s: %d of %d answered", g.spec.Name, s.OK, s.Sent())
	if s.Failed() > 0 {
		detail += "; failed: " + expect.DescribeFailures(s)
	}
	g.ts.w.trace.Add(g.ts.w.since(), trace.Record{Kind: "traffic", Op: "summary", Node: g.spec.Client,
		Object: "Service/" + g.spec.Namespace + "/" + g.spec.Service, Detail: detail})
}

// window counts the requests sent in [from, to).
func (g *trafficGen) window(from, to time.Time) traffic.Window {
	w := traffic.Window{Start: from}
	k0 := min(g.before(from.Sub(g.start)), g.next)
	k1 := min(g.before(to.Sub(g.start)), g.next)
	if k1 <= k0 {
		return w
	}
	failed := 0
	i := sort.Search(len(g.runs), func(i int) bool { return g.runs[i].end > k0 })
	for ; i < len(g.runs) && g.runs[i].first < k1; i++ {
		r := g.runs[i]
		n := int(min(r.end, k1) - max(r.first, k0))
		*r.cause.of(&w) += n
		failed += n
	}
	w.OK = int(k1-k0) - failed
	return w
}

func (ts *trafficSim) gen(name string) *trafficGen {
	if ts == nil {
		return nil
	}
	for _, g := range ts.gens {
		if g.spec.Name == name {
			return g
		}
	}
	return nil
}

// Traffic implements expect.TrafficView for the checker.
func (c *checker) Traffic(name string, from, to time.Time) (traffic.Window, bool) {
	g := c.w.traffic.gen(name)
	if g == nil {
		return traffic.Window{}, false
	}
	return g.window(from, to), true
}

var _ expect.TrafficView = (*checker)(nil)

// trafficResults totals every entry, in scenario order.
func (w *World) trafficResults() []TrafficResult {
	if w.traffic == nil {
		return nil
	}
	out := make([]TrafficResult, 0, len(w.traffic.gens))
	for _, g := range w.traffic.gens {
		s := g.sums
		r := TrafficResult{Name: g.spec.Name, Service: g.spec.Target(), Client: g.spec.Client,
			Sent: s.Sent(), OK: s.OK, Failed: s.Failed()}
		for c := cause(0); c < numCauses; c++ {
			if n := *c.of(&s); n > 0 {
				if r.Failures == nil {
					r.Failures = map[string]int{}
				}
				r.Failures[causeNames[c]] = n
			}
		}
		out = append(out, r)
	}
	return out
}
