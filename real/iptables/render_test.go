package iptables

import (
	"bytes"
	"errors"
	"flag"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/proxy"
	"github.com/drydock-sim/drydock/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	node      = "node-a"
	otherNode = "node-b"
)

type ep struct {
	ip, node string
}

type svcSpec struct {
	name, clusterIP string
	typ             corev1.ServiceType
	ports           []corev1.ServicePort
	targets         map[string]int32 // port name → endpoint port
	eps             []ep
	externalIPs     []string
	internalLocal   bool
	externalLocal   bool
	affinity        int32 // timeout seconds, 0: none
}

func (s svcSpec) objects() (*corev1.Service, *corev1.Endpoints) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: s.name},
		Spec:       corev1.ServiceSpec{Type: s.typ, ClusterIP: s.clusterIP, Ports: s.ports, ExternalIPs: s.externalIPs},
	}
	if svc.Spec.Type == "" {
		svc.Spec.Type = corev1.ServiceTypeClusterIP
	}
	if s.internalLocal {
		p := corev1.ServiceInternalTrafficPolicyLocal
		svc.Spec.InternalTrafficPolicy = &p
	}
	if s.externalLocal {
		svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	}
	if s.affinity > 0 {
		svc.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
		t := s.affinity
		svc.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &t}}
	}
	e := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: s.name}}
	if len(s.eps) > 0 {
		ss := corev1.EndpointSubset{}
		for _, p := range s.ports {
			ss.Ports = append(ss.Ports, corev1.EndpointPort{Name: p.Name, Port: s.targets[p.Name], Protocol: p.Protocol})
		}
		for _, a := range s.eps {
			n := a.node
			ss.Addresses = append(ss.Addresses, corev1.EndpointAddress{IP: a.ip, NodeName: &n})
		}
		e.Subsets = []corev1.EndpointSubset{ss}
	}
	return svc, e
}

func ruleSet(specs ...svcSpec) proxy.RuleSet {
	var svcs []*corev1.Service
	var eps []*corev1.Endpoints
	for _, s := range specs {
		svc, e := s.objects()
		svcs = append(svcs, svc)
		eps = append(eps, e)
	}
	return proxy.Rules(svcs, eps)
}

func tcpPort(name string, port, nodePort int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, NodePort: nodePort, Protocol: corev1.ProtocolTCP}
}

// fixture covers every kind of rule: two endpoints on two nodes, a named
// multi-protocol Service, no endpoints, NodePort and external IPs with
// both traffic policies, affinity, and an IPv6 address that is left out.
func fixture() []svcSpec {
	return []svcSpec{
		{name: "web", clusterIP: "10.96.0.10", ports: []corev1.ServicePort{tcpPort("", 80, 0)},
			targets: map[string]int32{"": 8080}, eps: []ep{{"10.244.1.10", node}, {"10.244.2.10", otherNode}, {"fd00::1", node}}},
		{name: "dns", clusterIP: "10.96.0.53", ports: []corev1.ServicePort{
			{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}, {Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP}},
			targets: map[string]int32{"dns": 1053, "dns-tcp": 2053}, eps: []ep{{"10.244.1.20", node}, {"10.244.1.21", node}, {"10.244.2.20", otherNode}}},
		{name: "none", clusterIP: "10.96.0.11", typ: corev1.ServiceTypeNodePort, ports: []corev1.ServicePort{tcpPort("", 80, 30011)},
			externalIPs: []string{"192.0.2.11"}},
		{name: "np", clusterIP: "10.96.0.20", typ: corev1.ServiceTypeNodePort, ports: []corev1.ServicePort{tcpPort("http", 80, 30020)},
			targets: map[string]int32{"http": 8080}, eps: []ep{{"10.244.1.30", node}, {"10.244.2.30", otherNode}},
			externalIPs: []string{"192.0.2.20"}},
		{name: "np-local", clusterIP: "10.96.0.21", typ: corev1.ServiceTypeNodePort, ports: []corev1.ServicePort{tcpPort("http", 80, 30021)},
			targets: map[string]int32{"http": 8080}, eps: []ep{{"10.244.1.31", node}, {"10.244.2.31", otherNode}}, externalLocal: true},
		{name: "np-away", clusterIP: "10.96.0.22", typ: corev1.ServiceTypeNodePort, ports: []corev1.ServicePort{tcpPort("http", 80, 30022)},
			targets: map[string]int32{"http": 8080}, eps: []ep{{"10.244.2.32", otherNode}}, externalLocal: true, externalIPs: []string{"192.0.2.22"}},
		{name: "internal-local", clusterIP: "10.96.0.23", ports: []corev1.ServicePort{tcpPort("", 80, 0)},
			targets: map[string]int32{"": 8080}, eps: []ep{{"10.244.1.33", node}, {"10.244.2.33", otherNode}}, internalLocal: true},
		{name: "internal-away", clusterIP: "10.96.0.24", ports: []corev1.ServicePort{tcpPort("", 80, 0)},
			targets: map[string]int32{"": 8080}, eps: []ep{{"10.244.2.34", otherNode}}, internalLocal: true},
		{name: "sticky", clusterIP: "10.96.0.30", ports: []corev1.ServicePort{tcpPort("", 80, 0)},
			targets: map[string]int32{"": 8080}, eps: []ep{{"10.244.1.40", node}, {"10.244.1.41", node}, {"10.244.2.40", otherNode}}, affinity: 600},
		{name: "v6", clusterIP: "fd00:96::10", ports: []corev1.ServicePort{tcpPort("", 80, 0)},
			targets: map[string]int32{"": 8080}, eps: []ep{{"fd00::10", node}}},
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got, *update)
}

