// Package traffic is the simulator's service data path: per-node in-memory
// rule tables that implement proxy.Backend (where real mode has iptables),
// a Network that routes simulated connections through them, and traffic
// generators that send requests at a Service and count, per time window,
// whether a live backend answered.
package traffic

import (
	"math/rand/v2"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/proxy"
)

// PodAddr is the backend a connection reached: its ip:port, node and pod.
type PodAddr = proxy.Endpoint

type dest struct {
	ip    string
	port  int32
	proto corev1.Protocol
}

type nodePortKey struct {
	port  int32
	proto corev1.Protocol
}

type affinityKey struct {
	svc    proxy.ServicePortName
	client string
}

type affinityEntry struct {
	ep   PodAddr
	last time.Time
}

// Table is one node's rule table: what kube-proxy would have programmed into
// that node's iptables. It implements proxy.Backend.
type Table struct {
	node  string
	ips   []string
	clock clock.Clock
	down  bool

	rules proxy.RuleSet
	// Each address maps to the Service ports claiming it, sorted by name;
	// the first wins. Valid clusters have one claimant; ordering conflicts
	// by name makes the winner independent of the order of applies.
	clusterIP claims[dest]
	external  claims[dest]
	nodePort  claims[nodePortKey]
	affinity  map[affinityKey]affinityEntry
	applies   int
}

// NewTable returns an empty table for node, whose addresses are ips. clk
// times session affinity.
func NewTable(node string, clk clock.Clock, ips ...string) *Table {
	return &Table{node: node, ips: append([]string(nil), ips...), clock: clk,
		clusterIP: claims[dest]{}, external: claims[dest]{},
		nodePort: claims[nodePortKey]{}, affinity: map[affinityKey]affinityEntry{}}
}

var _ proxy.Backend = (*Table)(nil)

// Node is the table's node name.
func (t *Table) Node() string { return t.node }

// IPs are the node's addresses.
func (t *Table) IPs() []string { return t.ips }

// Rules is the RuleSet last applied.
func (t *Table) Rules() proxy.RuleSet { return t.rules }

// Applies counts Apply calls.
func (t *Table) Applies() int { return t.applies }

// Apply installs rs, updating only the Service ports that changed. It never
// fails: there is no kernel to refuse it.
func (t *Table) Apply(rs proxy.RuleSet) error {
	t.applies++
	ch := proxy.Diff(t.rules, rs)
	for i := range ch.Removed {
		t.unindex(&ch.Removed[i])
	}
	for i := range ch.Updated {
		t.unindex(&ch.Updated[i].Old)
	}
	// Index pointers into rs itself: RuleSets are immutable, and entries for
	// unchanged ports may keep pointing into an older, equal RuleSet.
	for i := range ch.Updated {
		p, _ := rs.Get(ch.Updated[i].New.Name)
		t.index(p)
	}
	for i := range ch.Added {
		p, _ := rs.Get(ch.Added[i].Name)
		t.index(p)
	}
	t.rules = rs
	return nil
}

func (t *Table) index(p *proxy.ServicePort) {
	t.clusterIP.add(dest{p.ClusterIP, p.Port, p.Name.Protocol}, p)
	for _, ip := range p.ExternalIPs {
		t.external.add(dest{ip, p.Port, p.Name.Protocol}, p)
	}
	if p.NodePort != 0 {
		t.nodePort.add(nodePortKey{p.NodePort, p.Name.Protocol}, p)
	}
}

func (t *Table) unindex(p *proxy.ServicePort) {
	t.clusterIP.remove(dest{p.ClusterIP, p.Port, p.Name.Protocol}, p.Name)
	for _, ip := range p.ExternalIPs {
		t.external.remove(dest{ip, p.Port, p.Name.Protocol}, p.Name)
	}
	if p.NodePort != 0 {
		t.nodePort.remove(nodePortKey{p.NodePort, p.Name.Protocol}, p.Name)
	}
}

type claims[K comparable] map[K][]*proxy.ServicePort

func (c claims[K]) get(k K) *proxy.ServicePort {
	if ps := c[k]; len(ps) > 0 {
		return ps[0]
	}
	return nil
}

func (c claims[K]) add(k K, p *proxy.ServicePort) {
	ps := c[k]
	i, _ := slices.BinarySearchFunc(ps, p.Name, func(q *proxy.ServicePort, n proxy.ServicePortName) int { return q.Name.Compare(n) })
	c[k] = slices.Insert(ps, i, p)
}

func (c claims[K]) remove(k K, name proxy.ServicePortName) {
	ps := c[k]
	i, ok := slices.BinarySearchFunc(ps, name, func(q *proxy.ServicePort, n proxy.ServicePortName) int { return q.Name.Compare(n) })
	if !ok {
		return
	}
	if len(ps) == 1 {
		delete(c, k)
		return
	}
	c[k] = slices.Delete(ps, i, i+1)
}

// lookupService finds the rule for traffic to ip:port leaving a pod on this
// node (ClusterIPs and external IPs are captured on the client's node).
func (t *Table) lookupService(ip string, port int32, proto corev1.Protocol) (p *proxy.ServicePort, external bool) {
	k := dest{ip, port, proto}
	if p := t.clusterIP.get(k); p != nil {
		return p, false
	}
	return t.external.get(k), true
}

// pick chooses an endpoint among candidates. With ClientIP affinity a
// client returns to its previous endpoint while it is still a candidate and
// the client has not been idle longer than the timeout, as the iptables
// "recent" match does; otherwise each candidate is equally likely, which is
// what kube-proxy's chain of 1/(n-i) "statistic random" rules amounts to.
func (t *Table) pick(p *proxy.ServicePort, candidates []PodAddr, client string, r *rand.Rand) PodAddr {
	if p.AffinityTimeout > 0 && t.clock != nil {
		now := t.clock.Now()
		k := affinityKey{p.Name, client}
		if e, ok := t.affinity[k]; ok && now.Sub(e.last) <= p.AffinityTimeout && containsAddr(candidates, e.ep) {
			t.affinity[k] = affinityEntry{e.ep, now}
			return e.ep
		}
		ep := candidates[r.IntN(len(candidates))]
		t.affinity[k] = affinityEntry{ep, now}
		return ep
	}
	return candidates[r.IntN(len(candidates))]
}

func containsAddr(eps []PodAddr, e PodAddr) bool {
	for i := range eps {
		if eps[i].IP == e.IP && eps[i].Port == e.Port {
			return true
		}
	}
	return false
}
