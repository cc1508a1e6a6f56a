package iptables

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/proxy"

	"github.com/drydock-sim/drydock/core/proxy/proxytest"
)

// TestBehaviour runs the proxy backend behaviour suite against real
// iptables rules in network namespaces.
func TestBehaviour(t *testing.T) {
	requireRoot(t)
	proxytest.Run(t, func(t *testing.T) proxytest.BackendUnderTest { return newNSBackend(t) })
}

// TestCleanup: Cleanup leaves no chain or jump of the backend behind and
// touches nothing else; a later Apply starts over.
func TestCleanup(t *testing.T) {
	n := newNSBackend(t)
	before := n.iptablesSave(t)
	if err := n.Apply(ruleSet(fixture()...)); err != nil {
		t.Fatal(err)
	}
	during := n.iptablesSave(t)
	for _, want := range []string{
		"-A PREROUTING -m comment --comment \"drydock service portals\" -j " + ChainServices,
		"-A OUTPUT -m comment --comment \"drydock service portals\" -j " + ChainServices,
		"-A POSTROUTING -m comment --comment \"drydock postrouting rules\" -j " + ChainPostrouting,
		"-A INPUT -m conntrack --ctstate NEW -m comment --comment \"drydock externally-visible service portals\" -j " + ChainExternalServices,
		"-A FORWARD -m comment --comment \"drydock forwarding rules\" -j " + ChainForward,
		"-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"drydock service portals\" -j " + ChainServices,
		"-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"drydock service portals\" -j " + ChainServices,
		"--to-destination 10.244.1.10:8080",
	} {
		if !strings.Contains(during, want) {
			t.Errorf("after Apply, iptables-save lacks %q:\n%s", want, during)
		}
	}
	// A second full sync (a new backend in the same namespace, as after a
	// restart) must not duplicate the jumps.
	b2, err := New(n.b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.b = b2
	if err := n.Apply(ruleSet(fixture()[:2]...)); err != nil {
		t.Fatal(err)
	}
	again := n.iptablesSave(t)
	if c := strings.Count(again, "-j "+ChainPostrouting); c != 1 {
		t.Errorf("%d jumps to %s after a second backend's Apply, want 1", c, ChainPostrouting)
	}
	if strings.Contains(again, "10.244.1.30") {
		t.Errorf("the new backend's full sync left chains of Services it does not have:\n%s", again)
	}

	var cerr error
	n.top.node.do(func() { cerr = n.b.Cleanup() })
	if cerr != nil {
		t.Fatal(cerr)
	}
	after := n.iptablesSave(t)
	if strings.Contains(after, "DRYDOCK") {
		t.Errorf("Cleanup left rules behind:\n%s", after)
	}
	if norm(after) != norm(before) {
		t.Errorf("Cleanup changed rules that are not the backend's:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// Cleanup twice is fine; Apply after Cleanup works.
	n.top.node.do(func() { cerr = n.b.Cleanup() })
	if cerr != nil {
		t.Fatalf("second Cleanup: %v", cerr)
	}
	if err := n.Apply(ruleSet(fixture()...)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(n.iptablesSave(t), "-j "+ChainPostrouting) {
		t.Error("Apply after Cleanup did not restore the jumps")
	}
}

// TestStaleUDPConntrack: a UDP client that keeps its source port reaches
// the Service's current endpoints after a change, not the conntrack entry's
// old one (which still answers here, so a stale entry would show).
func TestStaleUDPConntrack(t *testing.T) {
	n := newNSBackend(t)
	var ctErr error
	n.b.cfg.ConntrackError = func(err error) { ctErr = err }
	dns := svcSpec{name: "dns", clusterIP: "10.96.0.53", ports: []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}},
		targets: map[string]int32{"dns": 1053}, eps: []ep{{"10.244.1.20", testNode}}}
	const src = 40053
	send := func(want string) {
		t.Helper()
		got, err := connectFrom(n.top.pod, src, "10.96.0.53", 53, corev1.ProtocolUDP)
		if err != nil || got != want {
			t.Fatalf("UDP from port %d: got (%q, %v), want %s", src, got, err, want)
		}
	}
	if err := n.Apply(ruleSet(dns)); err != nil {
		t.Fatal(err)
	}
	send("10.244.1.20:1053")
	dns.eps = []ep{{"10.244.1.21", testNode}}
	if err := n.Apply(ruleSet(dns)); err != nil {
		t.Fatal(err)
	}
	send("10.244.1.21:1053")
	if ctErr != nil {
		t.Fatal(ctErr)
	}

	// Without endpoints new flows are rejected; kube-proxy leaves existing
	// entries alone then. Once the Service has endpoints again, the old
	// flow is cleared and reaches the new endpoint.
	dns.eps = nil
	if err := n.Apply(ruleSet(dns)); err != nil {
		t.Fatal(err)
	}
	if _, err := connectFrom(n.top.pod, src+1, "10.96.0.53", 53, corev1.ProtocolUDP); !errors.Is(err, proxy.ErrRejected) {
		t.Fatalf("UDP to a Service without endpoints: %v, want %v", err, proxy.ErrRejected)
	}
	dns.eps = []ep{{"10.244.1.22", testNode}}
	if err := n.Apply(ruleSet(dns)); err != nil {
		t.Fatal(err)
	}
	send("10.244.1.22:1053")
	if ctErr != nil {
		t.Fatal(ctErr)
	}
}

// TestDriftRepaired: when someone flushes the built-in chains and deletes
// the backend's chains, the next idle Apply after JumpCheckPeriod puts
// everything back.
func TestDriftRepaired(t *testing.T) {
	n := newNSBackend(t)
	web := fixture()[0]
	web.eps = []ep{{"10.244.1.10", testNode}}
	if err := n.Apply(ruleSet(web)); err != nil {
		t.Fatal(err)
	}
	if got, err := n.Connect("10.96.0.10", 80, corev1.ProtocolTCP); err != nil || got != "10.244.1.10:8080" {
		t.Fatalf("before drift: (%q, %v)", got, err)
	}
	var err error
	n.top.node.do(func() {
		for _, args := range [][]string{{"-t", "nat", "-F", "PREROUTING"}, {"-t", "nat", "-F", "OUTPUT"},
			{"-t", "nat", "-F", ChainServices}, {"-t", "nat", "-X", ChainServices}} {
			if out, e := exec.Command("iptables", args...).CombinedOutput(); e != nil {
				err = fmt.Errorf("iptables %v: %v: %s", args, e, out)
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Connect("10.96.0.10", 80, corev1.ProtocolTCP); !errors.Is(err, proxy.ErrNoRule) {
		t.Fatalf("after flushing the jumps: %v, want %v", err, proxy.ErrNoRule)
	}
	later := time.Now().Add(JumpCheckPeriod)
	n.b.now = func() time.Time { return later }
	if err := n.Apply(ruleSet(web)); err != nil {
		t.Fatal(err)
	}
	if got, err := n.Connect("10.96.0.10", 80, corev1.ProtocolTCP); err != nil || got != "10.244.1.10:8080" {
		t.Fatalf("after repair: (%q, %v)", got, err)
	}
}

// TestHairpinAndNodeTraffic covers paths the behaviour suite does not:
// a pod reaching itself through its Service (masqueraded, or the reply
// would bypass the DNAT), and connections from the node itself (nat
// OUTPUT), including to a NodePort with externalTrafficPolicy Local whose
// only endpoint is remote.
func TestHairpinAndNodeTraffic(t *testing.T) {
	n := newNSBackend(t)
	serveEndpoints(t, n.top.pod) // the client pod answers on 8080 too
	self := svcSpec{name: "self", clusterIP: "10.96.0.60", ports: []corev1.ServicePort{tcpPort("", 80, 0)},
		targets: map[string]int32{"": 8080}, eps: []ep{{clientIP, testNode}}}
	away := svcSpec{name: "away", clusterIP: "10.96.0.61", typ: corev1.ServiceTypeNodePort,
		ports: []corev1.ServicePort{tcpPort("", 80, 30061)}, targets: map[string]int32{"": 8080},
		eps: []ep{{"10.244.2.61", "other"}}, externalLocal: true}
	if err := n.Apply(ruleSet(self, away)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		from *worker
		ip   string
		port int32
		want string
	}{
		{"pod to itself through its Service", n.top.pod, "10.96.0.60", 80, clientIP + ":8080"},
		{"node to a ClusterIP", n.top.node, "10.96.0.61", 80, "10.244.2.61:8080"},
		{"node to its own NodePort, policy Local, no local endpoint", n.top.node, testNodeIP, 30061, "10.244.2.61:8080"},
		{"outside to that NodePort is dropped", n.top.ext, testNodeIP, 30061, ""},
	} {
		got, err := connect(c.from, c.ip, c.port, corev1.ProtocolTCP)
		if c.want == "" {
			if !errors.Is(err, proxy.ErrDropped) {
				t.Errorf("%s: (%q, %v), want %v", c.name, got, err, proxy.ErrDropped)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: (%q, %v), want %s", c.name, got, err, c.want)
		}
	}
}

// norm keeps the rules and the user-defined chains of iptables-save
// output: timestamps, counters and empty built-in tables do not count.
func norm(save string) string {
	var out []string
	for _, l := range strings.Split(save, "\n") {
		if strings.HasPrefix(l, "-A ") || (strings.HasPrefix(l, ":") && strings.Contains(l, " - [")) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
