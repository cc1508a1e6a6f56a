// Package replicaset is kube-controller-manager's ReplicaSet controller: it
// keeps spec.replicas active pods for every ReplicaSet and reports them in
// status.
//
// Pods belong to a ReplicaSet through a controller ownerReference. Orphans
// the selector matches are adopted, owned pods it no longer matches are
// released. Missing pods are created from the template with generateName
// "<rs>-" in slow-start batches (1, 2, 4, ...; at most BurstReplicas per
// sync); surplus pods are deleted, worst first (see rankedPods). Terminal
// and terminating pods do not count, so failed pods are replaced.
//
// Expectations stop a sync from acting on a cache that has not yet seen the
// controller's own creates and deletes (watch latency); without them a slow
// watch makes the controller create or delete twice.
package replicaset

import (
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/controller"
	"github.com/drydock-sim/drydock/core/events"
	"github.com/drydock-sim/drydock/core/informer"
)

// Index names this package adds to the shared informers.
const (
	IndexPodsByController = "replicaset/podsByController" // pod -> UID of its ReplicaSet controller
	IndexOrphanPods       = "replicaset/orphanPods"       // pod without controller -> namespace
	IndexRSByController   = "replicaset/byController"     // ReplicaSet -> UID of its controller
	IndexRSByNamespace    = "replicaset/byNamespace"      // ReplicaSet -> namespace
)

// Kubernetes' limits on one sync's pod operations.
const (
	BurstReplicas             = 500
	SlowStartInitialBatchSize = 1
)

// Config wires the controller. Pods and ReplicaSets are shared informers
// already fed by reflectors; Deployments is unused here.
type Config struct {
	Client                         client.Interface
	Clock                          clock.Clock
	Recorder                       events.Recorder
	Pods, ReplicaSets, Deployments *informer.Informer
}

// Controller is the ReplicaSet controller.
type Controller struct {
	cfg Config
	// Runner owns the work queue of ReplicaSet keys.
	Runner       *controller.Controller
	Expectations *Expectations
	memos        map[string]*factsMemo // per ReplicaSet key, see facts.go
	statusRS     appsv1.ReplicaSet     // the object every status write sends, see updateStatus
}

// New registers the controller's indexes and handlers on the informers and
// queues every ReplicaSet already cached.
func New(cfg Config) *Controller {
	if cfg.Recorder == nil {
		cfg.Recorder = events.Discard
	}
	c := &Controller{cfg: cfg, Expectations: NewExpectations(cfg.Clock), memos: map[string]*factsMemo{}}
	c.Runner = controller.New("replicaset", cfg.Clock, c)

	// GetControllerOfNoCopy: index functions run on every pod change.
	cfg.Pods.AddIndex(IndexPodsByController, func(o api.Object) []string {
		if ref := metav1.GetControllerOfNoCopy(o); ref != nil && isRSRef(ref) {
			return []string{string(ref.UID)}
		}
		return nil
	})
	cfg.Pods.AddIndex(IndexOrphanPods, func(o api.Object) []string {
		if metav1.GetControllerOfNoCopy(o) == nil {
			return []string{o.GetNamespace()}
		}
		return nil
	})
	cfg.ReplicaSets.AddIndex(IndexRSByController, func(o api.Object) []string {
		if ref := metav1.GetControllerOfNoCopy(o); ref != nil {
			return []string{string(ref.UID)}
		}
		return nil
	})
	cfg.ReplicaSets.AddIndex(IndexRSByNamespace, func(o api.Object) []string { return []string{o.GetNamespace()} })

	cfg.ReplicaSets.AddHandler(informer.Handler{
		OnAdd:    func(o api.Object) { c.Runner.Enqueue(informer.Key(o)) },
		OnUpdate: func(_, o api.Object) { c.Runner.Enqueue(informer.Key(o)) },
		OnDelete: func(o api.Object) {
			c.Expectations.Delete(informer.Key(o))
			c.Runner.Enqueue(informer.Key(o))
		},
	})
	cfg.Pods.AddHandler(informer.Handler{
		OnAdd:    func(o api.Object) { c.podAdded(o.(*corev1.Pod)) },
		OnUpdate: func(old, cur api.Object) { c.podUpdated(old.(*corev1.Pod), cur.(*corev1.Pod)) },
		OnDelete: func(o api.Object) { c.podDeleted(o.(*corev1.Pod)) },
	})
	for _, o := range cfg.ReplicaSets.List() {
		c.Runner.Enqueue(informer.Key(o))
	}
	return c
}

