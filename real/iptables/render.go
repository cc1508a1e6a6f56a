package iptables

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/proxy"
)

// Chain names. Every chain the backend owns starts with Prefix, so it never
// touches kube-proxy's KUBE-* chains. The per-Service and per-endpoint
// chains end in a 16-character hash, like kube-proxy's, which keeps every
// name within iptables' 28-character limit.
const (
	Prefix = "DRYDOCK-"

	ChainServices         = Prefix + "SERVICES"          // nat and filter
	ChainNodePorts        = Prefix + "NODEPORTS"         // nat
	ChainPostrouting      = Prefix + "POSTROUTING"       // nat
	ChainMarkMasq         = Prefix + "MARK-MASQ"         // nat
	ChainExternalServices = Prefix + "EXTERNAL-SERVICES" // filter
	ChainForward          = Prefix + "FORWARD"           // filter

	svcPrefix = Prefix + "SVC-" // cluster policy: every endpoint
	svlPrefix = Prefix + "SVL-" // local policy: this node's endpoints
	extPrefix = Prefix + "EXT-" // external destinations (NodePort, external IPs)
	sepPrefix = Prefix + "SEP-" // one endpoint
)

// Table names.
const (
	TableNAT    = "nat"
	TableFilter = "filter"
)

// hash16 is the first 16 characters of the base32 SHA-256 of s, as
// kube-proxy derives its chain names.
func hash16(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(sum[:])[:16]
}

// ServiceChain is the cluster-policy chain of a Service port
// (kube-proxy's KUBE-SVC-*).
func ServiceChain(n proxy.ServicePortName) string { return svcPrefix + hash16(n.String()) }

// LocalChain is the local-policy chain of a Service port (KUBE-SVL-*).
func LocalChain(n proxy.ServicePortName) string { return svlPrefix + hash16(n.String()) }

// ExternalChain is the chain for a Service port's external destinations
// (KUBE-EXT-*).
func ExternalChain(n proxy.ServicePortName) string { return extPrefix + hash16(n.String()) }

// EndpointChain is the chain that DNATs to one endpoint of a Service port
// (KUBE-SEP-*).
func EndpointChain(n proxy.ServicePortName, e proxy.Endpoint) string {
	return sepPrefix + hash16(n.String()+"/"+e.String())
}

// chain is one chain's complete contents as iptables-restore lines.
type chain struct {
	name string
	body string
}

// program is the whole desired state of both tables, chains in a fixed
// order: the top-level chains first, then each Service port's chains in
// RuleSet order.
type program struct {
	filter, nat []chain
}

func (p *program) table(t string) []chain {
	if t == TableFilter {
		return p.filter
	}
	return p.nat
}

// lines builds one chain's rules.
type lines struct {
	name string
	b    strings.Builder
}

// add writes "-A name args...".
func (l *lines) add(args ...string) {
	l.b.WriteString("-A ")
	l.b.WriteString(l.name)
	for _, a := range args {
		l.b.WriteByte(' ')
		l.b.WriteString(a)
	}
	l.b.WriteByte('\n')
}

func (l *lines) chain() chain { return chain{l.name, l.b.String()} }

func comment(s string) []string { return []string{"-m", "comment", "--comment", strconv.Quote(s)} }

func protoMatch(p corev1.Protocol) []string {
	s := strings.ToLower(string(p))
	return []string{"-m", s, "-p", s}
}

func join(parts ...[]string) []string {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]string, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func isIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// portRules is what one Service port contributes: lines of the top-level
// chains and its own nat chains.
type portRules struct {
	natSvc, natNP, filSvc, filExt string
	chains                        []chain
}

// renderCache remembers each Service port's rules from the last render,
// so that only ports that changed are rendered again.
type renderCache map[proxy.ServicePortName]cachedPort

type cachedPort struct {
	sp proxy.ServicePort
	r  *portRules
}

