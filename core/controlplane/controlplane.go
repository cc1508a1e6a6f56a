// Package controlplane assembles the control-plane components that run
// beside the API server — the scheduler and the controller manager's
// controllers — over one set of shared informers. The simulator and real
// mode both use it, so the same components run in both worlds.
package controlplane

import (
	"context"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/controller"
	"github.com/drydock-sim/drydock/core/controllers/deployment"
	"github.com/drydock-sim/drydock/core/controllers/endpoints"
	"github.com/drydock-sim/drydock/core/controllers/eventttl"
	"github.com/drydock-sim/drydock/core/controllers/gc"
	"github.com/drydock-sim/drydock/core/controllers/namespace"
	"github.com/drydock-sim/drydock/core/controllers/nodeipam"
	"github.com/drydock-sim/drydock/core/controllers/nodelifecycle"
	"github.com/drydock-sim/drydock/core/controllers/podgc"
	"github.com/drydock-sim/drydock/core/controllers/replicaset"
	"github.com/drydock-sim/drydock/core/events"
	"github.com/drydock-sim/drydock/core/informer"
	"github.com/drydock-sim/drydock/core/scheduler"
)

// Config wires the control plane to its ports.
type Config struct {
	Client client.Interface
	Clock  clock.Clock
	// Rand is the scheduler's random stream (score ties).
	Rand *rand.Rand
	// PercentageOfNodesToScore as kube-scheduler's (0: adaptive).
	PercentageOfNodesToScore int32
	// Node lifecycle timings; zero means Kubernetes' defaults (5s, 40s).
	NodeMonitorPeriod      time.Duration
	NodeMonitorGracePeriod time.Duration
	// Recorder makes the event recorder of a component; default: events
	// written through Client.
	Recorder func(component string) events.Recorder
	// DecisionSink receives every scheduling attempt (for the dashboard).
	DecisionSink func(scheduler.Decision)
	// OnError hears reconcile and watch failures.
	OnError func(component string, err error)
	// Log hears the log lines components write at Info, as a message and
	// key/value pairs (nil: none). Only the pod garbage collector writes
	// any: it records no Events in Kubernetes either.
	Log func(component, msg string, keysAndValues ...any)
	// TerminatedPodGCThreshold is kube-controller-manager's
	// --terminated-pod-gc-threshold: how many terminated pods may exist
	// before the pod garbage collector deletes the oldest. nil: Kubernetes'
	// 12500; 0 or less turns that pass off (the collector's other passes
	// still run).
	TerminatedPodGCThreshold *int32
	// ClusterCIDR turns on the node IPAM controller (kube-controller-manager's
	// --allocate-node-cidrs with --cluster-cidr): Nodes get spec.podCIDR(s)
	// from it. Empty (the simulator): no pod CIDRs are allocated. Check the
	// value with nodeipam.ParseCIDRs first: New reports a bad one through
	// OnError and runs without the controller.
	ClusterCIDR string
	// Node CIDR mask sizes (0: 24 for IPv4, 64 for IPv6).
	NodeCIDRMaskSizeIPv4 int
	NodeCIDRMaskSizeIPv6 int
	// ServiceCIDR is kept out of the pod CIDR pool where it overlaps.
	ServiceCIDR string
}

// ControlPlane is the running set of components.
type ControlPlane struct {
	cfg        Config
	Informers  map[*api.Resource]*informer.Informer
	reflectors []*informer.Reflector

	Scheduler     *scheduler.Scheduler
	ReplicaSets   *replicaset.Controller
	Deployments   *deployment.Controller
	NodeLifecycle *nodelifecycle.Controller
	Endpoints     *endpoints.Controller
	GC            *gc.Controller
	Namespaces    *namespace.Controller
	EventTTL      *eventttl.Controller
	PodGC         *podgc.Controller
	// NodeIPAM is nil unless Config.ClusterCIDR is set.
	NodeIPAM *nodeipam.Controller

	scheduling bool // a ScheduleOne drain is queued on the loop
}

// watched lists the resources the control plane caches.
var watched = []*api.Resource{api.Namespaces, api.Nodes, api.Pods, api.Services, api.Endpoints,
	api.ReplicaSets, api.Deployments, api.Leases, api.Events}

