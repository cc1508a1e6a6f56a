package kubelet

import (
	"context"
	"math/rand/v2"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/core/events"
	"github.com/drydock-sim/drydock/core/informer"
	"github.com/drydock-sim/drydock/core/rng"
	"github.com/drydock-sim/drydock/core/workqueue"
)

// Version is the kubelet version nodes report (status.nodeInfo.kubeletVersion).
const Version = "v1.37.2-drydock"

// Kubernetes' defaults.
const (
	DefaultNodeStatusUpdateFrequency = 10 * time.Second
	DefaultNodeStatusReportFrequency = 5 * time.Minute
	DefaultLeaseDuration             = 40 * time.Second
	DefaultLeaseRenewInterval        = 10 * time.Second
	// DefaultBackOff and DefaultMaxBackOff bound the container restart and
	// image pull back-offs (kubelet's backOffPeriod and MaxContainerBackOff).
	DefaultBackOff    = 10 * time.Second
	DefaultMaxBackOff = 300 * time.Second
	// DefaultMaxPods is the pod capacity when the node template gives none.
	DefaultMaxPods = 110
)

// Config wires a Kubelet to its node and ports.
type Config struct {
	NodeName string
	Client   client.Interface
	Clock    clock.Clock
	Recorder events.Recorder // nil: events are dropped
	Runtime  cri.Runtime
	// Rand gives the node's machine and boot IDs (default: a stream named
	// after the node).
	Rand *rand.Rand
	// Node is the template registered: labels, taints, capacity,
	// allocatable (default: capacity) and addresses. May be nil.
	Node *corev1.Node

	NodeStatusUpdateFrequency time.Duration // how often status is computed (10s)
	NodeStatusReportFrequency time.Duration // how often it is written when unchanged (5m)
	LeaseDuration             time.Duration // 40s
	LeaseRenewInterval        time.Duration // 10s
	// BackOff and MaxBackOff bound restart and pull back-off (10s doubling to 5m).
	BackOff, MaxBackOff time.Duration
	// ParallelImagePulls lifts Kubernetes' default of one image pull at a
	// time per node (serializeImagePulls).
	ParallelImagePulls bool
	// WatchNode keeps a reflector on the kubelet's own Node, as Kubernetes'
	// kubelet does. Off by default: nothing here needs it (status writes
	// re-read the Node on conflict), and the API server fans Node events out
	// to every Node watch, which costs O(nodes) per Node write at scale.
	WatchNode bool
	// OnError hears failed API and runtime calls, for traces.
	OnError func(err error)
}

// Kubelet is the agent of one node. Use New, then Start.
type Kubelet struct {
	cfg    Config
	clock  clock.Clock
	client client.Interface
	rec    events.Recorder
	rt     cri.Runtime
	rtName string
	// rtStatus is the runtime's status call if it has one (nil: the runtime
	// is taken as always ready); rtState what the last calls reported.
	rtStatus cri.StatusReporter
	rtState  runtimeState
	rand     *rand.Rand
	ctx      context.Context
	running  bool
	// epoch advances on every Start and Stop, so callbacks of a previous
	// life (timers, runtime results) are recognised and dropped.
	epoch uint64

	queue   *workqueue.Queue
	podInf  *informer.Informer
	podRef  *informer.Reflector
	nodeInf *informer.Informer
	nodeRef *informer.Reflector

	pods        map[types.UID]*podState
	byKey       map[string]*podState // namespace/name -> current pod state
	byContainer map[string]*ctrState // runtime container ID -> container
	toAdmit     []*podState
	admitQueued bool
	used        resources // requests of admitted, unfinished pods
	adopt       map[string]*runtimePod

	pulls pullQueue

	capList    corev1.ResourceList // shared, never modified
	allocList  corev1.ResourceList
	node       *corev1.Node // latest known Node object
	nodeIP     string
	bootID     string
	machineID  string
	lastReport time.Time
	// statusSame is the latest Node whose status was found equal (heartbeats
	// aside) to what nodeStatus computes from it: the status loop then skips
	// recomputing for as long as the kubelet holds that same Node. Building
	// and comparing the status every 10 s on every node was the largest
	// allocator of the simulator.
	statusSame  *corev1.Node
	registered  bool
	lease       *coordinationv1.Lease
	renewal     leaseRenewal // the object every renewal sends, see tryRenewLease
	statusPod   corev1.Pod   // the object every pod status write sends
	leaseTimer  clock.Timer
	leaseFails  int
	statusTimer clock.Timer
	// leaseSpare and statusSpare are the lease and status loops' timers
	// once fired, armed again for the next tick (clock.Rearm): 360,000
	// lease and status ticks an hour at 1,000 nodes made a Timer each.
	leaseSpare, statusSpare clock.Timer
	leaseTick               func() // renewLease for this life, see Start
	statusTick              func() // the status loop's tick for this life
	regTimer                clock.Timer
	rtTimer                 clock.Timer
	rtTick                  func() // the runtime status check's tick for this life
}