// render computes the program for rs, reusing cache entries of unchanged
// ports (cache may be nil); it returns the cache for the next call. IPv6
// addresses are left out: this backend drives iptables (IPv4) only.
// udpChanged reports whether the rules of a UDP port were (re)rendered.
func render(cfg *Config, rs proxy.RuleSet, cache renderCache) (p *program, next renderCache, udpChanged bool) {
	mark := cfg.markString()
	next = make(renderCache, len(rs.Ports))
	rules := make([]*portRules, 0, len(rs.Ports))
	for i := range rs.Ports {
		sp := &rs.Ports[i]
		if !isIPv4(sp.ClusterIP) {
			continue
		}
		c, ok := cache[sp.Name]
		if !ok || !c.sp.Equal(sp) {
			c = cachedPort{sp: *sp, r: renderPort(cfg, sp)}
			udpChanged = udpChanged || sp.Name.Protocol == corev1.ProtocolUDP
		}
		next[sp.Name] = c
		rules = append(rules, c.r)
	}
	var natSvc, natNP, filSvc, filExt strings.Builder
	var perService []chain
	for _, r := range rules {
		natSvc.WriteString(r.natSvc)
		natNP.WriteString(r.natNP)
		filSvc.WriteString(r.filSvc)
		filExt.WriteString(r.filExt)
		perService = append(perService, r.chains...)
	}

	// The last rule of the services chain hands traffic to this node's own
	// addresses to the NodePort rules. Localhost NodePorts need
	// route_localnet, which this backend does not turn on, so they are
	// excluded as kube-proxy does with --iptables-localhost-nodeports=false.
	last := &lines{name: ChainServices}
	last.add(join(comment("drydock service nodeports; NOTE: this must be the last rule in this chain"),
		[]string{"-m", "addrtype", "--dst-type", "LOCAL", "!", "-d", "127.0.0.0/8", "-j", ChainNodePorts})...)
	natSvc.WriteString(last.b.String())

	post := &lines{name: ChainPostrouting}
	post.add("-m", "mark", "!", "--mark", mark+"/"+mark, "-j", "RETURN")
	post.add("-j", "MARK", "--xor-mark", mark)
	post.add(join(comment("drydock service traffic requiring SNAT"), []string{"-j", "MASQUERADE", "--random-fully"})...)
	masq := &lines{name: ChainMarkMasq}
	masq.add("-j", "MARK", "--or-mark", mark)

	fwd := &lines{name: ChainForward}
	fwd.add("-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP")
	fwd.add(join(comment("drydock forwarding rules"), []string{"-m", "mark", "--mark", mark + "/" + mark, "-j", "ACCEPT"})...)
	fwd.add(join(comment("drydock forwarding conntrack rule"), []string{"-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"})...)

	p = &program{
		filter: []chain{{ChainServices, filSvc.String()}, {ChainExternalServices, filExt.String()}, fwd.chain()},
		nat: append([]chain{{ChainServices, natSvc.String()}, {ChainNodePorts, natNP.String()}, post.chain(), masq.chain()},
			perService...),
	}
	return p, next, udpChanged
}

