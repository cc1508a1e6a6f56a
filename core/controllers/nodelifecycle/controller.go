package nodelifecycle

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/controller"
	"github.com/drydock-sim/drydock/core/events"
	"github.com/drydock-sim/drydock/core/informer"
)

// Kubernetes' defaults (kube-controller-manager flags of the same names).
const (
	DefaultNodeMonitorPeriod      = 5 * time.Second
	DefaultNodeMonitorGracePeriod = 40 * time.Second
	DefaultNodeStartupGracePeriod = 60 * time.Second
)

// PodNodeIndex indexes pods by spec.nodeName.
const PodNodeIndex = "nodelifecycle.node"

// Config wires the controller.
type Config struct {
	Client   client.Interface
	Clock    clock.Clock
	Recorder events.Recorder
	Nodes    *informer.Informer
	Leases   *informer.Informer // leases in all namespaces (only kube-node-lease is read)
	Pods     *informer.Informer
	// NodeMonitorPeriod is how often every node's health is checked.
	NodeMonitorPeriod time.Duration
	// NodeMonitorGracePeriod is how long a node may go without a heartbeat
	// before it is marked Unknown.
	NodeMonitorGracePeriod time.Duration
	// NodeStartupGracePeriod replaces the grace period for nodes that have
	// never posted a Ready condition.
	NodeStartupGracePeriod time.Duration
}

// Controller is the node lifecycle and taint eviction controller.
type Controller struct {
	cfg Config
	// Runner reconciles nodes (key: node name).
	Runner *controller.Controller
	// PodRunner reconciles pods on troubled nodes (key: namespace/name).
	PodRunner *controller.Controller

	health map[string]*nodeHealth
	// taintSeen is when a NoExecute taint without timeAdded was first seen,
	// keyed by node, taint key and effect.
	taintSeen map[string]time.Time
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) *Controller {
	if cfg.NodeMonitorPeriod <= 0 {
		cfg.NodeMonitorPeriod = DefaultNodeMonitorPeriod
	}
	if cfg.NodeMonitorGracePeriod <= 0 {
		cfg.NodeMonitorGracePeriod = DefaultNodeMonitorGracePeriod
	}
	if cfg.NodeStartupGracePeriod <= 0 {
		cfg.NodeStartupGracePeriod = DefaultNodeStartupGracePeriod
	}
	if cfg.Recorder == nil {
		cfg.Recorder = events.Discard
	}
	c := &Controller{cfg: cfg, health: map[string]*nodeHealth{}, taintSeen: map[string]time.Time{}}
	c.Runner = controller.New("node-lifecycle", cfg.Clock, c)
	c.PodRunner = controller.New("taint-eviction", cfg.Clock, controller.ReconcilerFunc(c.ReconcilePod))

	cfg.Pods.AddIndex(PodNodeIndex, func(obj api.Object) []string {
		if n := obj.(*corev1.Pod).Spec.NodeName; n != "" {
			return []string{n}
		}
		return nil
	})
	register(cfg.Nodes, informer.Handler{
		OnAdd: func(obj api.Object) {
			n := obj.(*corev1.Node)
			c.noteTaints(nil, n)
			c.Runner.Enqueue(n.Name)
			if needsPodWork(n) {
				c.enqueuePodsOn(n.Name)
			}
		},
		OnUpdate: func(old, cur api.Object) {
			o, n := old.(*corev1.Node), cur.(*corev1.Node)
			c.noteTaints(o, n)
			c.Runner.Enqueue(n.Name)
			if needsPodWork(n) && (!needsPodWork(o) || readyStatus(o) != readyStatus(n) ||
				!sameTaints(noExecuteTaints(o), noExecuteTaints(n))) {
				c.enqueuePodsOn(n.Name)
			}
		},
		OnDelete: func(obj api.Object) {
			n := obj.(*corev1.Node)
			c.noteTaints(n, nil)
			c.Runner.Enqueue(n.Name)
		},
	})
	register(cfg.Pods, informer.Handler{
		OnAdd:    func(obj api.Object) { c.podChanged(obj.(*corev1.Pod)) },
		OnUpdate: func(_, cur api.Object) { c.podChanged(cur.(*corev1.Pod)) },
	})
	return c
}

// podChanged queues a pod only if its node currently calls for pod work, so
// ordinary pod churn on healthy nodes costs one map lookup.
func (c *Controller) podChanged(p *corev1.Pod) {
	if p.Spec.NodeName == "" || p.DeletionTimestamp != nil {
		return
	}
	obj, ok := c.cfg.Nodes.Get("", p.Spec.NodeName)
	if !ok || !needsPodWork(obj.(*corev1.Node)) {
		return
	}
	c.PodRunner.Enqueue(informer.Key(p))
}

func (c *Controller) enqueuePodsOn(node string) {
	for _, p := range c.cfg.Pods.ByIndex(PodNodeIndex, node) {
		c.PodRunner.Enqueue(informer.Key(p))
	}
}

// needsPodWork: pods on this node may have to be marked not ready or evicted.
func needsPodWork(n *corev1.Node) bool {
	if s := readyStatus(n); s != "" && s != corev1.ConditionTrue {
		return true
	}
	return len(noExecuteTaints(n)) > 0
}

// noteTaints keeps taintSeen in step with the NoExecute taints that lack a
// timeAdded, so their toleration timers have a stable start.
func (c *Controller) noteTaints(old, cur *corev1.Node) {
	if old != nil {
		keep := map[string]bool{}
		if cur != nil {
			for _, t := range noExecuteTaints(cur) {
				keep[seenKey(cur.Name, t)] = true
			}
		}
		for _, t := range noExecuteTaints(old) {
			if k := seenKey(old.Name, t); !keep[k] {
				delete(c.taintSeen, k)
			}
		}
	}
	if cur != nil {
		for _, t := range noExecuteTaints(cur) {
			if k := seenKey(cur.Name, t); t.TimeAdded == nil {
				if _, ok := c.taintSeen[k]; !ok {
					c.taintSeen[k] = c.cfg.Clock.Now()
				}
			}
		}
	}
}

func seenKey(node string, t corev1.Taint) string {
	return node + "\x00" + t.Key + "\x00" + string(t.Effect)
}

// register adds h to inf and replays what inf already holds as adds, so a
// controller built after its informers synced still sees every object.
func register(inf *informer.Informer, h informer.Handler) {
	inf.AddHandler(h)
	if h.OnAdd != nil {
		for _, obj := range inf.List() {
			h.OnAdd(obj)
		}
	}
}
