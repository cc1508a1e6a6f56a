package scenario

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

var timingFields = []string{"by", "at", "always", "from", "until"}

func checkNames() []string {
	names := make([]string, len(CheckKinds))
	for i, k := range CheckKinds {
		names[i] = string(k)
	}
	return names
}

func (p *parser) expectations(n *yaml.Node, sc *Scenario) {
	items, _ := p.seq(n, "expectations")
	explicit := map[string]int{}
	var generated []int // indexes into sc.Expectations of unnamed ones
	for i, it := range items {
		e, named, ok := p.expectation(it, i, sc)
		if !ok {
			continue
		}
		if named {
			if first, dup := explicit[e.Name]; dup {
				p.errAt(it, index("expectations", i)+".name", "duplicate expectation name %q (first at line %d)", e.Name, first)
				continue
			}
			explicit[e.Name] = e.Line
		} else {
			generated = append(generated, len(sc.Expectations))
		}
		sc.Expectations = append(sc.Expectations, e)
	}
	// Generated names may collide with each other or with given ones (two
	// identical checks); number them so that results stay distinguishable.
	used := map[string]bool{}
	for name := range explicit {
		used[name] = true
	}
	for _, i := range generated {
		e := &sc.Expectations[i]
		base := e.Name
		for k := 2; used[e.Name]; k++ {
			e.Name = fmt.Sprintf("%s #%d", base, k)
		}
		used[e.Name] = true
	}
}

func (p *parser) expectation(it *yaml.Node, i int, sc *Scenario) (e Expectation, named, ok bool) {
	path := index("expectations", i)
	m := p.mapping(it, path)
	if m == nil {
		return e, false, false
	}
	before := len(p.errs)
	e = Expectation{Index: i, Line: it.Line, Until: sc.Duration}
	if v := m.get("name"); v != nil {
		e.Name, named = p.nonEmpty(v, m.field("name"))
	}
	var found []string
	for _, k := range m.order {
		if contains(checkNames(), k) {
			found = append(found, k)
		}
	}
	timing := p.timing(m, &e, sc)
	switch len(found) {
	case 0:
		unknown := false
		for _, k := range m.order {
			unknown = unknown || !(k == "name" || contains(timingFields, k))
		}
		if !unknown {
			p.errAt(it, path, "missing check (want one of %s)", strings.Join(checkNames(), ", "))
		}
	default:
		for _, extra := range found[1:] {
			p.errAt(m.keyNode(extra), m.field(extra), "only one check per expectation (this one has %s)", found[0])
		}
		e.Check = p.check(CheckKind(found[0]), m.vals[found[0]], m.field(found[0]), sc)
	}
	for _, k := range checkNames() {
		m.get(k)
	}
	m.done()
	if len(found) > 0 && !timing {
		if CheckKind(found[0]).DefaultsToAlways() {
			e.Always = true
		} else {
			p.errAt(it, path, "missing timing: give by, at or always")
		}
	}
	if len(p.errs) != before {
		return e, named, false
	}
	if !named {
		e.Name = e.Check.String() + " " + e.TimingString(sc.Duration)
	}
	return e, named, true
}

// timing reads by, at, always, from and until; it reports whether any of by,
// at or always was given.
func (p *parser) timing(m *mapNode, e *Expectation, sc *Scenario) bool {
	within := func(key string, dst *time.Duration) (*yaml.Node, bool) {
		v := m.get(key)
		if v == nil {
			return nil, false
		}
		d, ok := p.duration(v, m.field(key))
		if !ok {
			return v, false
		}
		if d > sc.Duration {
			p.errAt(v, m.field(key), "%s is after the end of the scenario (duration %s)", FormatDuration(d), FormatDuration(sc.Duration))
			return v, false
		}
		*dst = d
		return v, true
	}
	byNode, _ := within("by", &e.By)
	e.HasBy = byNode != nil
	atNode, _ := within("at", &e.At)
	e.HasAt = atNode != nil
	if v := m.get("always"); v != nil {
		if b, ok := p.boolean(v, m.field("always")); ok {
			if !b {
				p.errAt(v, m.field("always"), "always: false means nothing; leave it out")
			}
			e.Always = b
		}
	}
	fromNode, fromOK := within("from", &e.From)
	untilNode, untilOK := within("until", &e.Until)
	if fromNode != nil && !e.HasBy && !e.Always {
		p.errAt(fromNode, m.field("from"), "from needs by or always")
	}
	if untilNode != nil && !e.Always {
		p.errAt(untilNode, m.field("until"), "until needs always")
	}
	if fromOK && e.HasBy && e.From > e.By {
		p.errAt(fromNode, m.field("from"), "from (%s) is after by (%s)", FormatDuration(e.From), FormatDuration(e.By))
	}
	if fromOK && untilOK && e.From > e.Until {
		p.errAt(fromNode, m.field("from"), "from (%s) is after until (%s)", FormatDuration(e.From), FormatDuration(e.Until))
	}
	return e.HasBy || e.HasAt || e.Always
}

