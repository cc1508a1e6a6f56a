package traffic

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/clock/fakeclock"
	"github.com/drydock-sim/drydock/core/proxy"
)

var webName = proxy.ServicePortName{Namespace: "default", Name: "web", Protocol: corev1.ProtocolTCP}

// webRules is a NodePort Service with one endpoint on each of nodes a and b.
func webRules(mut func(*proxy.ServicePort)) proxy.RuleSet {
	p := proxy.ServicePort{Name: webName, ClusterIP: "10.96.0.10", Port: 80, NodePort: 30080,
		Endpoints: []proxy.Endpoint{
			{IP: "10.244.1.5", Port: 8080, NodeName: "a", Pod: "default/web-a"},
			{IP: "10.244.2.5", Port: 8080, NodeName: "b", Pod: "default/web-b"},
		}}
	if mut != nil {
		mut(&p)
	}
	return proxy.RuleSet{Ports: []proxy.ServicePort{p}}
}

func twoNodes(t *testing.T) (*Network, *fakeclock.Clock) {
	clk := fakeclock.New(epoch)
	n := NewNetwork(clk)
	n.AddNode("a", "192.168.0.1")
	n.AddNode("b", "192.168.0.2")
	return n, clk
}

func apply(t *testing.T, n *Network, rs proxy.RuleSet, nodes ...string) {
	t.Helper()
	for _, name := range nodes {
		tb, _ := n.Table(name)
		if err := tb.Apply(rs); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRouteNodePortAcrossNodes(t *testing.T) {
	tests := []struct {
		name       string
		local      bool // externalTrafficPolicy Local
		client     string
		dst        string
		wantPods   []string
		wantErr    error
		downNode   string
		unknownIng bool
	}{
		{name: "pod on a to b's NodePort, Cluster policy", client: "a", dst: "192.168.0.2", wantPods: []string{"default/web-a", "default/web-b"}},
		{name: "pod on a to b's NodePort, Local policy: external to b", local: true, client: "a", dst: "192.168.0.2", wantPods: []string{"default/web-b"}},
		{name: "pod on a to a's NodePort, Local policy: short-circuit", local: true, client: "a", dst: "192.168.0.1", wantPods: []string{"default/web-a", "default/web-b"}},
		{name: "outside to a, Local policy", local: true, dst: "192.168.0.1", wantPods: []string{"default/web-a"}},
		{name: "outside to a down node", dst: "192.168.0.1", downNode: "a", wantErr: ErrNodeDown},
		{name: "from a down node", client: "b", dst: "10.96.0.10", downNode: "b", wantErr: ErrNodeDown},
		{name: "unknown client node", client: "zz", dst: "10.96.0.10", wantErr: ErrUnknownNode},
		{name: "ClusterIP from outside is not routed", dst: "10.96.0.10", wantErr: proxy.ErrNoRule},
		{name: "wrong NodePort", dst: "192.168.0.1:1", wantErr: proxy.ErrNoRule},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, _ := twoNodes(t)
			apply(t, n, webRules(func(p *proxy.ServicePort) { p.ExternalLocal = tc.local }), "a", "b")
			if tc.downNode != "" {
				n.SetNodeUp(tc.downNode, false)
			}
			port := int32(30080)
			dst := tc.dst
			if dst == "10.96.0.10" {
				port = 80
			}
			if dst == "192.168.0.1:1" {
				dst, port = "192.168.0.1", 1
			}
			r := rand.New(rand.NewPCG(1, 1))
			seen := map[string]bool{}
			for range 50 {
				to, err := n.Route(tc.client, dst, port, corev1.ProtocolTCP, r)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("err = %v, want %v", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				seen[to.Pod] = true
			}
			if len(seen) != len(tc.wantPods) {
				t.Fatalf("reached %v, want %v", seen, tc.wantPods)
			}
			for _, p := range tc.wantPods {
				if !seen[p] {
					t.Fatalf("reached %v, want %v", seen, tc.wantPods)
				}
			}
		})
	}
}

// ClusterIP traffic follows the client node's table: a node whose proxy has
// not caught up still routes by the old rules.
func TestRouteUsesClientNodesRules(t *testing.T) {
	n, _ := twoNodes(t)
	apply(t, n, webRules(nil), "a", "b")
	apply(t, n, webRules(func(p *proxy.ServicePort) { p.Endpoints = nil }), "b")
	r := rand.New(rand.NewPCG(1, 1))
	if _, err := n.Route("a", "10.96.0.10", 80, "", r); err != nil {
		t.Errorf("from a: %v", err)
	}
	if _, err := n.Route("b", "10.96.0.10", 80, "", r); !errors.Is(err, proxy.ErrRejected) {
		t.Errorf("from b: %v, want rejected", err)
	}
	n.RemoveNode("b")
	if _, err := n.Route("b", "10.96.0.10", 80, "", r); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("from removed b: %v", err)
	}
	if _, err := n.Route("", "192.168.0.2", 30080, "", r); !errors.Is(err, proxy.ErrNoRule) {
		t.Errorf("to removed b's address: %v", err)
	}
	if got := n.Nodes(); len(got) != 1 || got[0] != "a" {
		t.Errorf("Nodes() = %v", got)
	}
}

