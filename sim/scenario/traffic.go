package scenario

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Traffic is one entry of the scenario's traffic list: a simulated client
// on node Client that sends Rate requests per second, evenly spaced, to one
// port of a Service from From until Until. Requests are routed through the
// proxy's rule table as the client's node has it, and answered when the
// chosen backend pod is alive (see scenarios/README.md).
type Traffic struct {
	Name      string
	Namespace string // the Service's namespace (default "default")
	Service   string // the Service's name
	// The Service port, by number (Port) or by name (PortName); one is set.
	// Traffic is TCP.
	Port     int32
	PortName string
	Rate     float64       // requests per second, > 0
	From     time.Duration // first request (default 0)
	Until    time.Duration // no request at or after this (default Scenario.Duration)
	Client   string        // node whose rule table routes (default the first node)
	Line     int
}

// Target renders the destination as "namespace/name:port".
func (t *Traffic) Target() string {
	port := t.PortName
	if port == "" {
		port = strconv.Itoa(int(t.Port))
	}
	return t.Namespace + "/" + t.Service + ":" + port
}

// MaxTrafficRate bounds one entry's rate: every request is a simulator
// event, and a typo like 2000000 would otherwise stall the run.
const MaxTrafficRate = 10000

func (p *parser) traffic(n *yaml.Node, sc *Scenario) {
	items, _ := p.seq(n, "traffic")
	seen := map[string]int{}
	for i, it := range items {
		path := index("traffic", i)
		m := p.mapping(it, path)
		if m == nil {
			continue
		}
		before := len(p.errs)
		t := Traffic{Line: it.Line, Namespace: "default", Until: sc.Duration}
		named := false
		if v := m.require("name"); v != nil {
			if name, ok := p.nonEmpty(v, m.field("name")); ok {
				if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
					p.errAt(v, m.field("name"), "invalid traffic name %q: %s", name, strings.Join(msgs, "; "))
				} else if first, dup := seen[name]; dup {
					p.errAt(v, m.field("name"), "duplicate traffic name %q (first at line %d)", name, first)
				} else {
					seen[name] = v.Line
					t.Name, named = name, true
				}
			}
		}
		svcNode := m.require("service")
		if svcNode != nil {
			t.Namespace, t.Service = p.serviceRef(svcNode, m.field("service"))
		}
		portNode := m.require("port")
		if portNode != nil {
			t.Port, t.PortName = p.servicePort(portNode, m.field("port"))
		}
		if v := m.require("rate"); v != nil {
			if r, ok := p.number(v, m.field("rate")); ok {
				if r <= 0 || r > MaxTrafficRate {
					p.errAt(v, m.field("rate"), "requests per second must be above 0 and at most %d, got %s", MaxTrafficRate, v.Value)
				} else {
					t.Rate = r
				}
			}
		}
		p.trafficWindow(m, &t, sc)
		if v := m.get("client"); v != nil {
			if name, ok := p.nonEmpty(v, m.field("client")); ok && p.checkNode(sc, v, m.field("client"), name) {
				t.Client = name
			}
		} else if len(sc.NodePools) > 0 && sc.NodePools[0].Count > 0 {
			t.Client = sc.NodePools[0].NodeName(0)
		}
		m.done()
		if len(p.errs) == before {
			p.checkTrafficService(sc, &t, svcNode, portNode, m.field("service"), m.field("port"))
		}
		// Kept even when broken, so that expectations naming it do not
		// pile up "unknown traffic" errors; a broken file never runs.
		if named {
			sc.Traffic = append(sc.Traffic, t)
		}
	}
}

// serviceRef reads "namespace/name" or "name" (namespace "default").
func (p *parser) serviceRef(v *yaml.Node, f string) (ns, name string) {
	s, ok := p.nonEmpty(v, f)
	if !ok {
		return "default", ""
	}
	ns, name = "default", s
	if a, b, found := strings.Cut(s, "/"); found {
		ns, name = a, b
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			p.errAt(v, f, "invalid namespace %q in %q (want namespace/name or name): %s", ns, s, strings.Join(msgs, "; "))
			return "default", ""
		}
	}
	// Service names are DNS-1035 labels.
	if msgs := validation.IsDNS1035Label(name); len(msgs) > 0 {
		p.errAt(v, f, "invalid service name %q: %s", name, strings.Join(msgs, "; "))
		return ns, ""
	}
	return ns, name
}