// TimingString renders the timing of e as written: "by 6m", "from 2m by 6m",
// "at 3m", "always", "always from 1m until 5m"; parts joined with ", ".
func (e *Expectation) TimingString(duration time.Duration) string {
	var parts []string
	if e.HasBy {
		s := "by " + FormatDuration(e.By)
		if e.From > 0 {
			s = "from " + FormatDuration(e.From) + " " + s
		}
		parts = append(parts, s)
	}
	if e.HasAt {
		parts = append(parts, "at "+FormatDuration(e.At))
	}
	if e.Always {
		s := "always"
		if e.From > 0 {
			s += " from " + FormatDuration(e.From)
		}
		if e.Until < duration {
			s += " until " + FormatDuration(e.Until)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// checkFields says which optional fields a pod-counting check takes.
type checkFields struct {
	nodeOrPool  bool // node and pool filters
	needNode    bool // one of node or pool required
	image       bool
	countNeeded bool
}

func (p *parser) check(kind CheckKind, n *yaml.Node, path string, sc *Scenario) Check {
	c := Check{Kind: kind, Selector: labels.Everything(), Ready: true}
	if kind.IsInvariant() && n.Kind == yaml.ScalarNode && !isNull(n) {
		if b, ok := p.boolean(n, path); ok && !b {
			p.errAt(n, path, "false means nothing; leave the expectation out")
		}
		if kind == CheckNoPodOnNotReady {
			c.Margin = DefaultTolerationMargin
		}
		return c
	}
	m := p.mapping(n, path)
	if m == nil {
		return c
	}
	podCount := func(f checkFields) {
		p.selector(m, &c)
		p.namespace(m, &c, "")
		if f.nodeOrPool {
			p.nodeOrPool(m, &c, sc, f.needNode)
		}
		if f.image {
			if v := m.get("image"); v != nil {
				c.Image, _ = p.nonEmpty(v, m.field("image"))
			}
		}
		c.Count = p.countRange(m, f.countNeeded)
	}
	switch kind {
	case CheckDeploymentReady, CheckRolloutComplete:
		if v := m.require("name"); v != nil {
			c.Name = p.objectName(v, m.field("name"))
		}
		p.namespace(m, &c, "default")
		if kind == CheckDeploymentReady {
			if v := m.get("replicas"); v != nil {
				if r, ok := p.integer(v, m.field("replicas"), 0, math.MaxInt32); ok {
					c.Replicas, c.HasReplicas = int32(r), true
				}
			}
		}
	case CheckPodsRunning, CheckPodsReady, CheckPodsPending, CheckContainerRestarts:
		podCount(checkFields{nodeOrPool: true, image: true, countNeeded: true})
	case CheckPodsUnschedulable:
		podCount(checkFields{image: true, countNeeded: true})
	case CheckPodsOnNode:
		podCount(checkFields{nodeOrPool: true, needNode: true, image: true, countNeeded: true})
	case CheckContainerWaiting:
		if v := m.require("reason"); v != nil {
			c.Reason, _ = p.nonEmpty(v, m.field("reason"))
		}
		podCount(checkFields{nodeOrPool: true, image: true, countNeeded: true})
	case CheckNodeReady:
		if v := m.require("node"); v != nil {
			if name, ok := p.nonEmpty(v, m.field("node")); ok && p.checkNode(sc, v, m.field("node"), name) {
				c.Node = name
			}
		}
		if v := m.get("ready"); v != nil {
			c.Ready, _ = p.boolean(v, m.field("ready"))
		}
	case CheckEventSeen:
		if v := m.require("reason"); v != nil {
			c.Reason, _ = p.nonEmpty(v, m.field("reason"))
		}
		if v := m.get("type"); v != nil {
			if t, ok := p.nonEmpty(v, m.field("type")); ok {
				if t != "Normal" && t != "Warning" {
					p.errAt(v, m.field("type"), "unknown event type %q (want Normal or Warning)", t)
				}
				c.Type = t
			}
		}
		for _, f := range []struct {
			key string
			dst *string
		}{{"involvedKind", &c.InvolvedKind}, {"involvedName", &c.InvolvedName}, {"message", &c.Message}} {
			if v := m.get(f.key); v != nil {
				*f.dst, _ = p.nonEmpty(v, m.field(f.key))
			}
		}
		p.namespace(m, &c, "")
		c.Count = p.countRange(m, false)
		if !c.Count.HasMin && !c.Count.HasMax {
			c.Count = Range{Min: 1, HasMin: true}
		}
	case CheckTopologySpread:
		if v := m.require("topologyKey"); v != nil {
			if k, ok := p.nonEmpty(v, m.field("topologyKey")); ok {
				if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
					p.errAt(v, m.field("topologyKey"), "invalid label key %q: %s", k, strings.Join(msgs, "; "))
				}
				c.TopologyKey = k
			}
		}
		if v := m.require("maxSkew"); v != nil {
			if s, ok := p.integer(v, m.field("maxSkew"), 1, math.MaxInt32); ok {
				c.MaxSkew = int(s)
			}
		}
		p.selector(m, &c)
		p.namespace(m, &c, "")
		if v := m.get("pool"); v != nil {
			c.Pool = p.poolName(v, m.field("pool"), sc)
		}
	case CheckNoOvercommit:
	case CheckNoPodOnNotReady:
		c.Margin = DefaultTolerationMargin
		if v := m.get("margin"); v != nil {
			c.Margin, _ = p.duration(v, m.field("margin"))
		}
	case CheckServiceAnswered:
		p.serviceAnswered(m, &c, sc)
	}
	m.done()
	return c
}

// selector reads a label selector: a string in kubectl's syntax
// ("app=web,tier!=db") or a mapping of labels that must all match.
func (p *parser) selector(m *mapNode, c *Check) {
	v := m.get("selector")
	if v == nil {
		return
	}
	f := m.field("selector")
	if v.Kind == yaml.MappingNode {
		set := p.stringMap(v, f, validation.IsQualifiedName, validation.IsValidLabelValue)
		c.Selector = labels.SelectorFromValidatedSet(set)
		c.SelectorText = c.Selector.String()
		return
	}
	s, ok := p.nonEmpty(v, f)
	if !ok {
		return
	}
	sel, err := labels.Parse(s)
	if err != nil {
		p.errAt(v, f, "invalid label selector %q: %v", s, err)
		return
	}
	c.Selector, c.SelectorText = sel, s
}

func (p *parser) namespace(m *mapNode, c *Check, def string) {
	c.Namespace = def
	if v := m.get("namespace"); v != nil {
		if ns, ok := p.nonEmpty(v, m.field("namespace")); ok {
			if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
				p.errAt(v, m.field("namespace"), "invalid namespace %q: %s", ns, strings.Join(msgs, "; "))
				return
			}
			c.Namespace = ns
		}
	}
}

func (p *parser) objectName(v *yaml.Node, f string) string {
	name, ok := p.nonEmpty(v, f)
	if !ok {
		return ""
	}
	if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		p.errAt(v, f, "invalid name %q: %s", name, strings.Join(msgs, "; "))
		return ""
	}
	return name
}

