package scenario

import (
	"math"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/validation"
)

func (p *parser) objects(n *yaml.Node, sc *Scenario) {
	items, _ := p.seq(n, "objects")
	seen := map[string]Manifest{}
	for i, it := range items {
		path := index("objects", i)
		m := p.mapping(it, path)
		if m == nil {
			continue
		}
		ms := p.manifestSource(m, path)
		m.done()
		for _, mf := range ms {
			key, named := objectKey(mf)
			if first, dup := seen[key]; dup && named {
				p.errorf(mf.File, mf.Line, "", "duplicate object %s (first at %s:%d)", key, first.File, first.Line)
				continue
			}
			seen[key] = mf
			sc.Objects = append(sc.Objects, mf)
		}
	}
}

// objectKey identifies an object as "Kind namespace/name"; named is false
// for objects with only a generateName.
func objectKey(mf Manifest) (key string, named bool) {
	acc, err := meta.Accessor(mf.Object)
	if err != nil || acc.GetName() == "" {
		return "", false
	}
	ns := acc.GetNamespace()
	if ns == "" {
		ns = "default"
	}
	return mf.GVK.Kind + " " + ns + "/" + acc.GetName(), true
}

// targetKind is a kind an action may target, with the names kubectl knows
// it by.
type targetKind struct {
	names      []string
	apiVersion string
	kind       string
	namespaced bool
}

var targetKinds = []targetKind{
	{[]string{"deployment", "deployments", "deploy"}, "apps/v1", "Deployment", true},
	{[]string{"replicaset", "replicasets", "rs"}, "apps/v1", "ReplicaSet", true},
	{[]string{"statefulset", "statefulsets", "sts"}, "apps/v1", "StatefulSet", true},
	{[]string{"daemonset", "daemonsets", "ds"}, "apps/v1", "DaemonSet", true},
	{[]string{"job", "jobs"}, "batch/v1", "Job", true},
	{[]string{"pod", "pods", "po"}, "v1", "Pod", true},
	{[]string{"service", "services", "svc"}, "v1", "Service", true},
	{[]string{"configmap", "configmaps", "cm"}, "v1", "ConfigMap", true},
	{[]string{"secret", "secrets"}, "v1", "Secret", true},
	{[]string{"poddisruptionbudget", "poddisruptionbudgets", "pdb"}, "policy/v1", "PodDisruptionBudget", true},
	{[]string{"namespace", "namespaces", "ns"}, "v1", "Namespace", false},
	{[]string{"priorityclass", "priorityclasses", "pc"}, "scheduling.k8s.io/v1", "PriorityClass", false},
	{[]string{"node", "nodes", "no"}, "v1", "Node", false},
}

func lookupTargetKind(name string) (targetKind, bool) {
	name = strings.ToLower(name)
	for _, tk := range targetKinds {
		for _, n := range tk.names {
			if n == name {
				return tk, true
			}
		}
	}
	return targetKind{}, false
}

// pendingAction is an action with the nodes that later, cross-entry checks
// point their errors at.
type pendingAction struct {
	a         Action
	node      *yaml.Node // the node field
	target    *yaml.Node // the target field
	container *yaml.Node // setImage's container field
}

func (p *parser) timeline(n *yaml.Node, sc *Scenario) {
	items, _ := p.seq(n, "timeline")
	var pending []pendingAction
	for i, it := range items {
		if pa, ok := p.action(it, i, sc); ok {
			pending = append(pending, pa)
		}
	}
	sort.SliceStable(pending, func(i, j int) bool { return pending[i].a.At < pending[j].a.At })
	p.checkTimeline(pending, sc)
	for _, pa := range pending {
		sc.Timeline = append(sc.Timeline, pa.a)
	}
}

