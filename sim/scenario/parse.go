package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

func (p *parser) parse(data []byte) (*Scenario, error) {
	sc := &Scenario{File: p.file, Seed: 1, Settings: DefaultSettings()}
	if root := p.document(data); root != nil {
		p.scenario(sc, root)
	}
	if len(p.errs) > 0 {
		p.sortErrors()
		return nil, p.errs
	}
	return sc, nil
}

// sortErrors orders problems by file (the scenario first, then manifest files
// in the order they were first mentioned) and line, so that the list reads top
// to bottom however the parser happened to visit the fields.
func (p *parser) sortErrors() {
	rank := map[string]int{p.file: 0}
	for _, e := range p.errs {
		if _, ok := rank[e.File]; !ok {
			rank[e.File] = len(rank)
		}
	}
	sort.SliceStable(p.errs, func(i, j int) bool {
		a, b := p.errs[i], p.errs[j]
		if rank[a.File] != rank[b.File] {
			return rank[a.File] < rank[b.File]
		}
		return a.Line < b.Line
	})
}

// document parses data as exactly one YAML document and returns its root.
func (p *parser) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(p.file, 0, "", "empty scenario file")
		} else {
			p.syntaxError(p.file, data, nil, "", err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		p.errorf(p.file, extra.Line, "", "a scenario file holds one YAML document; found another")
		return nil
	case !errors.Is(err, io.EOF):
		p.syntaxError(p.file, data, nil, "", err)
		return nil
	}
	if len(doc.Content) == 0 {
		p.errorf(p.file, 0, "", "empty scenario file")
		return nil
	}
	return doc.Content[0]
}

func (p *parser) scenario(sc *Scenario, root *yaml.Node) {
	m := p.mapping(root, "")
	if m == nil {
		return
	}
	if v := m.require("name"); v != nil {
		sc.Name, _ = p.nonEmpty(v, "name")
	}
	if v := m.get("description"); v != nil && !isNull(v) {
		sc.Description, _ = p.str(v, "description")
	}
	if v := m.get("seed"); v != nil {
		var seed uint64
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Decode(&seed) != nil {
			p.errAt(v, "seed", "want an integer from 0 to %d, got %s", uint64(math.MaxUint64), describe(v))
		} else {
			sc.Seed = seed
		}
	}
	durationOK := false
	if v := m.require("duration"); v != nil {
		if d, ok := p.duration(v, "duration"); ok {
			if d <= 0 {
				p.errAt(v, "duration", "must be positive")
			} else {
				sc.Duration, durationOK = d, true
			}
		}
	}
	if !durationOK {
		// Keep checking times against something: no time is beyond "forever".
		sc.Duration = time.Duration(math.MaxInt64)
	}
	if v := m.get("settings"); v != nil {
		p.settings(v, &sc.Settings)
	}
	if v := m.require("nodePools"); v != nil {
		p.nodePools(v, sc)
	}
	if v := m.get("objects"); v != nil {
		p.objects(v, sc)
	}
	if v := m.get("timeline"); v != nil {
		p.timeline(v, sc)
	}
	// After objects and timeline (it checks their Services), before the
	// expectations (which name its entries).
	if v := m.get("traffic"); v != nil {
		p.traffic(v, sc)
	}
	if v := m.get("expectations"); v != nil {
		p.expectations(v, sc)
	}
	// Top-level "x-" fields are free for YAML anchors shared by the rest of
	// the file (as in Compose files); the parser does not read them.
	for _, k := range m.order {
		if strings.HasPrefix(k, "x-") {
			m.get(k)
		}
	}
	m.done()
}