func (p *parser) nodeOrPool(m *mapNode, c *Check, sc *Scenario, required bool) {
	nv, pv := m.get("node"), m.get("pool")
	switch {
	case nv != nil && pv != nil:
		p.errAt(m.keyNode("pool"), m.field("pool"), "give node or pool, not both")
	case nv != nil:
		if name, ok := p.nonEmpty(nv, m.field("node")); ok && p.checkNode(sc, nv, m.field("node"), name) {
			c.Node = name
		}
	case pv != nil:
		c.Pool = p.poolName(pv, m.field("pool"), sc)
	case required:
		p.errAt(m.node, m.path, "missing node or pool")
	}
}

func (p *parser) poolName(v *yaml.Node, f string, sc *Scenario) string {
	name, ok := p.nonEmpty(v, f)
	if !ok {
		return ""
	}
	if sc.Pool(name) == nil {
		var names []string
		for _, pl := range sc.NodePools {
			names = append(names, pl.Name)
		}
		p.errAt(v, f, "unknown pool %q (pools: %s)", name, strings.Join(names, ", "))
		return ""
	}
	return name
}

// countRange reads count, or min and/or max.
func (p *parser) countRange(m *mapNode, required bool) Range {
	var r Range
	cv, minv, maxv := m.get("count"), m.get("min"), m.get("max")
	read := func(v *yaml.Node, key string) (int, bool) {
		n, ok := p.integer(v, m.field(key), 0, math.MaxInt32)
		return int(n), ok
	}
	if cv != nil {
		if minv != nil || maxv != nil {
			other := "min"
			if minv == nil {
				other = "max"
			}
			p.errAt(m.keyNode(other), m.field(other), "give count, or min and/or max, not both")
			return r
		}
		if n, ok := read(cv, "count"); ok {
			return Range{Min: n, Max: n, HasMin: true, HasMax: true}
		}
		return r
	}
	if minv != nil {
		r.Min, r.HasMin = read(minv, "min")
	}
	if maxv != nil {
		r.Max, r.HasMax = read(maxv, "max")
	}
	if r.HasMin && r.HasMax && r.Min > r.Max {
		p.errAt(minv, m.field("min"), "min (%d) exceeds max (%d)", r.Min, r.Max)
	}
	if required && cv == nil && minv == nil && maxv == nil {
		p.errAt(m.node, join(m.path, "count"), "missing count (or min and/or max)")
	}
	return r
}

