package traffic

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/proxy"
)

// Routing failures besides proxy.ErrRejected, proxy.ErrDropped and
// proxy.ErrNoRule.
var (
	// ErrNodeDown: the client's node, or the node a NodePort connection
	// arrives at, is down.
	ErrNodeDown = errors.New("traffic: node is down")
	// ErrUnknownNode: the client's node is not in the network.
	ErrUnknownNode = errors.New("traffic: unknown node")
)

// Network holds every node's rule table and routes connections through them.
type Network struct {
	clock  clock.Clock
	tables map[string]*Table
	byIP   map[string]*Table
}

// NewNetwork returns an empty network; clk times session affinity.
func NewNetwork(clk clock.Clock) *Network {
	return &Network{clock: clk, tables: map[string]*Table{}, byIP: map[string]*Table{}}
}

// AddNode adds node with addresses ips and returns its (empty) table, the
// proxy.Backend for that node's Proxy. Adding a node that exists returns its
// table unchanged.
func (n *Network) AddNode(node string, ips ...string) *Table {
	if t := n.tables[node]; t != nil {
		return t
	}
	t := NewTable(node, n.clock, ips...)
	n.tables[node] = t
	for _, ip := range ips {
		n.byIP[ip] = t
	}
	return t
}

// RemoveNode removes node and its table.
func (n *Network) RemoveNode(node string) {
	t := n.tables[node]
	if t == nil {
		return
	}
	delete(n.tables, node)
	for _, ip := range t.ips {
		if n.byIP[ip] == t {
			delete(n.byIP, ip)
		}
	}
}

// Table returns node's table.
func (n *Network) Table(node string) (*Table, bool) {
	t, ok := n.tables[node]
	return t, ok
}

// Nodes lists the nodes, sorted.
func (n *Network) Nodes() []string {
	out := make([]string, 0, len(n.tables))
	for k := range n.tables {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// SetNodeUp marks node up or down. A down node's table keeps its rules but
// forwards nothing: connections from it or through it fail with ErrNodeDown.
func (n *Network) SetNodeUp(node string, up bool) {
	if t := n.tables[node]; t != nil {
		t.down = !up
	}
}

// Request is one connection attempt.
type Request struct {
	// ClientNode is the node of the client pod, "" for a client outside the
	// cluster.
	ClientNode string
	// ClientIP is the source address session affinity keys on; default the
	// client node's first address, or "external".
	ClientIP string
	// Ingress is the node where an outside client's packets to an external
	// IP arrive (the outside network's routing choice). NodePort traffic
	// arrives at the node owning DstIP and ignores it.
	Ingress  string
	DstIP    string
	DstPort  int32
	Protocol corev1.Protocol // default TCP
}

// Route sends one connection from a pod on clientNode ("" for outside the
// cluster) to dstIP:dstPort, picking among endpoints with r.
func (n *Network) Route(clientNode, dstIP string, dstPort int32, proto corev1.Protocol, r *rand.Rand) (PodAddr, error) {
	return n.Send(Request{ClientNode: clientNode, DstIP: dstIP, DstPort: dstPort, Protocol: proto}, r)
}

// Send routes one connection the way kube-proxy's rules would:
//   - a ClusterIP or external IP is captured on the client's node and
//     resolved by that node's table (so a node whose proxy lags routes by
//     stale rules); internalTrafficPolicy applies to ClusterIPs;
//   - a node address with a NodePort is resolved by that node's table, as
//     external traffic unless the client is on that node;
//   - an outside client's packets to an external IP are resolved at Ingress.
//
// It returns the chosen endpoint, or proxy.ErrRejected, proxy.ErrDropped,
// proxy.ErrNoRule, ErrNodeDown, ErrUnknownNode. Whether the endpoint answers
// is for the caller to decide.
func (n *Network) Send(req Request, r *rand.Rand) (PodAddr, error) {
	if req.Protocol == "" {
		req.Protocol = corev1.ProtocolTCP
	}
	var client *Table
	if req.ClientNode != "" {
		client = n.tables[req.ClientNode]
		if client == nil {
			return PodAddr{}, fmt.Errorf("%w %q", ErrUnknownNode, req.ClientNode)
		}
		if client.down {
			return PodAddr{}, fmt.Errorf("%w: client node %q", ErrNodeDown, client.node)
		}
	}
	if req.ClientIP == "" {
		req.ClientIP = "external"
		if client != nil && len(client.ips) > 0 {
			req.ClientIP = client.ips[0]
		}
	}

	// Service addresses, captured on the client's node.
	if client != nil {
		if p, external := client.lookupService(req.DstIP, req.DstPort, req.Protocol); p != nil {
			cands := p.InternalEndpoints(client.node)
			if external {
				cands = p.ExternalEndpoints(client.node, true)
			}
			return client.forward(p, cands, req.ClientIP, r)
		}
	}
	// NodePorts, resolved by the node that owns the address.
	if t := n.byIP[req.DstIP]; t != nil {
		if t.down {
			return PodAddr{}, fmt.Errorf("%w: %q", ErrNodeDown, t.node)
		}
		p := t.nodePort.get(nodePortKey{req.DstPort, req.Protocol})
		if p == nil {
			return PodAddr{}, proxy.ErrNoRule
		}
		return t.forward(p, p.ExternalEndpoints(t.node, client == t), req.ClientIP, r)
	}
	// External IPs from outside, resolved at the ingress node.
	if client == nil && req.Ingress != "" {
		t := n.tables[req.Ingress]
		if t == nil {
			return PodAddr{}, fmt.Errorf("%w %q", ErrUnknownNode, req.Ingress)
		}
		if t.down {
			return PodAddr{}, fmt.Errorf("%w: %q", ErrNodeDown, t.node)
		}
		if p := t.external.get(dest{req.DstIP, req.DstPort, req.Protocol}); p != nil {
			return t.forward(p, p.ExternalEndpoints(t.node, false), req.ClientIP, r)
		}
	}
	return PodAddr{}, proxy.ErrNoRule
}

func (t *Table) forward(p *proxy.ServicePort, cands []PodAddr, clientIP string, r *rand.Rand) (PodAddr, error) {
	if err := p.Verdict(cands); err != nil {
		return PodAddr{}, fmt.Errorf("%s via node %q: %w", p.Name, t.node, err)
	}
	return t.pick(p, cands, clientIP, r), nil
}