func (p *parser) settings(n *yaml.Node, s *Settings) {
	m := p.mapping(n, "settings")
	if m == nil {
		return
	}
	dist := func(key string, dst *Distribution) {
		if v := m.get(key); v != nil {
			if d, ok := p.distribution(v, m.field(key)); ok {
				*dst = d
			}
		}
	}
	positive := func(mm *mapNode, key string, dst *time.Duration) {
		if v := mm.get(key); v != nil {
			if d, ok := p.duration(v, mm.field(key)); ok {
				if d <= 0 {
					p.errAt(v, mm.field(key), "must be positive")
					return
				}
				*dst = d
			}
		}
	}
	backoff := func(key string, initial, max *time.Duration) {
		v := m.get(key)
		if v == nil {
			return
		}
		bm := p.mapping(v, m.field(key))
		if bm == nil {
			return
		}
		positive(bm, "initial", initial)
		positive(bm, "max", max)
		bm.done()
		if *initial > *max {
			p.errAt(v, m.field(key), "initial (%s) must not exceed max (%s)", FormatDuration(*initial), FormatDuration(*max))
		}
	}
	dist("apiLatency", &s.APILatency)
	dist("watchLatency", &s.WatchLatency)
	positive(m, "nodeLeaseDuration", &s.NodeLeaseDuration)
	positive(m, "nodeLeaseRenewInterval", &s.NodeLeaseRenewInterval)
	positive(m, "nodeMonitorPeriod", &s.NodeMonitorPeriod)
	positive(m, "nodeMonitorGracePeriod", &s.NodeMonitorGracePeriod)
	if v := m.get("terminatedPodGCThreshold"); v != nil {
		if n, ok := p.integer(v, m.field("terminatedPodGCThreshold"), 0, math.MaxInt32); ok {
			s.TerminatedPodGCThreshold = int32(n)
		}
	}
	if v := m.get("defaultTolerationSeconds"); v != nil {
		if n, ok := p.integer(v, m.field("defaultTolerationSeconds"), 0, math.MaxInt64); ok {
			s.DefaultTolerationSeconds = n
		}
	}
	backoff("crashLoopBackOff", &s.CrashLoopBackOffInitial, &s.CrashLoopBackOffMax)
	backoff("podBackoff", &s.PodBackoffInitial, &s.PodBackoffMax)
	positive(m, "checkInterval", &s.CheckInterval)
	if v := m.get("runtime"); v != nil {
		p.runtime(v, m.field("runtime"), &s.Runtime)
	}
	m.done()
	// Point cross-field errors at the field if it was given, else at settings.
	at := func(key string) *yaml.Node {
		if v := m.vals[key]; v != nil {
			return v
		}
		return n
	}
	if s.NodeLeaseRenewInterval >= s.NodeLeaseDuration {
		p.errAt(at("nodeLeaseRenewInterval"), "settings.nodeLeaseRenewInterval", "must be shorter than nodeLeaseDuration (%s)", FormatDuration(s.NodeLeaseDuration))
	}
	if s.NodeMonitorGracePeriod <= s.NodeLeaseRenewInterval {
		p.errAt(at("nodeMonitorGracePeriod"), "settings.nodeMonitorGracePeriod", "must be longer than nodeLeaseRenewInterval (%s), or every node flaps", FormatDuration(s.NodeLeaseRenewInterval))
	}
}

func (p *parser) runtime(n *yaml.Node, path string, rt *Runtime) {
	m := p.mapping(n, path)
	if m == nil {
		return
	}
	for _, f := range []struct {
		key string
		dst *Distribution
	}{{"imagePull", &rt.ImagePull}, {"containerStart", &rt.ContainerStart}} {
		if v := m.get(f.key); v != nil {
			if d, ok := p.distribution(v, m.field(f.key)); ok {
				*f.dst = d
			}
		}
	}
	m.done()
}

var distKinds = []DistKind{DistConstant, DistUniform, DistExponential, DistLognormal}

