package podgc

import (
	"context"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/controller"
	"github.com/drydock-sim/drydock/core/informer"
)

// Kubernetes' values: gcCheckPeriod and quarantineTime of pkg/controller/podgc,
// and the default of kube-controller-manager's --terminated-pod-gc-threshold.
const (
	DefaultGCCheckPeriod          = 20 * time.Second
	DefaultQuarantineTime         = 40 * time.Second
	DefaultTerminatedPodThreshold = 12500
)

// Index names this controller registers.
const (
	// PodStateIndex files pods under stateTerminated and
	// stateUnscheduledTerminating.
	PodStateIndex = "podgc.state"
	// NodeOutOfServiceIndex files nodes with the out-of-service taint under
	// "true".
	NodeOutOfServiceIndex = "podgc.outOfService"
	// PodNodeIndex indexes pods by spec.nodeName when Config.PodNodeIndex
	// names no existing index.
	PodNodeIndex = "podgc.node"
)

const (
	stateTerminated             = "terminated"
	stateUnscheduledTerminating = "unscheduledTerminating"
)

// Index values, shared so the index functions do not allocate.
var (
	valTerminated   = []string{stateTerminated}
	valUnscheduled  = []string{stateUnscheduledTerminating}
	valBoth         = []string{stateTerminated, stateUnscheduledTerminating}
	valOutOfService = []string{"true"}
)

// Config wires the controller.
type Config struct {
	Client client.Interface
	Clock  clock.Clock
	Pods   *informer.Informer
	Nodes  *informer.Informer
	// TerminatedPodThreshold is how many terminal pods may exist before
	// the oldest are deleted; 0 or less turns that pass off (as
	// --terminated-pod-gc-threshold does). There is no defaulting here:
	// callers pass DefaultTerminatedPodThreshold for Kubernetes' value.
	TerminatedPodThreshold int
	// GCCheckPeriod and QuarantineTime: zero means Kubernetes' 20s and 40s.
	GCCheckPeriod  time.Duration
	QuarantineTime time.Duration
	// PodNodeIndex names an index of Pods by spec.nodeName that another
	// component already keeps on the same informer; empty registers one.
	PodNodeIndex string
	// Log hears the log lines Kubernetes' PodGC writes at Info (nil:
	// none), as a message and key/value pairs.
	Log func(msg string, keysAndValues ...any)
}

// Controller is the pod garbage collector.
type Controller struct {
	cfg Config
	// Runner reconciles the single key "gc" once every GCCheckPeriod.
	Runner *controller.Controller
	// Passes counts gc passes made with synced caches.
	Passes int

	// suspects are node names that pods are bound to and that the node
	// cache did not have when last looked at; each pass drops those that
	// have since appeared or have no pods left.
	suspects map[string]struct{}
	// quarantine holds when a suspect is next looked up through the API.
	quarantine map[string]time.Time
	// handled are the pods (by key) acted on in the current pass.
	handled map[string]bool
}

// gcKey is the runner's only key.
const gcKey = "gc"

// New builds the controller, registers its indexes and handlers, and
// queues the first pass.
func New(cfg Config) *Controller {
	if cfg.GCCheckPeriod <= 0 {
		cfg.GCCheckPeriod = DefaultGCCheckPeriod
	}
	if cfg.QuarantineTime <= 0 {
		cfg.QuarantineTime = DefaultQuarantineTime
	}
	if cfg.PodNodeIndex == "" {
		cfg.PodNodeIndex = PodNodeIndex
		cfg.Pods.AddIndex(PodNodeIndex, func(obj api.Object) []string {
			if n := obj.(*corev1.Pod).Spec.NodeName; n != "" {
				return []string{n}
			}
			return nil
		})
	}
	c := &Controller{cfg: cfg, suspects: map[string]struct{}{}, quarantine: map[string]time.Time{}}
	c.Runner = controller.New("pod-garbage-collector", cfg.Clock, c)

	cfg.Pods.AddIndex(PodStateIndex, podState)
	cfg.Nodes.AddIndex(NodeOutOfServiceIndex, func(obj api.Object) []string {
		if hasOutOfServiceTaint(obj.(*corev1.Node)) {
			return valOutOfService
		}
		return nil
	})
	podHandler := informer.Handler{
		OnAdd: func(obj api.Object) { c.podBound(obj.(*corev1.Pod).Spec.NodeName) },
		OnUpdate: func(old, cur api.Object) {
			if n := cur.(*corev1.Pod).Spec.NodeName; n != old.(*corev1.Pod).Spec.NodeName {
				c.podBound(n)
			}
		},
	}
	cfg.Pods.AddHandler(podHandler)
	for _, obj := range cfg.Pods.List() {
		podHandler.OnAdd(obj)
	}
	cfg.Nodes.AddHandler(informer.Handler{
		OnDelete: func(obj api.Object) {
			if name := obj.GetName(); cfg.Pods.CountByIndex(cfg.PodNodeIndex, name) > 0 {
				c.suspects[name] = struct{}{}
			}
		},
	})
	c.Runner.Enqueue(gcKey)
	return c
}

