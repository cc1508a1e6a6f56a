package proxytest

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/proxy"
)

var webPort = port{port: 80, proto: tcp, target: 8080}

func testClusterIP(t *testing.T, b BackendUnderTest) {
	pods := append(local(b, "10.244.1.10"), remote("10.244.2.10")...)
	apply(t, b, []*corev1.Service{service("web", "10.96.0.10", webPort)}, endpoints("web", []port{webPort}, pods))
	expectIn(t, b.Connect, "10.96.0.10", 80, tcp, 20, addrs(8080, pods...)...)
}

// Every endpoint is equally likely, as with kube-proxy's chained
// "statistic random" matches. Bounds are about seven standard deviations
// wide, so a fair random source fails them practically never.
func testEvenSpread(t *testing.T, b BackendUnderTest) {
	pods := append(local(b, "10.244.1.10", "10.244.1.11"), remote("10.244.2.10")...)
	apply(t, b, []*corev1.Service{service("web", "10.96.0.10", webPort)}, endpoints("web", []port{webPort}, pods))
	got := expectIn(t, b.Connect, "10.96.0.10", 80, tcp, 900, addrs(8080, pods...)...)
	for _, a := range addrs(8080, pods...) {
		if got[a] < 200 || got[a] > 400 {
			t.Errorf("%s got %d of 900 connections, want about 300: %v", a, got[a], got)
		}
	}
}

func testNoEndpointsRejects(t *testing.T, b BackendUnderTest) {
	apply(t, b, []*corev1.Service{
		service("none", "10.96.0.11", webPort),
		service("unready", "10.96.0.12", webPort),
		service("empty", "10.96.0.13", port{port: 80, proto: tcp, nodePort: 30013, target: 8080}),
	}, endpoints("unready", []port{webPort}, nil, local(b, "10.244.1.10")...), endpoints("empty", []port{webPort}, nil))
	expectErr(t, b.Connect, "10.96.0.11", 80, tcp, proxy.ErrRejected)
	expectErr(t, b.Connect, "10.96.0.12", 80, tcp, proxy.ErrRejected)
	expectErr(t, b.Connect, "10.96.0.13", 80, tcp, proxy.ErrRejected)
	expectErr(t, b.ConnectExternal, b.NodeIP(), 30013, tcp, proxy.ErrRejected)
}

func testNoRule(t *testing.T, b BackendUnderTest) {
	pods := local(b, "10.244.1.10")
	apply(t, b, []*corev1.Service{service("web", "10.96.0.10", webPort)}, endpoints("web", []port{webPort}, pods))
	expectErr(t, b.Connect, "10.96.0.99", 80, tcp, proxy.ErrNoRule) // no such ClusterIP
	expectErr(t, b.Connect, "10.96.0.10", 81, tcp, proxy.ErrNoRule) // no such port
	expectErr(t, b.Connect, "10.96.0.10", 80, udp, proxy.ErrNoRule) // no such protocol
	expectErr(t, b.ConnectExternal, b.NodeIP(), 30010, tcp, proxy.ErrNoRule)
}

// A Service port reaches the endpoint port of the same name and protocol,
// which is how named targetPorts (resolved per pod by the endpoints
// controller) reach the proxy.
func testNamedPorts(t *testing.T, b BackendUnderTest) {
	ports := []port{
		{name: "dns", port: 53, proto: udp, target: 1053},
		{name: "dns-tcp", port: 53, proto: tcp, target: 2053},
		{name: "metrics", port: 9153, proto: tcp, target: 9253},
	}
	pods := local(b, "10.244.1.20", "10.244.1.21")
	apply(t, b, []*corev1.Service{service("dns", "10.96.0.53", ports...)}, endpoints("dns", ports, pods))
	expectIn(t, b.Connect, "10.96.0.53", 53, udp, 10, addrs(1053, pods...)...)
	expectIn(t, b.Connect, "10.96.0.53", 53, tcp, 10, addrs(2053, pods...)...)
	expectIn(t, b.Connect, "10.96.0.53", 9153, tcp, 10, addrs(9253, pods...)...)
}

func testNodePort(t *testing.T, b BackendUnderTest) {
	np := port{port: 80, proto: tcp, nodePort: 30080, target: 8080}
	pods := append(local(b, "10.244.1.10"), remote("10.244.2.10")...)
	apply(t, b, []*corev1.Service{service("web", "10.96.0.10", np)}, endpoints("web", []port{np}, pods))
	expectIn(t, b.ConnectExternal, b.NodeIP(), 30080, tcp, 20, addrs(8080, pods...)...)
	expectIn(t, b.Connect, b.NodeIP(), 30080, tcp, 20, addrs(8080, pods...)...)
	expectIn(t, b.Connect, "10.96.0.10", 80, tcp, 20, addrs(8080, pods...)...)
}

func testExternalIP(t *testing.T, b BackendUnderTest) {
	s := service("web", "10.96.0.10", webPort)
	s.Spec.ExternalIPs = []string{externalIP}
	pods := append(local(b, "10.244.1.10"), remote("10.244.2.10")...)
	apply(t, b, []*corev1.Service{s}, endpoints("web", []port{webPort}, pods))
	expectIn(t, b.ConnectExternal, externalIP, 80, tcp, 20, addrs(8080, pods...)...)
	expectIn(t, b.Connect, externalIP, 80, tcp, 20, addrs(8080, pods...)...)
}