// New returns a stopped kubelet.
func New(cfg Config) *Kubelet {
	if cfg.NodeStatusUpdateFrequency <= 0 {
		cfg.NodeStatusUpdateFrequency = DefaultNodeStatusUpdateFrequency
	}
	if cfg.NodeStatusReportFrequency <= 0 {
		cfg.NodeStatusReportFrequency = DefaultNodeStatusReportFrequency
	}
	if cfg.LeaseDuration <= 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.LeaseRenewInterval <= 0 {
		cfg.LeaseRenewInterval = DefaultLeaseRenewInterval
	}
	if cfg.BackOff <= 0 {
		cfg.BackOff = DefaultBackOff
	}
	if cfg.MaxBackOff <= 0 {
		cfg.MaxBackOff = DefaultMaxBackOff
	}
	if cfg.Recorder == nil {
		cfg.Recorder = events.Discard
	}
	if cfg.Rand == nil {
		cfg.Rand = rng.Stream(0, "kubelet/"+cfg.NodeName)
	}
	name, _ := cfg.Runtime.Version()
	k := &Kubelet{cfg: cfg, clock: cfg.Clock, client: cfg.Client, rec: cfg.Recorder, rt: cfg.Runtime, rtName: name, rand: cfg.Rand}
	k.rtStatus, _ = cfg.Runtime.(cri.StatusReporter)
	k.machineID = k.hexID()
	if cfg.Node != nil {
		for _, a := range cfg.Node.Status.Addresses {
			if a.Type == corev1.NodeInternalIP && k.nodeIP == "" {
				k.nodeIP = a.Address // pods' hostIP
			}
		}
	}
	return k
}

// NodeName is the node the kubelet runs.
func (k *Kubelet) NodeName() string { return k.cfg.NodeName }

// Running reports whether the kubelet is started.
func (k *Kubelet) Running() bool { return k.running }

// Start registers the node (creating it, or adopting an existing one),
// begins renewing its lease and reporting its status, takes stock of what
// the runtime still runs, and then starts watching its pods. After a Stop
// it starts afresh, as a restarted kubelet process would.
func (k *Kubelet) Start(ctx context.Context) {
	if k.running {
		return
	}
	k.running = true
	k.epoch++
	k.ctx = ctx
	k.pods = map[types.UID]*podState{}
	k.byKey = map[string]*podState{}
	k.byContainer = map[string]*ctrState{}
	k.toAdmit, k.admitQueued = nil, false
	k.used = resources{}
	k.adopt = nil
	k.pulls = pullQueue{}
	k.lease, k.leaseFails = nil, 0
	k.registered = false
	k.bootID = k.hexID()
	k.statusSame = nil
	k.queue = workqueue.New(k.clock, k.drain)
	k.rt.SetEventHandler(k.onRuntimeEvent)

	// The periodic timers' callbacks, built once per life (as after would
	// wrap them) rather than twice per tick: they run every 10 s on
	// every node.
	ep := k.epoch
	k.leaseTick = func() {
		if k.running && k.epoch == ep {
			k.leaseSpare, k.leaseTimer = k.leaseTimer, nil
			k.renewLease()
		}
	}
	k.statusTick = func() {
		if k.running && k.epoch == ep {
			k.statusSpare, k.statusTimer = k.statusTimer, nil
			if k.registered {
				k.updateNodeStatus(false)
			}
			k.scheduleStatus()
		}
	}
	if k.rtStatus != nil {
		k.rtState = runtimeState{networkErr: errNetworkUnknown}
		k.rtTick = func() {
			if k.running && k.epoch == ep {
				k.checkRuntime()
				k.rtTimer = k.clock.AfterFunc(runtimeCheckPeriod, k.rtTick)
			}
		}
		k.checkRuntime()
		k.rtTimer = k.clock.AfterFunc(runtimeCheckPeriod, k.rtTick)
	}
	k.register()
	k.renewLease()
	k.scheduleStatus()
	k.takeStock()
}

// Stop simulates the kubelet dying: timers stop, watches end, and no further
// API or runtime call is made. Calls already made to the runtime may still
// answer; their results are dropped. What the runtime runs is not touched
// (a node crash is the runtime's fault to model).
func (k *Kubelet) Stop() {
	if !k.running {
		return
	}
	k.running = false
	k.epoch++
	k.rt.SetEventHandler(nil)
	for _, t := range []clock.Timer{k.leaseTimer, k.statusTimer, k.regTimer, k.rtTimer} {
		if t != nil {
			t.Stop()
		}
	}
	k.leaseTimer, k.statusTimer, k.regTimer, k.rtTimer = nil, nil, nil, nil
	k.leaseSpare, k.statusSpare = nil, nil
	if k.podRef != nil {
		k.podRef.Stop()
	}
	if k.nodeRef != nil {
		k.nodeRef.Stop()
	}
	k.podRef, k.nodeRef, k.podInf, k.nodeInf = nil, nil, nil, nil
	k.queue.ShutDown()
	for _, ps := range k.pods {
		ps.stopTimers()
	}
	k.pods, k.byKey, k.byContainer = nil, nil, nil
}

// after runs f after d on the loop unless the kubelet stopped or restarted meanwhile.
func (k *Kubelet) after(d time.Duration, f func()) clock.Timer {
	ep := k.epoch
	return k.clock.AfterFunc(d, func() {
		if k.running && k.epoch == ep {
			f()
		}
	})
}

// live wraps a callback so that it runs only in the kubelet life that made it.
func (k *Kubelet) live() func() bool {
	ep := k.epoch
	return func() bool { return k.running && k.epoch == ep }
}

func (k *Kubelet) fail(err error) {
	if err != nil && k.cfg.OnError != nil {
		k.cfg.OnError(err)
	}
}

func (k *Kubelet) hexID() string {
	const hexdig = "0123456789abcdef"
	b := make([]byte, 32)
	for i := 0; i < 32; i += 16 {
		v := k.rand.Uint64()
		for j := 0; j < 16; j++ {
			b[i+j] = hexdig[v&15]
			v >>= 4
		}
	}
	return string(b)
}

// enqueue asks for a sync of the pod.
func (k *Kubelet) enqueue(ps *podState) {
	if k.running {
		k.queue.Add(string(ps.uid))
	}
}

func (k *Kubelet) drain() {
	for k.running {
		key, ok := k.queue.Get()
		if !ok {
			return
		}
		if ps := k.pods[types.UID(key)]; ps != nil {
			k.sync(ps)
		}
		if k.running {
			k.queue.Done(key)
		}
	}
}