// podState is the PodStateIndex function.
func podState(obj api.Object) []string {
	p := obj.(*corev1.Pod)
	term := isTerminated(p)
	unsched := p.DeletionTimestamp != nil && p.Spec.NodeName == ""
	switch {
	case term && unsched:
		return valBoth
	case term:
		return valTerminated
	case unsched:
		return valUnscheduled
	}
	return nil
}

// isTerminated is Kubernetes' isPodTerminated: any phase but Pending,
// Running and Unknown.
func isTerminated(p *corev1.Pod) bool {
	switch p.Status.Phase {
	case corev1.PodPending, corev1.PodRunning, corev1.PodUnknown:
		return false
	}
	return true
}

func hasOutOfServiceTaint(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == corev1.TaintNodeOutOfService {
			return true
		}
	}
	return false
}

// isReady is Kubernetes' IsNodeReady: the Ready condition is True.
func isReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podBound notes a pod bound to node; a node the cache lacks becomes a
// suspect. Only adds and binding changes come here: a node deleted under
// bound pods is caught by the node handler.
func (c *Controller) podBound(node string) {
	if node == "" {
		return
	}
	if _, ok := c.suspects[node]; ok {
		return
	}
	if _, ok := c.cfg.Nodes.Get("", node); !ok {
		c.suspects[node] = struct{}{}
	}
}

// Reconcile is one gc pass; it always comes back after GCCheckPeriod.
// Failures of single pods are reported through the runner's OnError and
// wait for the next pass, as Kubernetes' loop does.
func (c *Controller) Reconcile(ctx context.Context, _ string) (controller.Result, error) {
	next := controller.Result{RequeueAfter: c.cfg.GCCheckPeriod}
	if !c.cfg.Pods.HasSynced() || !c.cfg.Nodes.HasSynced() {
		return next, nil
	}
	c.Passes++
	c.handled = nil
	if c.cfg.TerminatedPodThreshold > 0 {
		c.gcTerminated(ctx)
	}
	c.gcTerminating(ctx)
	c.gcOrphaned(ctx)
	c.gcUnscheduledTerminating(ctx)
	c.handled = nil
	return next, nil
}

// gcTerminated deletes the terminal pods above the threshold.
func (c *Controller) gcTerminated(ctx context.Context) {
	excess := c.cfg.Pods.CountByIndex(PodStateIndex, stateTerminated) - c.cfg.TerminatedPodThreshold
	if excess <= 0 {
		return
	}
	pods := pods(c.cfg.Pods.ByIndex(PodStateIndex, stateTerminated))
	c.log("Garbage collecting pods", "numPods", excess)
	sortForDeletion(pods)
	for _, p := range pods[:excess] {
		c.forceDelete(ctx, p, nil, "")
	}
}