// String describes the check in a few words, for generated names and
// results: "podsReady app=web count 10".
func (c *Check) String() string {
	parts := []string{string(c.Kind)}
	add := func(s string) { parts = append(parts, s) }
	switch c.Kind {
	case CheckDeploymentReady, CheckRolloutComplete:
		add(c.Namespace + "/" + c.Name)
		if c.HasReplicas {
			add(fmt.Sprintf("replicas %d", c.Replicas))
		}
		return strings.Join(parts, " ")
	case CheckNodeReady:
		add(c.Node)
		if !c.Ready {
			add("ready false")
		}
		return strings.Join(parts, " ")
	case CheckEventSeen:
		add("reason " + c.Reason)
		for _, kv := range [][2]string{{"type", c.Type}, {"involvedKind", c.InvolvedKind}, {"involvedName", c.InvolvedName}, {"message", fmt.Sprintf("%q", c.Message)}} {
			if kv[1] != "" && kv[1] != `""` {
				add(kv[0] + " " + kv[1])
			}
		}
	case CheckContainerWaiting:
		add("reason " + c.Reason)
	case CheckTopologySpread:
		add(fmt.Sprintf("%s maxSkew %d", c.TopologyKey, c.MaxSkew))
	case CheckNoOvercommit, CheckNoPodOnNotReady:
		return string(c.Kind)
	case CheckServiceAnswered:
		add(c.Traffic)
		if c.HasMinSuccessRate {
			add("minSuccessRate " + strconv.FormatFloat(c.MinSuccessRate, 'g', -1, 64))
		}
		if c.HasMaxFailures {
			add(fmt.Sprintf("maxFailures %d", c.MaxFailures))
		}
		return strings.Join(parts, " ")
	}
	if c.SelectorText != "" {
		add(c.SelectorText)
	}
	if c.Namespace != "" {
		add("namespace " + c.Namespace)
	}
	if c.Node != "" {
		add("node " + c.Node)
	}
	if c.Pool != "" {
		add("pool " + c.Pool)
	}
	if c.Image != "" {
		add("image " + c.Image)
	}
	if c.Kind != CheckTopologySpread && (c.Count.HasMin || c.Count.HasMax) && !(c.Kind == CheckEventSeen && c.Count == (Range{Min: 1, HasMin: true})) {
		add("count " + c.Count.String())
	}
	return strings.Join(parts, " ")
}

// serviceAnswered reads the traffic entry's name and the failure budget:
// minSuccessRate and/or maxFailures, every request answered without either.
func (p *parser) serviceAnswered(m *mapNode, c *Check, sc *Scenario) {
	if v := m.require("traffic"); v != nil {
		if name, ok := p.nonEmpty(v, m.field("traffic")); ok {
			if sc.TrafficByName(name) == nil {
				var names []string
				for _, t := range sc.Traffic {
					names = append(names, t.Name)
				}
				if len(names) == 0 {
					p.errAt(v, m.field("traffic"), "unknown traffic %q (the scenario has no traffic entries)", name)
				} else {
					p.errAt(v, m.field("traffic"), "unknown traffic %q (traffic: %s)", name, strings.Join(names, ", "))
				}
			}
			c.Traffic = name
		}
	}
	if v := m.get("minSuccessRate"); v != nil {
		if r, ok := p.number(v, m.field("minSuccessRate")); ok {
			if r < 0 || r > 1 {
				p.errAt(v, m.field("minSuccessRate"), "must be between 0 and 1 (a fraction, e.g. 0.99), got %s", v.Value)
			} else {
				c.MinSuccessRate, c.HasMinSuccessRate = r, true
			}
		}
	}
	if v := m.get("maxFailures"); v != nil {
		if n, ok := p.integer(v, m.field("maxFailures"), 0, math.MaxInt32); ok {
			c.MaxFailures, c.HasMaxFailures = int(n), true
		}
	}
	if !m.has("minSuccessRate") && !m.has("maxFailures") {
		c.HasMaxFailures = true
	}
}
