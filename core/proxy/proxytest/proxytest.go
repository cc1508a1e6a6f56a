// Package proxytest is the behaviour suite every proxy.Backend passes: the
// simulator's in-memory rule table and real mode's iptables rules. It builds
// Services and Endpoints, turns them into a RuleSet with proxy.Rules, applies
// it, and sends connections through the backend, checking where they land.
// Expected behaviour is kube-proxy's (iptables mode).
package proxytest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/drydock-sim/drydock/core/proxy"
)

// BackendUnderTest is a backend wired so the suite can send traffic through
// it. Connections report the address ("ip:port", as proxy.Endpoint.String)
// that accepted them, or an error that errors.Is one of proxy.ErrRejected,
// proxy.ErrDropped (the client would time out) or proxy.ErrNoRule (nothing
// intercepted the packet).
type BackendUnderTest interface {
	proxy.Backend
	// Node is the name of the node the backend programs: endpoints whose
	// NodeName is Node are local to it.
	Node() string
	// NodeIP is an address of the node, where NodePorts are open.
	NodeIP() string
	// Connect opens one connection to ip:port from a pod on the node. All
	// connections come from the same client address.
	Connect(ip string, port int32, proto corev1.Protocol) (string, error)
	// ConnectExternal opens one connection to ip:port from a client outside
	// the cluster whose packets arrive at this node (NodePorts, external IPs).
	ConnectExternal(ip string, port int32, proto corev1.Protocol) (string, error)
}

// Addresses the suite uses. Endpoints on RemoteNode are never local.
const (
	RemoteNode = "proxytest-remote"
	externalIP = "192.0.2.10"
)

// Run runs the suite; newBackend returns a fresh backend with no rules.
func Run(t *testing.T, newBackend func(t *testing.T) BackendUnderTest) {
	cases := []struct {
		name string
		fn   func(t *testing.T, b BackendUnderTest)
	}{
		{"ClusterIPReachesEndpoint", testClusterIP},
		{"EvenSpread", testEvenSpread},
		{"NoEndpointsRejects", testNoEndpointsRejects},
		{"UnknownDestinationNotIntercepted", testNoRule},
		{"TargetPortsByNameAndProtocol", testNamedPorts},
		{"NodePort", testNodePort},
		{"ExternalIP", testExternalIP},
		{"InternalTrafficPolicyLocal", testInternalLocal},
		{"ExternalTrafficPolicyLocal", testExternalLocal},
		{"SessionAffinityClientIP", testAffinity},
		{"UpdatesReplaceOldRules", testUpdates},
		{"EmptyRuleSetClears", testEmpty},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newBackend(t)) })
	}
}

// --- fixtures ---------------------------------------------------------------

type port struct {
	name     string
	port     int32
	proto    corev1.Protocol
	nodePort int32
	target   int32 // endpoint port
}

func service(name, clusterIP string, ports ...port) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "proxytest", Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: clusterIP, Selector: map[string]string{"app": name}},
	}
	for _, p := range ports {
		if p.nodePort != 0 {
			s.Spec.Type = corev1.ServiceTypeNodePort
		}
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: p.name, Port: p.port, Protocol: p.proto,
			NodePort: p.nodePort, TargetPort: intstr.FromInt32(p.target)})
	}
	return s
}

// pod is an endpoint address on a node.
type pod struct{ ip, node string }

func endpoints(name string, ports []port, ready []pod, notReady ...pod) *corev1.Endpoints {
	e := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "proxytest", Name: name}}
	ss := corev1.EndpointSubset{}
	for _, p := range ports {
		ss.Ports = append(ss.Ports, corev1.EndpointPort{Name: p.name, Port: p.target, Protocol: p.proto})
	}
	addr := func(p pod) corev1.EndpointAddress {
		n := p.node
		return corev1.EndpointAddress{IP: p.ip, NodeName: &n,
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "proxytest", Name: name + "-" + p.ip}}
	}
	for _, p := range ready {
		ss.Addresses = append(ss.Addresses, addr(p))
	}
	for _, p := range notReady {
		ss.NotReadyAddresses = append(ss.NotReadyAddresses, addr(p))
	}
	if len(ss.Addresses)+len(ss.NotReadyAddresses) > 0 {
		e.Subsets = []corev1.EndpointSubset{ss}
	}
	return e
}

func apply(t *testing.T, b BackendUnderTest, svcs []*corev1.Service, eps ...*corev1.Endpoints) proxy.RuleSet {
	t.Helper()
	rs := proxy.Rules(svcs, eps)
	if err := b.Apply(rs); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return rs
}

type connectFunc func(ip string, port int32, proto corev1.Protocol) (string, error)

// expectIn connects n times and fails unless every connection lands in want.
// It returns how many landed on each address.
func expectIn(t *testing.T, connect connectFunc, ip string, port int32, proto corev1.Protocol, n int, want ...string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		to, err := connect(ip, port, proto)
		if err != nil {
			t.Fatalf("connect %s:%d/%s: %v, want one of %v", ip, port, proto, err, want)
		}
		if !slices.Contains(want, to) {
			t.Fatalf("connect %s:%d/%s reached %s, want one of %v", ip, port, proto, to, want)
		}
		got[to]++
	}
	return got
}

func expectErr(t *testing.T, connect connectFunc, ip string, port int32, proto corev1.Protocol, want error) {
	t.Helper()
	to, err := connect(ip, port, proto)
	if !errors.Is(err, want) {
		t.Fatalf("connect %s:%d/%s: got (%q, %v), want %v", ip, port, proto, to, err, want)
	}
}

func local(b BackendUnderTest, ips ...string) []pod {
	var out []pod
	for _, ip := range ips {
		out = append(out, pod{ip, b.Node()})
	}
	return out
}

func remote(ips ...string) []pod {
	var out []pod
	for _, ip := range ips {
		out = append(out, pod{ip, RemoteNode})
	}
	return out
}

func addrs(port int32, ps ...pod) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s:%d", p.ip, port))
	}
	return out
}

const tcp, udp = corev1.ProtocolTCP, corev1.ProtocolUDP