func TestSessionAffinity(t *testing.T) {
	n, clk := twoNodes(t)
	rs := webRules(func(p *proxy.ServicePort) {
		p.AffinityTimeout = time.Minute
		p.Endpoints = append(p.Endpoints, proxy.Endpoint{IP: "10.244.1.6", Port: 8080, NodeName: "a", Pod: "default/web-a2"})
	})
	apply(t, n, rs, "a")
	r := rand.New(rand.NewPCG(3, 3))
	send := func(client string) PodAddr {
		to, err := n.Send(Request{ClientNode: "a", ClientIP: client, DstIP: "10.96.0.10", DstPort: 80}, r)
		if err != nil {
			t.Fatal(err)
		}
		return to
	}
	first := send("10.244.1.100")
	for range 20 {
		clk.Advance(50 * time.Second) // under the timeout each time: stays sticky
		if got := send("10.244.1.100"); got != first {
			t.Fatalf("affinity broken: %v then %v", first, got)
		}
	}
	// Different clients spread out.
	clients := map[PodAddr]bool{}
	for i := range 30 {
		clients[send("10.244.1."+string(rune('a'+i)))] = true
	}
	if len(clients) < 2 {
		t.Errorf("30 clients all reached %v", clients)
	}
	// After the timeout a client picks afresh; picks eventually differ.
	moved := false
	for range 30 {
		clk.Advance(61 * time.Second)
		if send("10.244.1.100") != first {
			moved = true
			break
		}
	}
	if !moved {
		t.Errorf("client never re-picked after idle timeouts")
	}
	// Removing the remembered endpoint sends the client elsewhere at once.
	cur := send("10.244.1.100")
	var kept []proxy.Endpoint
	for _, e := range rs.Ports[0].Endpoints {
		if e != cur {
			kept = append(kept, e)
		}
	}
	apply(t, n, webRules(func(p *proxy.ServicePort) { p.AffinityTimeout = time.Minute; p.Endpoints = kept }), "a")
	if got := send("10.244.1.100"); got == cur {
		t.Errorf("still reached removed endpoint %v", cur)
	}
}

// The same seed gives the same picks.
func TestRouteDeterministic(t *testing.T) {
	picks := func() []string {
		n, _ := twoNodes(t)
		apply(t, n, webRules(nil), "a")
		r := rand.New(rand.NewPCG(42, 0))
		var out []string
		for range 100 {
			to, err := n.Route("a", "10.96.0.10", 80, corev1.ProtocolTCP, r)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, to.Pod)
		}
		return out
	}
	a, b := picks(), picks()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("pick %d differs: %s vs %s", i, a[i], b[i])
		}
	}
}

// Incremental applies leave the table as a fresh apply of the same rules.
func TestApplyIncrementalMatchesFresh(t *testing.T) {
	clk := fakeclock.New(epoch)
	r := rand.New(rand.NewPCG(9, 9))
	gen := func() proxy.RuleSet {
		var ps []proxy.ServicePort
		for i := range 8 {
			if r.IntN(3) == 0 {
				continue
			}
			p := proxy.ServicePort{
				Name:      proxy.ServicePortName{Namespace: "ns", Name: "s" + string(rune('a'+i)), Protocol: corev1.ProtocolTCP},
				ClusterIP: "10.96.0." + string(rune('1'+r.IntN(3))), Port: 80, NodePort: int32(30000 + r.IntN(3)),
			}
			if r.IntN(2) == 0 {
				p.ExternalIPs = []string{"192.0.2.1"}
			}
			for j := range r.IntN(3) {
				p.Endpoints = append(p.Endpoints, proxy.Endpoint{IP: "10.244.0." + string(rune('1'+j)), Port: 8080})
			}
			ps = append(ps, p)
		}
		return proxy.RuleSet{Ports: ps}
	}
	inc := NewTable("a", clk, "192.168.0.1")
	for range 200 {
		rs := gen()
		inc.Apply(rs)
		fresh := NewTable("a", clk, "192.168.0.1")
		fresh.Apply(rs)
		if !sameClaims(inc.clusterIP, fresh.clusterIP) || !sameClaims(inc.external, fresh.external) || !sameClaims(inc.nodePort, fresh.nodePort) {
			t.Fatalf("incremental table differs from fresh after applying %+v", rs.Ports)
		}
	}
}

func sameClaims[K comparable](x, y claims[K]) bool {
	if len(x) != len(y) {
		return false
	}
	for k, ps := range x {
		qs := y[k]
		if len(ps) != len(qs) {
			return false
		}
		for i := range ps {
			if !ps[i].Equal(qs[i]) {
				return false
			}
		}
	}
	return true
}