// distribution reads a duration (a constant) or a mapping with a
// "distribution" field and that distribution's parameters.
func (p *parser) distribution(n *yaml.Node, path string) (Distribution, bool) {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		d, ok := p.duration(n, path)
		return Constant(d), ok
	}
	m := p.mapping(n, path)
	if m == nil {
		return Distribution{}, false
	}
	kn := m.require("distribution")
	if kn == nil {
		return Distribution{}, false
	}
	kind, ok := p.str(kn, m.field("distribution"))
	if !ok {
		return Distribution{}, false
	}
	d := Distribution{Kind: DistKind(kind)}
	before := len(p.errs)
	dur := func(key string, required, positive bool, dst *time.Duration) {
		v := m.get(key)
		if v == nil {
			if required {
				m.require(key)
			}
			return
		}
		if x, ok := p.duration(v, m.field(key)); ok {
			if positive && x == 0 {
				p.errAt(v, m.field(key), "must be positive")
			}
			*dst = x
		}
	}
	switch d.Kind {
	case DistConstant:
		dur("value", true, false, &d.Value)
	case DistUniform:
		dur("min", true, false, &d.Min)
		dur("max", true, false, &d.Max)
	case DistExponential:
		dur("mean", true, true, &d.Mean)
		dur("min", false, false, &d.Min)
		dur("max", false, false, &d.Max)
	case DistLognormal:
		dur("median", true, true, &d.Median)
		if v := m.require("sigma"); v != nil {
			if s, ok := p.number(v, m.field("sigma")); ok {
				if s < 0 {
					p.errAt(v, m.field("sigma"), "must not be negative")
				}
				d.Sigma = s
			}
		}
		dur("min", false, false, &d.Min)
		dur("max", false, false, &d.Max)
	default:
		names := make([]string, len(distKinds))
		for i, k := range distKinds {
			names[i] = string(k)
		}
		p.errAt(kn, m.field("distribution"), "unknown distribution %q (want one of %s)", kind, strings.Join(names, ", "))
		return Distribution{}, false
	}
	m.done()
	if d.Max > 0 && d.Min > d.Max || d.Kind == DistUniform && d.Min > d.Max {
		p.errAt(n, path, "min (%s) must not exceed max (%s)", FormatDuration(d.Min), FormatDuration(d.Max))
	}
	return d, len(p.errs) == before
}

// maxPoolSize bounds one pool; Kubernetes itself supports 5,000 nodes.
const maxPoolSize = 100000

func (p *parser) nodePools(n *yaml.Node, sc *Scenario) {
	items, ok := p.seq(n, "nodePools")
	if ok && len(items) == 0 {
		p.errAt(n, "nodePools", "must list at least one pool")
	}
	seen := map[string]int{}
	for i, it := range items {
		path := index("nodePools", i)
		m := p.mapping(it, path)
		if m == nil {
			continue
		}
		pool := NodePool{Line: it.Line, Runtime: sc.Settings.Runtime}
		if v := m.require("name"); v != nil {
			if name, ok := p.nonEmpty(v, m.field("name")); ok {
				if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
					p.errAt(v, m.field("name"), "invalid pool name %q: %s", name, strings.Join(msgs, "; "))
				} else if first, dup := seen[name]; dup {
					p.errAt(v, m.field("name"), "duplicate pool name %q (first at line %d)", name, first)
				} else {
					seen[name] = v.Line
					pool.Name = name
				}
			}
		}
		if v := m.require("count"); v != nil {
			if c, ok := p.integer(v, m.field("count"), 1, maxPoolSize); ok {
				pool.Count = int(c)
			}
		}
		if v := m.require("capacity"); v != nil {
			var cm *mapNode
			pool.Capacity, cm = p.resourceMap(v, m.field("capacity"))
			if pool.Capacity != nil {
				for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					if !cm.has(string(r)) {
						p.errAt(v, join(m.field("capacity"), string(r)), "missing required field")
					}
				}
				if _, ok := pool.Capacity[corev1.ResourcePods]; !ok {
					pool.Capacity[corev1.ResourcePods] = resource.MustParse("110")
				}
			}
		}
		pool.Allocatable = pool.Capacity
		if v := m.get("allocatable"); v != nil {
			pool.Allocatable = p.allocatable(v, m.field("allocatable"), pool.Capacity)
		}
		if v := m.get("labels"); v != nil {
			pool.Labels = p.stringMap(v, m.field("labels"), validation.IsQualifiedName, validation.IsValidLabelValue)
		}
		if v := m.get("taints"); v != nil {
			pool.Taints = p.taints(v, m.field("taints"))
		}
		if v := m.get("runtime"); v != nil {
			p.runtime(v, m.field("runtime"), &pool.Runtime)
		}
		m.done()
		sc.NodePools = append(sc.NodePools, pool)
	}
}

func (p *parser) resources(n *yaml.Node, path string) corev1.ResourceList {
	out, _ := p.resourceMap(n, path)
	return out
}