func TestRenderGolden(t *testing.T) {
	for _, c := range []struct {
		golden string
		cfg    Config
	}{
		{"full.golden", Config{NodeName: node, ClusterCIDR: "10.244.0.0/16"}},
		{"no-cluster-cidr.golden", Config{NodeName: node}},
		{"masquerade-all.golden", Config{NodeName: node, ClusterCIDR: "10.244.0.0/16", MasqueradeAll: true, MasqueradeBit: 16}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			got, err := Render(c.cfg, ruleSet(fixture()...))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, c.golden, got)
			again, _ := Render(c.cfg, ruleSet(fixture()...))
			if !bytes.Equal(got, again) {
				t.Fatal("Render is not deterministic")
			}
		})
	}
}

func TestRenderEmpty(t *testing.T) {
	got, err := Render(Config{NodeName: node}, proxy.RuleSet{})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "empty.golden", got)
}

func TestChainNames(t *testing.T) {
	n := proxy.ServicePortName{Namespace: "kube-system", Name: "kube-dns", Port: "dns-tcp", Protocol: corev1.ProtocolTCP}
	e := proxy.Endpoint{IP: "10.244.1.2", Port: 53}
	names := []string{ServiceChain(n), LocalChain(n), ExternalChain(n), EndpointChain(n, e)}
	for _, c := range names {
		if len(c) > 28 {
			t.Errorf("%s is longer than iptables' 28 characters", c)
		}
	}
	if ServiceChain(n) != ServiceChain(n) || ServiceChain(n) == ServiceChain(proxy.ServicePortName{Namespace: "kube-system", Name: "kube-dns", Port: "dns", Protocol: corev1.ProtocolUDP}) {
		t.Error("chain names must be deterministic and differ per port")
	}
	if EndpointChain(n, e) == EndpointChain(n, proxy.Endpoint{IP: "10.244.1.3", Port: 53}) {
		t.Error("endpoint chain names must differ per endpoint")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{ClusterCIDR: "10.244.0.0"}, "Config.ClusterCIDR"},
		{Config{ClusterCIDR: "fd00::/64"}, "Config.ClusterCIDR"},
		{Config{MasqueradeBit: 32}, "Config.MasqueradeBit"},
		{Config{MasqueradeBit: -1}, "Config.MasqueradeBit"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
}

// fakeKernel stands in for iptables: it records restore inputs and keeps
// the chain list they imply, and can be told to fail.
type fakeKernel struct {
	inputs    []string
	chains    map[string][]string
	jumps     int
	unjumps   int
	conntrack []*staleUDP
	// missingJumps is what the next jump check finds missing.
	missingJumps int
	fail         error
}

func newFakeBackend(t *testing.T, cfg Config) (*Backend, *fakeKernel, *time.Time) {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k := &fakeKernel{chains: map[string][]string{TableNAT: {"PREROUTING", "OUTPUT", "KUBE-SERVICES", Prefix + "SVC-STALESTALESTALE"}, TableFilter: {"INPUT"}}}
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	b.now = func() time.Time { return now }
	b.restore = func(data []byte) error {
		if k.fail != nil {
			return k.fail
		}
		k.inputs = append(k.inputs, string(data))
		table := ""
		for _, l := range strings.Split(string(data), "\n") {
			switch {
			case strings.HasPrefix(l, "*"):
				table = l[1:]
			case strings.HasPrefix(l, ":"):
				name := strings.Fields(l[1:])[0]
				if !slices.Contains(k.chains[table], name) {
					k.chains[table] = append(k.chains[table], name)
				}
			case strings.HasPrefix(l, "-X "):
				k.chains[table] = slices.DeleteFunc(k.chains[table], func(s string) bool { return s == l[3:] })
			}
		}
		return nil
	}
	b.listChains = func(table string) ([]string, error) { return slices.Clone(k.chains[table]), nil }
	b.ensure = func() (int, error) {
		k.jumps++
		n := k.missingJumps
		k.missingJumps = 0
		return n, nil
	}
	b.unjump = func() error { k.unjumps++; return nil }
	b.clearUDP = func(f *staleUDP) error { k.conntrack = append(k.conntrack, f); return nil }
	return b, k, &now
}

// TestIncrementalApply checks what each Apply hands iptables-restore: all
// chains on the first (full) sync, then only the chains that changed.
func TestIncrementalApply(t *testing.T) {
	b, k, now := newFakeBackend(t, Config{NodeName: node, ClusterCIDR: "10.244.0.0/16"})
	specs := fixture()
	rs1 := ruleSet(specs...)
	if err := b.Apply(rs1); err != nil {
		t.Fatal(err)
	}
	if len(k.inputs) != 1 || k.jumps != 1 {
		t.Fatalf("first Apply: %d restores, %d jump checks; want 1, 1", len(k.inputs), k.jumps)
	}
	full, _ := Render(b.cfg, rs1)
	for _, l := range strings.Split(string(full), "\n") {
		if !strings.Contains(k.inputs[0], l+"\n") {
			t.Errorf("first Apply did not write %q", l)
		}
	}
	if !strings.Contains(k.inputs[0], "-X "+Prefix+"SVC-STALESTALESTALE\n") || strings.Contains(k.inputs[0], "KUBE-SERVICES") {
		t.Errorf("first Apply must delete stale %s chains and only those:\n%s", Prefix, k.inputs[0])
	}

	// Unchanged rules: nothing to do.
	if err := b.Apply(rs1); err != nil {
		t.Fatal(err)
	}
	if len(k.inputs) != 1 {
		t.Fatalf("an unchanged RuleSet was written again:\n%s", k.inputs[len(k.inputs)-1])
	}

	// One endpoint of "web" replaced: only its chains change.
	specs[0].eps = []ep{{"10.244.1.10", node}, {"10.244.2.11", otherNode}}
	if err := b.Apply(ruleSet(specs...)); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "endpoint-change.golden", []byte(k.inputs[len(k.inputs)-1]))

	// "none" gets endpoints: filter rules go, nat rules come.
	specs[2].eps = []ep{{"10.244.1.50", node}}
	specs[2].targets = map[string]int32{"": 8080}
	if err := b.Apply(ruleSet(specs...)); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "service-gets-endpoints.golden", []byte(k.inputs[len(k.inputs)-1]))

	// Stale UDP conntrack entries are cleared after the full sync and after
	// UDP rules change, not after TCP-only changes.
	if len(k.conntrack) != 1 {
		t.Fatalf("conntrack cleared %d times after a full sync and two TCP changes, want 1", len(k.conntrack))
	}
	specs[1].eps = specs[1].eps[1:]
	if err := b.Apply(ruleSet(specs...)); err != nil {
		t.Fatal(err)
	}
	if len(k.conntrack) != 2 {
		t.Fatalf("conntrack not cleared after a UDP endpoint change")
	}

	// A failed restore forces the next Apply to be a full one.
	k.fail = errors.New("boom")
	specs[0].eps = nil
	if err := b.Apply(ruleSet(specs...)); err == nil {
		t.Fatal("Apply succeeded although iptables-restore failed")
	}
	k.fail = nil
	if err := b.Apply(ruleSet(specs...)); err != nil {
		t.Fatal(err)
	}
	if last := k.inputs[len(k.inputs)-1]; !strings.Contains(last, ":"+ChainPostrouting+" ") || k.jumps != 2 {
		t.Errorf("Apply after a failure must be a full sync (jump checks %d):\n%s", k.jumps, last)
	}

	// FullSyncPeriod later, an unchanged RuleSet is rewritten whole.
	n := len(k.inputs)
	*now = now.Add(DefaultFullSyncPeriod)
	if err := b.Apply(ruleSet(specs...)); err != nil {
		t.Fatal(err)
	}
	if len(k.inputs) != n+1 || k.jumps != 3 {
		t.Errorf("no full sync after FullSyncPeriod")
	}

	// An Apply with nothing to write checks the jumps once JumpCheckPeriod
	// has passed; finding one missing, it does a full sync at once.
	n = len(k.inputs)
	*now = now.Add(JumpCheckPeriod - time.Second)
	if err := b.Apply(ruleSet(specs...)); err != nil || k.jumps != 3 || len(k.inputs) != n {
		t.Fatalf("jumps checked too early (checks %d, restores %d, err %v)", k.jumps, len(k.inputs)-n, err)
	}
	*now = now.Add(time.Second)
	if err := b.Apply(ruleSet(specs...)); err != nil || k.jumps != 4 || len(k.inputs) != n {
		t.Fatalf("idle Apply after JumpCheckPeriod: checks %d (want 4), restores %d (want 0), err %v", k.jumps, len(k.inputs)-n, err)
	}
	*now = now.Add(JumpCheckPeriod)
	k.missingJumps = 1
	if err := b.Apply(ruleSet(specs...)); err != nil || k.jumps != 6 || len(k.inputs) != n+1 ||
		!strings.Contains(k.inputs[n], ":"+ChainPostrouting+" ") {
		t.Fatalf("a missing jump must trigger a full sync: checks %d (want 6), restores %d (want 1), err %v", k.jumps, len(k.inputs)-n, err)
	}

	// Cleanup removes the jumps and every DRYDOCK- chain, nothing else.
	if err := b.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if k.unjumps != 1 {
		t.Errorf("Cleanup removed jumps %d times, want 1", k.unjumps)
	}
	for table, names := range k.chains {
		for _, c := range names {
			if strings.HasPrefix(c, Prefix) {
				t.Errorf("Cleanup left %s chain %s", table, c)
			}
		}
	}
	if !slices.Contains(k.chains[TableNAT], "KUBE-SERVICES") {
		t.Error("Cleanup removed a chain that is not drydock's")
	}
}