// New builds the components; Start begins watching.
func New(cfg Config) *ControlPlane {
	cp := &ControlPlane{cfg: cfg, Informers: map[*api.Resource]*informer.Informer{}}
	if cfg.Recorder == nil {
		cfg.Recorder = func(component string) events.Recorder {
			return &events.APIRecorder{Client: cfg.Client, Clock: cfg.Clock, Component: component}
		}
		cp.cfg.Recorder = cfg.Recorder
	}
	for _, r := range watched {
		cp.Informers[r] = informer.New(r)
	}
	inf := cp.Informers
	cp.Scheduler = scheduler.New(scheduler.Config{
		Clock: cfg.Clock, Rand: cfg.Rand, PercentageOfNodesToScore: cfg.PercentageOfNodesToScore,
		Binder: &binder{c: cfg.Client}, Recorder: cfg.Recorder("default-scheduler"),
		DecisionSink: cfg.DecisionSink, Wake: cp.wakeScheduler,
	})
	cp.wireScheduler()
	cp.ReplicaSets = replicaset.New(replicaset.Config{Client: cfg.Client, Clock: cfg.Clock,
		Recorder: cfg.Recorder("replicaset-controller"), Pods: inf[api.Pods], ReplicaSets: inf[api.ReplicaSets], Deployments: inf[api.Deployments]})
	cp.Deployments = deployment.New(deployment.Config{Client: cfg.Client, Clock: cfg.Clock,
		Recorder: cfg.Recorder("deployment-controller"), Pods: inf[api.Pods], ReplicaSets: inf[api.ReplicaSets], Deployments: inf[api.Deployments]})
	cp.NodeLifecycle = nodelifecycle.New(nodelifecycle.Config{Client: cfg.Client, Clock: cfg.Clock,
		Recorder: cfg.Recorder("node-controller"), Nodes: inf[api.Nodes], Leases: inf[api.Leases], Pods: inf[api.Pods],
		NodeMonitorPeriod: cfg.NodeMonitorPeriod, NodeMonitorGracePeriod: cfg.NodeMonitorGracePeriod})
	threshold := podgc.DefaultTerminatedPodThreshold
	if cfg.TerminatedPodGCThreshold != nil {
		threshold = int(*cfg.TerminatedPodGCThreshold)
	}
	var gcLog func(msg string, kv ...any)
	if cfg.Log != nil {
		gcLog = func(msg string, kv ...any) { cfg.Log("pod-garbage-collector", msg, kv...) }
	}
	// PodGC shares the node lifecycle controller's pods-by-node index.
	cp.PodGC = podgc.New(podgc.Config{Client: cfg.Client, Clock: cfg.Clock, Pods: inf[api.Pods], Nodes: inf[api.Nodes],
		TerminatedPodThreshold: threshold, PodNodeIndex: nodelifecycle.PodNodeIndex, Log: gcLog})
	cp.Endpoints = endpoints.New(endpoints.Config{Client: cfg.Client, Clock: cfg.Clock,
		Recorder: cfg.Recorder("endpoint-controller"), Services: inf[api.Services], Pods: inf[api.Pods], Endpoints: inf[api.Endpoints]})
	cp.GC = gc.New(gc.Config{Client: cfg.Client, Clock: cfg.Clock, Recorder: cfg.Recorder("garbage-collector"),
		Informers: []*informer.Informer{inf[api.Pods], inf[api.ReplicaSets], inf[api.Deployments], inf[api.Services], inf[api.Endpoints], inf[api.Nodes]}})
	cp.Namespaces = namespace.New(namespace.Config{Client: cfg.Client, Clock: cfg.Clock,
		Recorder: cfg.Recorder("namespace-controller"), Namespaces: inf[api.Namespaces]})
	cp.EventTTL = eventttl.New(eventttl.Config{Client: cfg.Client, Clock: cfg.Clock,
		Recorder: events.Discard, Events: inf[api.Events]})
	if cfg.ClusterCIDR != "" {
		ipam, err := nodeipam.New(nodeipam.Config{Client: cfg.Client, Clock: cfg.Clock, Recorder: cfg.Recorder("cidrAllocator"),
			Nodes: inf[api.Nodes], ClusterCIDR: cfg.ClusterCIDR, ServiceCIDR: cfg.ServiceCIDR,
			NodeCIDRMaskSizeIPv4: cfg.NodeCIDRMaskSizeIPv4, NodeCIDRMaskSizeIPv6: cfg.NodeCIDRMaskSizeIPv6})
		if err != nil {
			if cfg.OnError != nil {
				cfg.OnError("nodeipam", err)
			}
		} else {
			cp.NodeIPAM = ipam
		}
	}
	if cfg.OnError != nil {
		for _, c := range cp.runners() {
			c.OnError = func(name, key string, err error) { cfg.OnError(name, err) }
		}
	}
	return cp
}