func actionNames() string {
	names := make([]string, len(ActionKinds))
	for i, k := range ActionKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

func (p *parser) action(it *yaml.Node, i int, sc *Scenario) (pendingAction, bool) {
	path := index("timeline", i)
	m := p.mapping(it, path)
	if m == nil {
		return pendingAction{}, false
	}
	before := len(p.errs)
	pa := pendingAction{a: Action{Index: i, Line: it.Line}}
	if v := m.require("at"); v != nil {
		if d, ok := p.duration(v, m.field("at")); ok {
			if d > sc.Duration {
				p.errAt(v, m.field("at"), "%s is after the end of the scenario (duration %s)", FormatDuration(d), FormatDuration(sc.Duration))
			}
			pa.a.At = d
		}
	}
	kv := m.require("action")
	if kv == nil {
		return pendingAction{}, false
	}
	kind, ok := p.str(kv, m.field("action"))
	if !ok {
		return pendingAction{}, false
	}
	pa.a.Kind = ActionKind(kind)
	node := func() {
		if v := m.require("node"); v != nil {
			if name, ok := p.nonEmpty(v, m.field("node")); ok && p.checkNode(sc, v, m.field("node"), name) {
				pa.a.Node, pa.node = name, v
			}
		}
	}
	switch pa.a.Kind {
	case ActionApply:
		pa.a.Objects = p.manifestSource(m, path)
	case ActionDelete:
		pa.a.Target, pa.target = p.target(m, sc, pa.a.Kind, nil)
	case ActionScale:
		pa.a.Target, pa.target = p.target(m, sc, pa.a.Kind, []string{"Deployment", "ReplicaSet", "StatefulSet"})
		if v := m.require("replicas"); v != nil {
			if r, ok := p.integer(v, m.field("replicas"), 0, math.MaxInt32); ok {
				pa.a.Replicas = int32(r)
			}
		}
	case ActionCrashNode, ActionRestoreNode, ActionPartitionNode, ActionHealNode, ActionCordon, ActionUncordon, ActionDrain:
		node()
	case ActionTaint, ActionUntaint:
		node()
		pa.a.Taint, _ = p.taintFields(m, pa.a.Kind == ActionTaint)
	case ActionRolloutUndo:
		pa.a.Target, pa.target = p.target(m, sc, pa.a.Kind, []string{"Deployment"})
	case ActionSetImage:
		pa.a.Target, pa.target = p.target(m, sc, pa.a.Kind, []string{"Deployment"})
		if v := m.require("container"); v != nil {
			pa.a.Container, _ = p.nonEmpty(v, m.field("container"))
			pa.container = v
		}
		if v := m.require("image"); v != nil {
			pa.a.Image, _ = p.nonEmpty(v, m.field("image"))
		}
	default:
		p.errAt(kv, m.field("action"), "unknown action %q (want one of %s)", kind, actionNames())
		// Without a known action the other fields cannot be judged.
		return pendingAction{}, false
	}
	m.done()
	return pa, len(p.errs) == before
}

// target reads the target ("kind/name") and namespace fields of m. allowed
// restricts the kinds (nil: any known kind).
func (p *parser) target(m *mapNode, sc *Scenario, action ActionKind, allowed []string) (ObjectRef, *yaml.Node) {
	var ref ObjectRef
	nsNode := m.get("namespace")
	v := m.require("target")
	if v == nil {
		return ref, nil
	}
	f := m.field("target")
	s, ok := p.nonEmpty(v, f)
	if !ok {
		return ref, v
	}
	kindName, name, found := strings.Cut(s, "/")
	if !found || kindName == "" || name == "" {
		p.errAt(v, f, "invalid target %q (want kind/name, e.g. deployment/web)", s)
		return ref, v
	}
	tk, ok := lookupTargetKind(kindName)
	if !ok {
		var names []string
		for _, t := range targetKinds {
			names = append(names, t.names[0])
		}
		p.errAt(v, f, "unknown kind %q (want one of %s)", kindName, strings.Join(names, ", "))
		return ref, v
	}
	if allowed != nil && !contains(allowed, tk.kind) {
		low := make([]string, len(allowed))
		for i, a := range allowed {
			low[i] = strings.ToLower(a)
		}
		p.errAt(v, f, "%s cannot target a %s (want %s)", action, tk.kind, strings.Join(low, " or "))
		return ref, v
	}
	if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		p.errAt(v, f, "invalid name %q: %s", name, strings.Join(msgs, "; "))
		return ref, v
	}
	ref = ObjectRef{APIVersion: tk.apiVersion, Kind: tk.kind, Name: name}
	if tk.kind == "Node" {
		p.checkNode(sc, v, f, name)
	}
	if tk.namespaced {
		ref.Namespace = "default"
	}
	if nsNode != nil {
		nf := m.field("namespace")
		ns, ok := p.nonEmpty(nsNode, nf)
		switch {
		case !ok:
		case !tk.namespaced:
			p.errAt(nsNode, nf, "%s is cluster-scoped and has no namespace", tk.kind)
		case len(validation.IsDNS1123Label(ns)) > 0:
			p.errAt(nsNode, nf, "invalid namespace %q: %s", ns, strings.Join(validation.IsDNS1123Label(ns), "; "))
		default:
			ref.Namespace = ns
		}
	}
	return ref, v
}