// internalTrafficPolicy Local: ClusterIP traffic reaches only this node's
// endpoints, and is dropped when there are none here.
func testInternalLocal(t *testing.T, b BackendUnderTest) {
	pol := corev1.ServiceInternalTrafficPolicyLocal
	mixed := service("mixed", "10.96.0.20", webPort)
	mixed.Spec.InternalTrafficPolicy = &pol
	away := service("away", "10.96.0.21", webPort)
	away.Spec.InternalTrafficPolicy = &pol
	here := local(b, "10.244.1.10")
	apply(t, b, []*corev1.Service{mixed, away},
		endpoints("mixed", []port{webPort}, append(here, remote("10.244.2.10", "10.244.2.11")...)),
		endpoints("away", []port{webPort}, remote("10.244.2.12")))
	expectIn(t, b.Connect, "10.96.0.20", 80, tcp, 20, addrs(8080, here...)...)
	expectErr(t, b.Connect, "10.96.0.21", 80, tcp, proxy.ErrDropped)
}

// externalTrafficPolicy Local: traffic from outside reaches only this
// node's endpoints (dropped when none); traffic from the node's own pods is
// short-circuited to every endpoint.
func testExternalLocal(t *testing.T, b BackendUnderTest) {
	np := func(n int32) port { return port{port: 80, proto: tcp, nodePort: n, target: 8080} }
	mixed := service("mixed", "10.96.0.20", np(30020))
	mixed.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	away := service("away", "10.96.0.21", np(30021))
	away.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	here := local(b, "10.244.1.10")
	there := remote("10.244.2.10", "10.244.2.11")
	apply(t, b, []*corev1.Service{mixed, away},
		endpoints("mixed", []port{np(30020)}, append(here, there...)),
		endpoints("away", []port{np(30021)}, remote("10.244.2.12")))
	expectIn(t, b.ConnectExternal, b.NodeIP(), 30020, tcp, 20, addrs(8080, here...)...)
	expectErr(t, b.ConnectExternal, b.NodeIP(), 30021, tcp, proxy.ErrDropped)
	expectIn(t, b.Connect, b.NodeIP(), 30021, tcp, 10, addrs(8080, remote("10.244.2.12")...)...)
	// ClusterIP traffic is internal: the external policy does not apply.
	expectIn(t, b.Connect, "10.96.0.20", 80, tcp, 20, addrs(8080, append(here, there...)...)...)
}

func testAffinity(t *testing.T, b BackendUnderTest) {
	s := service("sticky", "10.96.0.30", webPort)
	s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	pods := local(b, "10.244.1.10", "10.244.1.11", "10.244.1.12", "10.244.1.13")
	apply(t, b, []*corev1.Service{s}, endpoints("sticky", []port{webPort}, pods))
	got := expectIn(t, b.Connect, "10.96.0.30", 80, tcp, 40, addrs(8080, pods...)...)
	if len(got) != 1 {
		t.Fatalf("one client reached %d endpoints with ClientIP affinity: %v", len(got), got)
	}
}

// Each Apply replaces the previous rules entirely.
func testUpdates(t *testing.T, b BackendUnderTest) {
	v1 := local(b, "10.244.1.10", "10.244.1.11")
	apply(t, b, []*corev1.Service{service("a", "10.96.0.40", webPort), service("b", "10.96.0.41", webPort)},
		endpoints("a", []port{webPort}, v1), endpoints("b", []port{webPort}, v1))
	expectIn(t, b.Connect, "10.96.0.40", 80, tcp, 10, addrs(8080, v1...)...)

	// New endpoints for a, b deleted, c added, a's port renumbered.
	v2 := remote("10.244.2.20")
	a2 := port{port: 8000, proto: tcp, target: 9090}
	apply(t, b, []*corev1.Service{service("a", "10.96.0.40", a2), service("c", "10.96.0.42", webPort)},
		endpoints("a", []port{a2}, v2), endpoints("c", []port{webPort}, v1))
	expectIn(t, b.Connect, "10.96.0.40", 8000, tcp, 20, addrs(9090, v2...)...)
	expectErr(t, b.Connect, "10.96.0.40", 80, tcp, proxy.ErrNoRule)
	expectErr(t, b.Connect, "10.96.0.41", 80, tcp, proxy.ErrNoRule)
	expectIn(t, b.Connect, "10.96.0.42", 80, tcp, 10, addrs(8080, v1...)...)

	// Endpoints vanish: reject; come back: reachable again.
	apply(t, b, []*corev1.Service{service("a", "10.96.0.40", a2)})
	expectErr(t, b.Connect, "10.96.0.40", 8000, tcp, proxy.ErrRejected)
	apply(t, b, []*corev1.Service{service("a", "10.96.0.40", a2)}, endpoints("a", []port{a2}, v1))
	expectIn(t, b.Connect, "10.96.0.40", 8000, tcp, 10, addrs(9090, v1...)...)
}

func testEmpty(t *testing.T, b BackendUnderTest) {
	np := port{port: 80, proto: tcp, nodePort: 30080, target: 8080}
	pods := local(b, "10.244.1.10")
	apply(t, b, []*corev1.Service{service("web", "10.96.0.10", np)}, endpoints("web", []port{np}, pods))
	expectIn(t, b.Connect, "10.96.0.10", 80, tcp, 1, addrs(8080, pods...)...)
	apply(t, b, nil)
	expectErr(t, b.Connect, "10.96.0.10", 80, tcp, proxy.ErrNoRule)
	expectErr(t, b.ConnectExternal, b.NodeIP(), 30080, tcp, proxy.ErrNoRule)
}
