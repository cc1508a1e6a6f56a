// Package endpoints is Kubernetes' endpoints controller: it keeps one core/v1
// Endpoints object per Service with a selector, listing the IPs of the
// selected pods (ready ones in addresses, not-ready ones in
// notReadyAddresses) with the Service's ports resolved against each pod.
//
// Pods are indexed by namespace and label pairs and Services by one pair of
// their selector, so a pod change re-queues only the Services in its
// namespace whose selector matches its old or new labels, and a sync reads
// only the pods carrying the selector's rarest pair.
//
// Differences from Kubernetes, on purpose: no EndpointSlices; no
// endpoints.kubernetes.io/last-change-trigger-time annotation; no legacy
// tolerate-unready-endpoints annotation (spec.publishNotReadyAddresses is
// honoured); single-stack IPv4 (status.podIP); above 1000 addresses the
// Endpoints is truncated ready-first in subset order, not proportionally per
// subset.
package endpoints

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/controller"
	"github.com/drydock-sim/drydock/core/events"
	"github.com/drydock-sim/drydock/core/informer"
)

// Index names registered on the shared informers.
const (
	// PodLabelIndex indexes pods by "ns\x00" and "ns/key=value" per label.
	PodLabelIndex = "endpoints.labels"
	// ServiceSelectorIndex indexes Services by one "ns/key=value" pair of
	// their selector ("ns\x00" for an empty, non-nil selector).
	ServiceSelectorIndex = "endpoints.selector"
)

// MaxAddresses is the most addresses one Endpoints object holds, as in Kubernetes.
const MaxAddresses = 1000

// Annotations and labels the controller maintains.
const (
	OverCapacityAnnotation = "endpoints.kubernetes.io/over-capacity"
	LeaderAnnotation       = "control-plane.alpha.kubernetes.io/leader"
	HeadlessLabel          = "service.kubernetes.io/headless"
)

// Config wires the controller.
type Config struct {
	Client    client.Interface
	Clock     clock.Clock
	Recorder  events.Recorder
	Services  *informer.Informer
	Pods      *informer.Informer
	Endpoints *informer.Informer
	// MaxAddresses overrides MaxAddresses (tests).
	MaxAddresses int
}

// Controller is the endpoints controller. Keys are Service keys (ns/name).
type Controller struct {
	cfg    Config
	Runner *controller.Controller
	// written is the resourceVersion of each Endpoints this controller last
	// wrote, so the echo of its own write does not trigger another sync.
	written map[string]string
}

// New builds the controller and registers its informer indexes and handlers.
func New(cfg Config) *Controller {
	if cfg.MaxAddresses <= 0 {
		cfg.MaxAddresses = MaxAddresses
	}
	if cfg.Recorder == nil {
		cfg.Recorder = events.Discard
	}
	c := &Controller{cfg: cfg, written: map[string]string{}}
	c.Runner = controller.New("endpoints", cfg.Clock, c)

	cfg.Pods.AddIndex(PodLabelIndex, podIndexValues)
	cfg.Services.AddIndex(ServiceSelectorIndex, serviceIndexValues)

	register(cfg.Services, informer.Handler{
		OnAdd: func(obj api.Object) { c.Runner.Enqueue(informer.Key(obj)) },
		OnUpdate: func(old, cur api.Object) {
			o, n := old.(*corev1.Service), cur.(*corev1.Service)
			if apiequality.Semantic.DeepEqual(o.Spec, n.Spec) && apiequality.Semantic.DeepEqual(o.Labels, n.Labels) {
				return
			}
			c.Runner.Enqueue(informer.Key(cur))
		},
		OnDelete: func(obj api.Object) { c.Runner.Enqueue(informer.Key(obj)) },
	})
	register(cfg.Pods, informer.Handler{
		OnAdd: func(obj api.Object) { c.enqueueFor(obj.(*corev1.Pod), nil) },
		OnUpdate: func(old, cur api.Object) {
			o, n := old.(*corev1.Pod), cur.(*corev1.Pod)
			if o.ResourceVersion == n.ResourceVersion {
				return
			}
			relabelled := !labels.Equals(o.Labels, n.Labels)
			if !relabelled && !endpointFieldsChanged(o, n) {
				return
			}
			if relabelled {
				c.enqueueFor(n, o)
			} else {
				c.enqueueFor(n, nil)
			}
		},
		OnDelete: func(obj api.Object) { c.enqueueFor(obj.(*corev1.Pod), nil) },
	})
	ownEcho := func(obj api.Object) bool {
		return c.written[informer.Key(obj)] == obj.GetResourceVersion()
	}
	register(cfg.Endpoints, informer.Handler{
		OnAdd: func(obj api.Object) {
			if !ownEcho(obj) {
				c.Runner.Enqueue(informer.Key(obj))
			}
		},
		OnUpdate: func(_, cur api.Object) {
			if !ownEcho(cur) {
				c.Runner.Enqueue(informer.Key(cur))
			}
		},
		OnDelete: func(obj api.Object) {
			delete(c.written, informer.Key(obj))
			c.Runner.Enqueue(informer.Key(obj))
		},
	})
	return c
}