// checkTimeline walks the actions in time order and checks what depends on
// earlier entries: node faults come in pairs, and deployments that actions
// refer to exist at that time with the named container.
func (p *parser) checkTimeline(pending []pendingAction, sc *Scenario) {
	type nodeState struct{ crashed, partitioned int } // line of the fault; 0 if none
	nodes := map[string]*nodeState{}
	deployments := map[string]*appsv1.Deployment{}
	addDeployments := func(ms []Manifest) {
		for _, mf := range ms {
			if d, ok := mf.Object.(*appsv1.Deployment); ok && d.Name != "" {
				ns := d.Namespace
				if ns == "" {
					ns = "default"
				}
				deployments[ns+"/"+d.Name] = d
			}
		}
	}
	addDeployments(sc.Objects)
	for i := range pending {
		pa := &pending[i]
		a := &pa.a
		at := FormatDuration(a.At)
		field := func(name string) string { return join(index("timeline", a.Index), name) }
		if pa.node != nil {
			st := nodes[a.Node]
			if st == nil {
				st = &nodeState{}
				nodes[a.Node] = st
			}
			switch a.Kind {
			case ActionCrashNode:
				if st.crashed != 0 {
					p.errAt(pa.node, field("node"), "node %s is already crashed at %s (crashNode at line %d)", a.Node, at, st.crashed)
				}
				st.crashed = pa.node.Line
			case ActionRestoreNode:
				if st.crashed == 0 {
					p.errAt(pa.node, field("node"), "node %s is not crashed at %s (restoreNode follows crashNode)", a.Node, at)
				}
				st.crashed = 0
			case ActionPartitionNode:
				if st.partitioned != 0 {
					p.errAt(pa.node, field("node"), "node %s is already partitioned at %s (partitionNode at line %d)", a.Node, at, st.partitioned)
				}
				st.partitioned = pa.node.Line
			case ActionHealNode:
				if st.partitioned == 0 {
					p.errAt(pa.node, field("node"), "node %s is not partitioned at %s (healNode follows partitionNode)", a.Node, at)
				}
				st.partitioned = 0
			}
		}
		if a.Kind == ActionApply {
			addDeployments(a.Objects)
		}
		if pa.target == nil || a.Target.Kind != "Deployment" {
			continue
		}
		key := a.Target.Namespace + "/" + a.Target.Name
		d := deployments[key]
		if d == nil {
			p.errAt(pa.target, field("target"), "deployment %s does not exist at %s (create it in objects or an earlier apply)", key, at)
			continue
		}
		if a.Kind == ActionDelete {
			delete(deployments, key)
		}
		if a.Kind == ActionSetImage && a.Container != "" {
			names := containerNames(&d.Spec.Template.Spec)
			if !contains(names, a.Container) {
				p.errAt(pa.container, field("container"), "no container %q in deployment %s (containers: %s)", a.Container, key, strings.Join(names, ", "))
			}
		}
	}
}
