package proxy

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Outcomes of sending a connection through a backend's rules. They follow
// what kube-proxy's iptables rules do to a packet.
var (
	// ErrRejected: the Service has no ready endpoints at all; kube-proxy
	// answers with REJECT (ICMP port unreachable), so the client sees
	// "connection refused" at once.
	ErrRejected = errors.New("proxy: service has no endpoints (rejected)")
	// ErrDropped: the Service has endpoints but the traffic policy (Local)
	// leaves none for this traffic on this node; kube-proxy DROPs it, so the
	// client times out.
	ErrDropped = errors.New("proxy: no local endpoints for traffic policy Local (dropped)")
	// ErrNoRule: no rule matches the destination; the packet is not
	// intercepted by the proxy at all.
	ErrNoRule = errors.New("proxy: no rule for destination")
)

// Backend programs a node's forwarding state. Apply receives the complete
// desired RuleSet every time (backends that want incremental work use Diff
// against what they applied last). The RuleSet is shared and must not be
// modified. An error makes the Proxy try again later with a full Apply.
type Backend interface {
	Apply(RuleSet) error
}

// ServicePortName identifies one port of one Service, like kube-proxy's
// ServicePortName: the Service's namespace and name, the port's name ("" for
// a Service's single unnamed port) and its protocol.
type ServicePortName struct {
	Namespace string
	Name      string
	Port      string
	Protocol  corev1.Protocol
}

// String is "namespace/name:port/protocol", with ":port" left out for an
// unnamed port.
func (n ServicePortName) String() string {
	s := n.Namespace + "/" + n.Name
	if n.Port != "" {
		s += ":" + n.Port
	}
	return s + "/" + string(n.Protocol)
}

// Compare orders names by namespace, name, port name, protocol.
func (n ServicePortName) Compare(o ServicePortName) int {
	if c := cmp.Compare(n.Namespace, o.Namespace); c != 0 {
		return c
	}
	if c := cmp.Compare(n.Name, o.Name); c != 0 {
		return c
	}
	if c := cmp.Compare(n.Port, o.Port); c != 0 {
		return c
	}
	return cmp.Compare(n.Protocol, o.Protocol)
}

// Endpoint is one ready backend of a Service port.
type Endpoint struct {
	IP   string
	Port int32
	// NodeName is the node the endpoint runs on ("" if the Endpoints object
	// does not say); traffic policy Local keeps the endpoints whose NodeName
	// is the backend's node.
	NodeName string
	// Pod is "namespace/name" of the pod behind the address, when the
	// Endpoints object's targetRef names one.
	Pod string
}

// String is "ip:port" (IPv6 addresses bracketed).
func (e Endpoint) String() string {
	for i := 0; i < len(e.IP); i++ {
		if e.IP[i] == ':' {
			return "[" + e.IP + "]:" + strconv.Itoa(int(e.Port))
		}
	}
	return e.IP + ":" + strconv.Itoa(int(e.Port))
}

// ServicePort is the forwarding rule of one Service port.
type ServicePort struct {
	Name      ServicePortName
	ClusterIP string
	Port      int32
	// NodePort is the port opened on every node's addresses (0: none), for
	// Services of type NodePort and LoadBalancer.
	NodePort int32
	// ExternalIPs are spec.externalIPs and the load balancer's ingress IPs,
	// sorted; traffic to them on Port is treated as external traffic.
	ExternalIPs []string
	// AffinityTimeout is non-zero when sessionAffinity is ClientIP: a client
	// keeps reaching the same endpoint until it has been idle this long.
	AffinityTimeout time.Duration
	// InternalLocal is internalTrafficPolicy Local: ClusterIP traffic only
	// reaches endpoints on the client's node.
	InternalLocal bool
	// ExternalLocal is externalTrafficPolicy Local: NodePort and external IP
	// traffic from outside the node only reaches endpoints on that node.
	ExternalLocal bool
	// Endpoints are the ready endpoints, sorted by address then port. Each is
	// picked with equal probability.
	Endpoints []Endpoint
}