func podIndexValues(obj api.Object) []string {
	p := obj.(*corev1.Pod)
	out := make([]string, 0, len(p.Labels)+1)
	out = append(out, p.Namespace+"\x00")
	for k, v := range p.Labels {
		out = append(out, p.Namespace+"/"+k+"="+v)
	}
	// In a fixed order, so that an update that keeps the labels gives the
	// same values and the informer only swaps the object in its buckets
	// (map order made it remove and re-add the pod about half the time).
	sort.Strings(out[1:])
	return out
}

// serviceIndexValues files a Service under the smallest key of its
// selector: a pod can only match if it carries that pair.
func serviceIndexValues(obj api.Object) []string {
	s := obj.(*corev1.Service)
	if s.Spec.Selector == nil || s.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if len(s.Spec.Selector) == 0 {
		return []string{s.Namespace + "\x00"}
	}
	first := ""
	for k := range s.Spec.Selector {
		if first == "" || k < first {
			first = k
		}
	}
	return []string{s.Namespace + "/" + first + "=" + s.Spec.Selector[first]}
}

// enqueueFor queues the Services whose selector matches pod's labels, or
// old's (a relabelled pod may leave a Service).
func (c *Controller) enqueueFor(pod, old *corev1.Pod) {
	if c.cfg.Services.IndexLen(ServiceSelectorIndex) == 0 {
		return // no Service selects pods: nothing can match
	}
	seen := map[string]bool{}
	for _, p := range []*corev1.Pod{pod, old} {
		if p == nil {
			continue
		}
		keys := make([]string, 0, len(p.Labels))
		for k := range p.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		values := make([]string, 0, len(keys)+1)
		values = append(values, p.Namespace+"\x00")
		for _, k := range keys {
			values = append(values, p.Namespace+"/"+k+"="+p.Labels[k])
		}
		for _, v := range values {
			for _, obj := range c.cfg.Services.ByIndex(ServiceSelectorIndex, v) {
				key := informer.Key(obj)
				if seen[key] {
					continue
				}
				sel := obj.(*corev1.Service).Spec.Selector
				if labels.SelectorFromValidatedSet(sel).Matches(labels.Set(p.Labels)) {
					seen[key] = true
					c.Runner.Enqueue(key)
				}
			}
		}
	}
}

// endpointFieldsChanged: whether a pod update can change any Endpoints.
// Spec fields that matter (ports, hostname) are immutable.
func endpointFieldsChanged(o, n *corev1.Pod) bool {
	return o.Status.PodIP != n.Status.PodIP || o.Spec.NodeName != n.Spec.NodeName ||
		o.Status.Phase != n.Status.Phase || podReady(o) != podReady(n) ||
		(o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
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