func (p *parser) resourceMap(n *yaml.Node, path string) (corev1.ResourceList, *mapNode) {
	m := p.mapping(n, path)
	if m == nil {
		return nil, nil
	}
	out := corev1.ResourceList{}
	for _, k := range m.order {
		v := m.get(k)
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			p.errAt(m.keyNode(k), m.field(k), "invalid resource name: %s", strings.Join(msgs, "; "))
			continue
		}
		if q, ok := p.quantity(v, m.field(k)); ok {
			out[corev1.ResourceName(k)] = q
		}
	}
	return out, m
}

// allocatable reads the pool's allocatable resources: a subset of capacity,
// each at most the capacity; the rest default to the capacity.
func (p *parser) allocatable(n *yaml.Node, path string, capacity corev1.ResourceList) corev1.ResourceList {
	given, m := p.resourceMap(n, path)
	if capacity == nil || given == nil {
		return capacity
	}
	out := capacity.DeepCopy()
	// Walk in file order: map order must not reach the error list.
	for _, key := range m.order {
		name := corev1.ResourceName(key)
		q, parsed := given[name]
		if !parsed {
			continue
		}
		c, ok := capacity[name]
		switch {
		case !ok:
			p.errAt(m.keyNode(string(name)), join(path, string(name)), "not in capacity")
		case q.Cmp(c) > 0:
			p.errAt(m.vals[string(name)], join(path, string(name)), "%s exceeds capacity %s", q.String(), c.String())
		default:
			out[name] = q
		}
	}
	return out
}

var taintEffects = []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}

// taintFields reads a taint's key, value and effect from m (the effect is
// optional unless requireEffect; an untaint may leave it out).
func (p *parser) taintFields(m *mapNode, requireEffect bool) (corev1.Taint, bool) {
	var t corev1.Taint
	ok := true
	if v := m.require("key"); v != nil {
		if k, sok := p.nonEmpty(v, m.field("key")); sok {
			if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
				p.errAt(v, m.field("key"), "invalid taint key %q: %s", k, strings.Join(msgs, "; "))
				ok = false
			}
			t.Key = k
		} else {
			ok = false
		}
	} else {
		ok = false
	}
	if v := m.get("value"); v != nil {
		if s, sok := p.str(v, m.field("value")); sok {
			if msgs := validation.IsValidLabelValue(s); len(msgs) > 0 {
				p.errAt(v, m.field("value"), "invalid taint value %q: %s", s, strings.Join(msgs, "; "))
				ok = false
			}
			t.Value = s
		}
	}
	var v *yaml.Node
	if requireEffect {
		if v = m.require("effect"); v == nil {
			ok = false
		}
	} else {
		v = m.get("effect")
	}
	if v != nil {
		if s, sok := p.str(v, m.field("effect")); sok {
			t.Effect = corev1.TaintEffect(s)
			if !slices.Contains(taintEffects, t.Effect) {
				p.errAt(v, m.field("effect"), "unknown taint effect %q (want one of NoSchedule, PreferNoSchedule, NoExecute)", s)
				ok = false
			}
		} else {
			ok = false
		}
	}
	return t, ok
}

func (p *parser) taints(n *yaml.Node, path string) []corev1.Taint {
	items, _ := p.seq(n, path)
	var out []corev1.Taint
	seen := map[string]int{}
	for i, it := range items {
		f := index(path, i)
		m := p.mapping(it, f)
		if m == nil {
			continue
		}
		t, ok := p.taintFields(m, true)
		m.done()
		if !ok {
			continue
		}
		k := t.Key + ":" + string(t.Effect)
		if first, dup := seen[k]; dup {
			p.errAt(it, f, "duplicate taint %s (first at line %d)", k, first)
			continue
		}
		seen[k] = it.Line
		out = append(out, t)
	}
	return out
}

// checkNode reports an error unless node is a node of one of the pools.
func (p *parser) checkNode(sc *Scenario, n *yaml.Node, path, node string) bool {
	if sc.PoolOfNode(node) != nil {
		return true
	}
	var pools []string
	for i := range sc.NodePools {
		pl := &sc.NodePools[i]
		if pl.Count == 1 {
			pools = append(pools, pl.NodeName(0))
		} else if pl.Count > 1 {
			pools = append(pools, fmt.Sprintf("%s..%s", pl.NodeName(0), pl.NodeName(pl.Count-1)))
		}
	}
	p.errAt(n, path, "unknown node %q (nodes: %s)", node, strings.Join(pools, ", "))
	return false
}