// renderPort writes one Service port's rules, following kube-proxy's
// iptables mode: the top-level chains capture the ClusterIP, external IPs
// and NodePort; the SVC (cluster policy) and SVL (local policy) chains pick
// an endpoint with chained "statistic random" matches (and "recent" for
// ClientIP affinity); each SEP chain DNATs to its endpoint; the filter table
// REJECTs traffic to Services with no endpoints and DROPs traffic that a
// Local traffic policy leaves without endpoints.
func renderPort(cfg *Config, sp *proxy.ServicePort) *portRules {
	natSvc := &lines{name: ChainServices}
	natNP := &lines{name: ChainNodePorts}
	filSvc := &lines{name: ChainServices}
	filExt := &lines{name: ChainExternalServices}
	var out []chain
	name := sp.Name.String()
	port := strconv.Itoa(int(sp.Port))
	proto := protoMatch(sp.Name.Protocol)
	var extIPs []string
	for _, ip := range sp.ExternalIPs {
		if isIPv4(ip) {
			extIPs = append(extIPs, ip)
		}
	}
	var all []proxy.Endpoint
	for _, e := range sp.Endpoints {
		if isIPv4(e.IP) {
			all = append(all, e)
		}
	}
	var local []proxy.Endpoint
	for _, e := range all {
		if e.NodeName == cfg.NodeName {
			local = append(local, e)
		}
	}

	externallyAccessible := sp.NodePort != 0 || len(extIPs) > 0
	externalLocal := sp.ExternalLocal && externallyAccessible
	usesCluster := !sp.InternalLocal || externallyAccessible
	usesLocal := sp.InternalLocal || externalLocal

	svcChain, svlChain, extChain := ServiceChain(sp.Name), LocalChain(sp.Name), ExternalChain(sp.Name)
	hasEndpoints := len(all) > 0
	internalChain, hasInternal := svcChain, hasEndpoints
	if sp.InternalLocal {
		internalChain, hasInternal = svlChain, len(local) > 0
	}
	externalChain, hasExternal := svcChain, hasEndpoints
	if externalLocal {
		externalChain, hasExternal = svlChain, len(local) > 0
	}
	usesClusterChain := hasEndpoints && usesCluster
	usesLocalChain := len(local) > 0 && usesLocal
	usesExtChain := hasEndpoints && externallyAccessible

	var internalTarget, internalComment, externalTarget, externalComment string
	if !hasEndpoints {
		internalTarget, internalComment = "REJECT", name+" has no endpoints"
		externalTarget, externalComment = internalTarget, internalComment
	} else {
		if !hasInternal {
			internalTarget, internalComment = "DROP", name+" has no local endpoints"
		}
		if !hasExternal {
			externalTarget, externalComment = "DROP", name+" has no local endpoints"
		}
	}

	clusterIPMatch := join(proto, []string{"-d", sp.ClusterIP, "--dport", port})
	if hasInternal {
		natSvc.add(join(comment(name+" cluster IP"), clusterIPMatch, []string{"-j", internalChain})...)
	} else {
		filSvc.add(join(comment(internalComment), clusterIPMatch, []string{"-j", internalTarget})...)
	}
	for _, ip := range extIPs {
		m := join(proto, []string{"-d", ip, "--dport", port})
		if hasEndpoints {
			natSvc.add(join(comment(name+" external IP"), m, []string{"-j", extChain})...)
		}
		if !hasExternal {
			filExt.add(join(comment(externalComment), m, []string{"-j", externalTarget})...)
		}
	}
	if sp.NodePort != 0 {
		np := strconv.Itoa(int(sp.NodePort))
		if hasEndpoints {
			natNP.add(join(comment(name), proto, []string{"--dport", np, "-j", extChain})...)
		}
		if !hasExternal {
			filExt.add(join(comment(externalComment), []string{"-m", "addrtype", "--dst-type", "LOCAL"}, proto,
				[]string{"--dport", np, "-j", externalTarget})...)
		}
	}

	// Per-Service chains, in a fixed order: EXT, SVC, SVL, then the SEPs.
	var svc, svl, ext *lines
	if usesClusterChain {
		svc = &lines{name: svcChain}
	}
	if usesLocalChain {
		svl = &lines{name: svlChain}
	}
	// Masquerade ClusterIP traffic from outside the pod network (or all of
	// it with MasqueradeAll): it may have been routed here from off-node
	// and must come back through this node.
	if hasInternal {
		ic := svc
		if sp.InternalLocal {
			ic = svl
		}
		m := join(comment(name+" cluster IP"), clusterIPMatch)
		switch {
		case cfg.MasqueradeAll:
			ic.add(join(m, []string{"-j", ChainMarkMasq})...)
		case cfg.ClusterCIDR != "":
			ic.add(join(m, []string{"!", "-s", cfg.ClusterCIDR, "-j", ChainMarkMasq})...)
		}
	}
	if usesExtChain {
		ext = &lines{name: extChain}
		if !externalLocal {
			// Endpoints may be on other nodes: masquerade so replies come back here.
			ext.add(join(comment("masquerade traffic for "+name+" external destinations"), []string{"-j", ChainMarkMasq})...)
		} else {
			if cfg.ClusterCIDR != "" {
				// Pods reaching an external destination of their own
				// cluster are short-circuited to every endpoint.
				ext.add(join(comment("pod traffic for "+name+" external destinations"),
					[]string{"-s", cfg.ClusterCIDR, "-j", svcChain})...)
			}
			// The node itself picks a local address as source: masquerade
			// it and let it use every endpoint too.
			ext.add(join(comment("masquerade LOCAL traffic for "+name+" external destinations"),
				[]string{"-m", "addrtype", "--src-type", "LOCAL", "-j", ChainMarkMasq})...)
			ext.add(join(comment("route LOCAL traffic for "+name+" external destinations"),
				[]string{"-m", "addrtype", "--src-type", "LOCAL", "-j", svcChain})...)
		}
		if hasExternal {
			ext.add("-j", externalChain)
		}
		out = append(out, ext.chain())
	}
	affinity := ""
	if sp.AffinityTimeout > 0 {
		s := int64(sp.AffinityTimeout.Seconds())
		if s < 1 {
			s = 1
		}
		affinity = strconv.FormatInt(s, 10)
	}
	if svc != nil {
		endpointRules(svc, sp, all, affinity)
		out = append(out, svc.chain())
	}
	if svl != nil {
		endpointRules(svl, sp, local, affinity)
		out = append(out, svl.chain())
	}
	seps := all
	if !usesClusterChain {
		seps = local
		if !usesLocalChain {
			seps = nil
		}
	}
	for _, e := range seps {
		sep := &lines{name: EndpointChain(sp.Name, e)}
		c := comment(name)
		// Hairpin: a pod reaching itself through the Service must be
		// masqueraded or its reply would bypass the DNAT.
		sep.add(join(c, []string{"-s", e.IP, "-j", ChainMarkMasq})...)
		var rec []string
		if affinity != "" {
			rec = []string{"-m", "recent", "--name", sep.name, "--set"}
		}
		sep.add(join(c, rec, proto, []string{"-j", "DNAT", "--to-destination", e.String()})...)
		out = append(out, sep.chain())
	}
	return &portRules{natSvc: natSvc.b.String(), natNP: natNP.b.String(), filSvc: filSvc.b.String(),
		filExt: filExt.b.String(), chains: out}
}