// servicePort reads a port number (1..65535) or a port name.
func (p *parser) servicePort(v *yaml.Node, f string) (int32, string) {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" {
		n, _ := p.integer(v, f, 1, 65535)
		return int32(n), ""
	}
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" || v.Value == "" {
		p.errAt(v, f, "want a port number or name, got %s", describe(v))
		return 0, ""
	}
	if msgs := validation.IsValidPortName(v.Value); len(msgs) > 0 {
		p.errAt(v, f, "invalid port name %q: %s", v.Value, strings.Join(msgs, "; "))
		return 0, ""
	}
	return 0, v.Value
}

// trafficWindow reads from and until: times within the run, from < until.
func (p *parser) trafficWindow(m *mapNode, t *Traffic, sc *Scenario) {
	read := func(key string, dst *time.Duration) *yaml.Node {
		v := m.get(key)
		if v == nil {
			return nil
		}
		d, ok := p.duration(v, m.field(key))
		switch {
		case !ok:
			return nil
		case d > sc.Duration:
			p.errAt(v, m.field(key), "%s is after the end of the scenario (duration %s)", FormatDuration(d), FormatDuration(sc.Duration))
			return nil
		}
		*dst = d
		return v
	}
	fromNode := read("from", &t.From)
	untilNode := read("until", &t.Until)
	if t.From >= t.Until {
		at := fromNode
		if at == nil {
			at = untilNode
		}
		p.errAt(at, m.field("from"), "from (%s) must be before until (%s)", FormatDuration(t.From), FormatDuration(t.Until))
	}
}

// checkTrafficService requires the Service to be created by objects or by an
// apply before the traffic ends, with a virtual IP (not headless, not
// ExternalName) and the port.
func (p *parser) checkTrafficService(sc *Scenario, t *Traffic, svcNode, portNode *yaml.Node, svcField, portField string) {
	var svcs []*corev1.Service
	collect := func(ms []Manifest) {
		for _, mf := range ms {
			s, ok := mf.Object.(*corev1.Service)
			if !ok || s.Name != t.Service {
				continue
			}
			ns := s.Namespace
			if ns == "" {
				ns = "default"
			}
			if ns == t.Namespace {
				svcs = append(svcs, s)
			}
		}
	}
	collect(sc.Objects)
	for i := range sc.Timeline {
		if a := &sc.Timeline[i]; a.Kind == ActionApply && a.At < t.Until {
			collect(a.Objects)
		}
	}
	key := t.Namespace + "/" + t.Service
	if len(svcs) == 0 {
		p.errAt(svcNode, svcField, "service %s is not created by objects or by an apply before the traffic ends", key)
		return
	}
	var ports []string
	for _, s := range svcs {
		switch {
		case s.Spec.Type == corev1.ServiceTypeExternalName:
			p.errAt(svcNode, svcField, "service %s is of type ExternalName: it has no virtual IP to send traffic to", key)
			return
		case s.Spec.ClusterIP == corev1.ClusterIPNone:
			p.errAt(svcNode, svcField, "service %s is headless (clusterIP None): it has no virtual IP to send traffic to", key)
			return
		}
		for _, sp := range s.Spec.Ports {
			proto := sp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			if proto == corev1.ProtocolTCP && ((t.PortName == "" && sp.Port == t.Port) || (t.PortName != "" && sp.Name == t.PortName)) {
				return
			}
			desc := fmt.Sprintf("%d/%s", sp.Port, proto)
			if sp.Name != "" {
				desc += " " + strconv.Quote(sp.Name)
			}
			ports = append(ports, desc)
		}
	}
	want := strconv.Itoa(int(t.Port))
	if t.PortName != "" {
		want = strconv.Quote(t.PortName)
	}
	p.errAt(portNode, portField, "service %s has no TCP port %s (ports: %s)", key, want, strings.Join(ports, ", "))
}