func TestStaleUDPFilter(t *testing.T) {
	f := newStaleUDP(ruleSet(fixture()...))
	// dns:dns/UDP is 10.96.0.53:53 with endpoints 10.244.1.20, .21, 10.244.2.20.
	flow := func(proto uint8, dst string, dport uint16, replySrc string) *netlink.ConntrackFlow {
		return &netlink.ConntrackFlow{
			Forward: netlink.IPTuple{Protocol: proto, SrcIP: net.ParseIP("10.244.1.200"), DstIP: net.ParseIP(dst), DstPort: dport, SrcPort: 40000},
			Reverse: netlink.IPTuple{Protocol: proto, SrcIP: net.ParseIP(replySrc), DstIP: net.ParseIP("10.244.1.200")},
		}
	}
	for _, c := range []struct {
		name string
		fl   *netlink.ConntrackFlow
		want bool
	}{
		{"to a current endpoint", flow(unix.IPPROTO_UDP, "10.96.0.53", 53, "10.244.2.20"), false},
		{"to a removed endpoint", flow(unix.IPPROTO_UDP, "10.96.0.53", 53, "10.244.1.99"), true},
		{"not DNATed (was rejected)", flow(unix.IPPROTO_UDP, "10.96.0.53", 53, "10.96.0.53"), true},
		{"TCP is left alone", flow(unix.IPPROTO_TCP, "10.96.0.53", 53, "10.244.1.99"), false},
		{"another port", flow(unix.IPPROTO_UDP, "10.96.0.53", 54, "10.244.1.99"), false},
		{"other traffic", flow(unix.IPPROTO_UDP, "8.8.8.8", 53, "8.8.8.8"), false},
	} {
		if got := f.MatchConntrackFlow(c.fl); got != c.want {
			t.Errorf("%s: match = %v, want %v", c.name, got, c.want)
		}
	}
	if newStaleUDP(ruleSet(fixture()[0])) != nil {
		t.Error("a RuleSet without UDP ports needs no conntrack filter")
	}
}