// Start lists and watches every cached resource.
func (cp *ControlPlane) Start(ctx context.Context) {
	for _, r := range watched {
		ref := &informer.Reflector{Client: cp.cfg.Client, Informer: cp.Informers[r], Clock: cp.cfg.Clock}
		if cp.cfg.OnError != nil {
			name := r.Name
			ref.OnError = func(err error) { cp.cfg.OnError("reflector/"+name, err) }
		}
		cp.reflectors = append(cp.reflectors, ref)
		ref.Start(ctx)
	}
}

// Stop ends the watches.
func (cp *ControlPlane) Stop() {
	for _, r := range cp.reflectors {
		r.Stop()
	}
}

// wireScheduler feeds the scheduler from the shared node and pod caches.
func (cp *ControlPlane) wireScheduler() {
	s := cp.Scheduler
	cp.Informers[api.Nodes].AddHandler(informer.Handler{
		OnAdd:    func(o api.Object) { s.AddNode(o.(*corev1.Node)); cp.wakeScheduler() },
		OnUpdate: func(old, cur api.Object) { s.UpdateNode(old.(*corev1.Node), cur.(*corev1.Node)); cp.wakeScheduler() },
		OnDelete: func(o api.Object) { s.DeleteNode(o.(*corev1.Node)) },
	})
	cp.Informers[api.Pods].AddHandler(informer.Handler{
		OnAdd:    func(o api.Object) { s.AddPod(o.(*corev1.Pod)); cp.wakeScheduler() },
		OnUpdate: func(old, cur api.Object) { s.UpdatePod(old.(*corev1.Pod), cur.(*corev1.Pod)); cp.wakeScheduler() },
		OnDelete: func(o api.Object) { s.DeletePod(o.(*corev1.Pod)); cp.wakeScheduler() },
	})
}

// wakeScheduler queues one run of the scheduling loop on the driver loop,
// so a burst of events leads to one drain.
func (cp *ControlPlane) wakeScheduler() {
	if cp.scheduling {
		return
	}
	cp.scheduling = true
	cp.cfg.Clock.AfterFunc(0, func() {
		cp.scheduling = false
		for cp.Scheduler.ScheduleOne() {
		}
	})
}

func (cp *ControlPlane) runners() []*controller.Controller {
	rs := []*controller.Controller{cp.ReplicaSets.Runner, cp.Deployments.Runner, cp.NodeLifecycle.Runner,
		cp.NodeLifecycle.PodRunner, cp.Endpoints.Runner, cp.GC.Runner, cp.Namespaces.Runner, cp.EventTTL.Runner, cp.PodGC.Runner}
	if cp.NodeIPAM != nil {
		rs = append(rs, cp.NodeIPAM.Runner)
	}
	return rs
}

// binder carries out the scheduler's decisions through the API.
type binder struct{ c client.Interface }

func (b *binder) Bind(pod *corev1.Pod, node string) error {
	return b.c.Bind(context.Background(), &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	})
}

func (b *binder) DeletePod(victim *corev1.Pod) error {
	uid := victim.UID
	_, _, err := b.c.Delete(context.Background(), api.Pods, victim.Namespace, victim.Name,
		metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	return err
}

func (b *binder) SetNominatedNode(pod *corev1.Pod, node string) error {
	p := pod.DeepCopy()
	p.Status.NominatedNodeName = node
	p.ResourceVersion = ""
	_, err := b.c.Update(context.Background(), p, "status")
	return err
}

func (b *binder) UpdatePodCondition(pod *corev1.Pod, cond corev1.PodCondition) error {
	cur, err := b.c.Get(context.Background(), api.Pods, pod.Namespace, pod.Name)
	if err != nil {
		return err
	}
	p := cur.(*corev1.Pod).DeepCopy()
	found := false
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == cond.Type {
			p.Status.Conditions[i] = cond
			found = true
		}
	}
	if !found {
		p.Status.Conditions = append(p.Status.Conditions, cond)
	}
	_, err = b.c.Update(context.Background(), p, "status")
	return err
}