// gcTerminating force-deletes terminating pods on nodes that are not Ready
// and carry the out-of-service taint.
func (c *Controller) gcTerminating(ctx context.Context) {
	var doomed []*corev1.Pod
	for _, obj := range c.cfg.Nodes.ByIndexShared(NodeOutOfServiceIndex, "true") {
		n := obj.(*corev1.Node)
		if isReady(n) {
			continue
		}
		for _, o := range c.cfg.Pods.ByIndexShared(c.cfg.PodNodeIndex, n.Name) {
			if p := o.(*corev1.Pod); p.DeletionTimestamp != nil {
				doomed = append(doomed, p)
			}
		}
	}
	sortForDeletion(doomed)
	for _, p := range doomed {
		c.forceDelete(ctx, p, nil, "")
	}
}

// orphanCondition is the condition Kubernetes gives pods of a deleted node.
var orphanCondition = corev1.PodCondition{
	Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
	Reason: "DeletionByPodGC", Message: "PodGC: node no longer exists",
}

// gcOrphaned quarantines nodes that pods are bound to but the cache lacks,
// asks the API about those whose quarantine is over, and force-deletes the
// pods of the ones it does not know.
func (c *Controller) gcOrphaned(ctx context.Context) {
	if len(c.suspects) == 0 {
		return
	}
	now := c.cfg.Clock.Now()
	names := make([]string, 0, len(c.suspects))
	for n := range c.suspects {
		names = append(names, n)
	}
	sort.Strings(names)
	var gone []string
	for _, name := range names {
		_, cached := c.cfg.Nodes.Get("", name)
		if cached || c.cfg.Pods.CountByIndex(c.cfg.PodNodeIndex, name) == 0 {
			delete(c.suspects, name)
			delete(c.quarantine, name)
			continue
		}
		at, ok := c.quarantine[name]
		if !ok {
			c.quarantine[name] = now.Add(c.cfg.QuarantineTime)
			continue
		}
		if at.After(now) {
			continue
		}
		// Looked up again after another quarantine if it stays missing
		// from the cache (Kubernetes re-adds it to its delaying queue).
		c.quarantine[name] = now.Add(c.cfg.QuarantineTime)
		exists, err := c.nodeExists(ctx, name)
		switch {
		case err != nil:
			c.report(err)
		case !exists:
			gone = append(gone, name)
		}
	}
	for _, name := range gone {
		for _, o := range c.cfg.Pods.ByIndex(c.cfg.PodNodeIndex, name) {
			cond := orphanCondition
			c.forceDelete(ctx, o.(*corev1.Pod), &cond, "Forced deletion of orphaned Pod succeeded")
		}
	}
}

// nodeExists asks the API, not the cache.
func (c *Controller) nodeExists(ctx context.Context, name string) (bool, error) {
	_, err := c.cfg.Client.Get(ctx, api.Nodes, "", name)
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// gcUnscheduledTerminating force-deletes terminating pods that were never
// bound to a node.
func (c *Controller) gcUnscheduledTerminating(ctx context.Context) {
	if c.cfg.Pods.CountByIndex(PodStateIndex, stateUnscheduledTerminating) == 0 {
		return
	}
	for _, o := range c.cfg.Pods.ByIndex(PodStateIndex, stateUnscheduledTerminating) {
		c.forceDelete(ctx, o.(*corev1.Pod), nil, "Forced deletion of unscheduled terminating Pod succeeded")
	}
}

func pods(objs []api.Object) []*corev1.Pod {
	out := make([]*corev1.Pod, len(objs))
	for i, o := range objs {
		out[i] = o.(*corev1.Pod)
	}
	return out
}

// sortForDeletion orders pods as Kubernetes' byEvictionAndCreationTimestamp
// does: evicted pods first, then by creationTimestamp, then name (and
// namespace, so the order never depends on the input's).
func sortForDeletion(ps []*corev1.Pod) {
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if ea, eb := isEvicted(a), isEvicted(b); ea != eb {
			return ea
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Namespace < b.Namespace
	})
}

// isEvicted: the kubelet's eviction manager failed the pod.
func isEvicted(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted"
}

func (c *Controller) report(err error) {
	if c.Runner.OnError != nil {
		c.Runner.OnError(c.Runner.Name, gcKey, err)
	}
}

func (c *Controller) log(msg string, kv ...any) {
	if c.cfg.Log != nil {
		c.cfg.Log(msg, kv...)
	}
}