// endpointRules writes a policy chain's choice among eps: with ClientIP
// affinity first a "recent" check per endpoint, then the i-th of n
// endpoints matches with probability 1/(n-i), so each is picked with
// probability 1/n.
func endpointRules(l *lines, sp *proxy.ServicePort, eps []proxy.Endpoint, affinity string) {
	name := sp.Name.String()
	if affinity != "" {
		for _, e := range eps {
			sep := EndpointChain(sp.Name, e)
			l.add(join(comment(name+" -> "+e.String()),
				[]string{"-m", "recent", "--name", sep, "--rcheck", "--seconds", affinity, "--reap", "-j", sep})...)
		}
	}
	for i, e := range eps {
		args := comment(name + " -> " + e.String())
		if i < len(eps)-1 {
			args = append(args, "-m", "statistic", "--mode", "random", "--probability",
				fmt.Sprintf("%0.10f", proxy.Probability(i, len(eps))))
		}
		l.add(join(args, []string{"-j", EndpointChain(sp.Name, e)})...)
	}
}

// restoreInput is the iptables-restore text that writes the chains in
// write (declaring a chain flushes it; its rules follow) and deletes the
// chains in remove, per table. Tables with nothing to do are left out.
func restoreInput(write, remove map[string][]chain) []byte {
	var b strings.Builder
	for _, t := range []string{TableFilter, TableNAT} {
		w, r := write[t], remove[t]
		if len(w) == 0 && len(r) == 0 {
			continue
		}
		b.WriteString("*" + t + "\n")
		for _, c := range w {
			b.WriteString(":" + c.name + " - [0:0]\n")
		}
		for _, c := range r {
			b.WriteString(":" + c.name + " - [0:0]\n")
		}
		for _, c := range w {
			b.WriteString(c.body)
		}
		for _, c := range r {
			b.WriteString("-X " + c.name + "\n")
		}
		b.WriteString("COMMIT\n")
	}
	return []byte(b.String())
}

// Render returns the iptables-restore input that programs rs from scratch
// with cfg: every chain the backend owns, declared and filled, for
// "iptables-restore --noflush". It does not include the jumps from the
// built-in chains, which the Backend adds with iptables itself.
func Render(cfg Config, rs proxy.RuleSet) ([]byte, error) {
	if err := cfg.complete(); err != nil {
		return nil, err
	}
	p, _, _ := render(&cfg, rs, nil)
	return restoreInput(map[string][]chain{TableFilter: p.filter, TableNAT: p.nat}, nil), nil
}