func isRSRef(ref *metav1.OwnerReference) bool {
	return ref.Kind == api.ReplicaSets.Kind && ref.APIVersion == api.ReplicaSets.APIVersion()
}

// resolve returns the cached ReplicaSet a controller reference points to,
// or nil if it is not a ReplicaSet or the cached one has another UID.
func (c *Controller) resolve(ns string, ref *metav1.OwnerReference) *appsv1.ReplicaSet {
	if ref == nil || !isRSRef(ref) {
		return nil
	}
	o, ok := c.cfg.ReplicaSets.Get(ns, ref.Name)
	if !ok || o.GetUID() != ref.UID {
		return nil
	}
	return o.(*appsv1.ReplicaSet)
}

// matching returns the ReplicaSets in pod's namespace whose selector
// matches it, for orphans that someone may want to adopt.
func (c *Controller) matching(pod *corev1.Pod) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	set := labels.Set(pod.Labels)
	for _, o := range c.cfg.ReplicaSets.ByIndex(IndexRSByNamespace, pod.Namespace) {
		rs := o.(*appsv1.ReplicaSet)
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		if sel.Matches(set) {
			out = append(out, rs)
		}
	}
	return out
}

func (c *Controller) enqueue(rs *appsv1.ReplicaSet) { c.Runner.Enqueue(informer.Key(rs)) }

func (c *Controller) podAdded(pod *corev1.Pod) {
	if pod.DeletionTimestamp != nil {
		// Seen for the first time already terminating (e.g. after a
		// relist): it must not count as an observed creation.
		c.podDeleted(pod)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if rs := c.resolve(pod.Namespace, ref); rs != nil {
			c.Expectations.CreationObserved(informer.Key(rs))
			c.enqueue(rs)
		}
		return
	}
	// An orphan: whoever selects it may adopt it. No creation was expected.
	for _, rs := range c.matching(pod) {
		c.enqueue(rs)
	}
}

func (c *Controller) podUpdated(old, cur *corev1.Pod) {
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	labelChanged := !reflect.DeepEqual(old.Labels, cur.Labels)
	if cur.DeletionTimestamp != nil {
		// Graceful deletion: the pod is on its way out, and that is the
		// deletion the controller waits for; the final DELETE is seen again
		// but counts only once.
		c.podDeleted(cur)
		if labelChanged {
			c.podDeleted(old)
		}
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	refChanged := !reflect.DeepEqual(curRef, oldRef)
	if refChanged && oldRef != nil {
		if rs := c.resolve(old.Namespace, oldRef); rs != nil {
			c.enqueue(rs)
		}
	}
	if curRef != nil {
		rs := c.resolve(cur.Namespace, curRef)
		if rs == nil {
			return
		}
		c.enqueue(rs)
		if !IsPodReady(old) && IsPodReady(cur) && rs.Spec.MinReadySeconds > 0 {
			// Re-check once the pod has been ready long enough to be
			// available (plus a second, as Kubernetes does).
			c.Runner.Queue.AddAfter(informer.Key(rs), time.Duration(rs.Spec.MinReadySeconds)*time.Second+time.Second)
		}
		return
	}
	if labelChanged || refChanged {
		for _, rs := range c.matching(cur) {
			c.enqueue(rs)
		}
	}
}

func (c *Controller) podDeleted(pod *corev1.Pod) {
	rs := c.resolve(pod.Namespace, metav1.GetControllerOfNoCopy(pod))
	if rs == nil {
		return
	}
	key := informer.Key(rs)
	c.Expectations.DeletionObserved(key, informer.Key(pod))
	c.enqueue(rs)
}