// Equal reports whether two rules are identical.
func (s *ServicePort) Equal(o *ServicePort) bool {
	return s.Name == o.Name && s.ClusterIP == o.ClusterIP && s.Port == o.Port && s.NodePort == o.NodePort &&
		s.AffinityTimeout == o.AffinityTimeout && s.InternalLocal == o.InternalLocal &&
		s.ExternalLocal == o.ExternalLocal && equalSlices(s.ExternalIPs, o.ExternalIPs) &&
		equalSlices(s.Endpoints, o.Endpoints)
}

// equalSlices compares element-wise, with a shortcut for the common case of
// comparing a rule with a copy of itself: RuleSets are immutable, so rules
// that did not change share their slices.
func equalSlices[E comparable](a, b []E) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	return slices.Equal(a, b)
}

// Local returns the endpoints on node, in order. It allocates only when some
// but not all endpoints are local.
func (s *ServicePort) Local(node string) []Endpoint {
	n := 0
	for i := range s.Endpoints {
		if s.Endpoints[i].NodeName == node {
			n++
		}
	}
	switch n {
	case 0:
		return nil
	case len(s.Endpoints):
		return s.Endpoints
	}
	out := make([]Endpoint, 0, n)
	for _, e := range s.Endpoints {
		if e.NodeName == node {
			out = append(out, e)
		}
	}
	return out
}

// InternalEndpoints are the candidates for ClusterIP traffic from a client
// on node: all endpoints, or only node's under internalTrafficPolicy Local.
func (s *ServicePort) InternalEndpoints(node string) []Endpoint {
	if s.InternalLocal {
		return s.Local(node)
	}
	return s.Endpoints
}

// ExternalEndpoints are the candidates for NodePort or external IP traffic
// arriving at node. localSource is true when the traffic comes from node
// itself or a pod on it: kube-proxy then short-circuits externalTrafficPolicy
// Local and uses every endpoint, so pods can always reach a NodePort.
func (s *ServicePort) ExternalEndpoints(node string, localSource bool) []Endpoint {
	if s.ExternalLocal && !localSource {
		return s.Local(node)
	}
	return s.Endpoints
}

// Verdict is what a node does with traffic that matched s when candidates
// are the endpoints left by its traffic policy: nil to forward to one of
// them, ErrRejected when the Service has no endpoints at all, ErrDropped when
// the policy left none.
func (s *ServicePort) Verdict(candidates []Endpoint) error {
	switch {
	case len(s.Endpoints) == 0:
		return ErrRejected
	case len(candidates) == 0:
		return ErrDropped
	}
	return nil
}

// Probability is the match probability kube-proxy's iptables mode gives the
// i-th of n endpoint rules (statistic mode random): 1/(n-i), so that each
// endpoint, tried in order, ends up chosen with probability 1/n. The last
// rule always matches.
func Probability(i, n int) float64 {
	if i >= n-1 {
		return 1
	}
	return 1 / float64(n-i)
}

// RuleSet is a node's complete desired forwarding state. Ports are sorted by
// Name and unique. A RuleSet is immutable once built: share it, never modify it.
type RuleSet struct {
	Ports []ServicePort
}

// Len is the number of Service ports.
func (rs RuleSet) Len() int { return len(rs.Ports) }

// Get returns the rule for name.
func (rs RuleSet) Get(name ServicePortName) (*ServicePort, bool) {
	i, ok := slices.BinarySearchFunc(rs.Ports, name, func(p ServicePort, n ServicePortName) int { return p.Name.Compare(n) })
	if !ok {
		return nil, false
	}
	return &rs.Ports[i], true
}

// Equal reports whether two rule sets are identical.
func (rs RuleSet) Equal(o RuleSet) bool {
	if len(rs.Ports) != len(o.Ports) {
		return false
	}
	for i := range rs.Ports {
		if !rs.Ports[i].Equal(&o.Ports[i]) {
			return false
		}
	}
	return true
}
