// Package deployment is kube-controller-manager's Deployment controller. A
// Deployment owns one ReplicaSet per pod template it has run, named
// "<deployment>-<pod-template-hash>" and labelled pod-template-hash so the
// ReplicaSets' selectors never overlap. The controller moves replicas from
// the old ReplicaSets to the new one:
//
//   - RollingUpdate: scale the new ReplicaSet up while the total stays within
//     spec.replicas + maxSurge, scale old ones down while the available pods
//     stay at least spec.replicas - maxUnavailable (unhealthy old replicas go
//     first);
//   - Recreate: scale every old ReplicaSet to zero, wait until none of their
//     pods run, then create and scale up the new one.
//
// A change of spec.replicas during a rollout is spread over the active
// ReplicaSets in proportion to their size (desired-replicas / max-replicas
// annotations). Paused Deployments are only scaled. Old ReplicaSets scaled to
// zero beyond revisionHistoryLimit are deleted, oldest revision first.
// Status and the Available and Progressing conditions follow Kubernetes, so
// `kubectl rollout status` reads them as it does there; progressDeadlineSeconds
// without progress sets Progressing=False, ProgressDeadlineExceeded.
//
// Deliberate differences: pod-template-hash is FNV-32a over the template's
// JSON (Kubernetes hashes a spew dump); the Deployment's revision annotation
// is written with a metadata patch because drydock's status subresource keeps
// annotations; the obsolete spec.rollbackTo (extensions/v1beta1) is not
// served, Rollback does what `kubectl rollout undo` does instead; scaling old
// ReplicaSets down is also capped by the spec-based margin (see
// scaleDownOldRSsForRollingUpdate), which matters only while a ReplicaSet's
// status lags behind the deletions it just made, and then keeps maxUnavailable
// from being overshot; a just-created new ReplicaSet the cache has not seen
// yet is read from the API instead of failing the sync.
package deployment

import (
	"reflect"

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
	IndexRSByController   = "deployment/rsByController"   // ReplicaSet -> UID of its Deployment
	IndexOrphanRS         = "deployment/orphanRS"         // ReplicaSet without controller -> namespace
	IndexByNamespace      = "deployment/byNamespace"      // Deployment -> namespace
	IndexPodsByController = "deployment/podsByController" // pod -> UID of its ReplicaSet
)

// Config wires the controller to shared informers already fed by reflectors.
type Config struct {
	Client                         client.Interface
	Clock                          clock.Clock
	Recorder                       events.Recorder
	Pods, ReplicaSets, Deployments *informer.Informer
}

// Controller is the Deployment controller.
type Controller struct {
	cfg Config
	// Runner owns the work queue of Deployment keys.
	Runner *controller.Controller
	tmplEq map[tmplKey]bool // see templatesEqual
	// scratchRS is the ReplicaSet copy a sync edits and sends (see
	// syncer.rsCopy): the client keeps nothing it is given.
	scratchRS appsv1.ReplicaSet
	// scratchD is the Deployment a sync works on (see privateCopy).
	scratchD appsv1.Deployment
}

// New registers the controller's indexes and handlers and queues every
// Deployment already cached.
func New(cfg Config) *Controller {
	if cfg.Recorder == nil {
		cfg.Recorder = events.Discard
	}
	c := &Controller{cfg: cfg, tmplEq: map[tmplKey]bool{}}
	c.Runner = controller.New("deployment", cfg.Clock, c)

	cfg.ReplicaSets.AddIndex(IndexRSByController, func(o api.Object) []string {
		if ref := metav1.GetControllerOfNoCopy(o); ref != nil && isDeploymentRef(ref) {
			return []string{string(ref.UID)}
		}
		return nil
	})
	cfg.ReplicaSets.AddIndex(IndexOrphanRS, func(o api.Object) []string {
		if metav1.GetControllerOfNoCopy(o) == nil {
			return []string{o.GetNamespace()}
		}
		return nil
	})
	cfg.Deployments.AddIndex(IndexByNamespace, func(o api.Object) []string { return []string{o.GetNamespace()} })
	cfg.Pods.AddIndex(IndexPodsByController, func(o api.Object) []string {
		if ref := metav1.GetControllerOfNoCopy(o); ref != nil && ref.Kind == api.ReplicaSets.Kind {
			return []string{string(ref.UID)}
		}
		return nil
	})

	cfg.Deployments.AddHandler(informer.Handler{
		OnAdd:    func(o api.Object) { c.Runner.Enqueue(informer.Key(o)) },
		OnUpdate: func(_, o api.Object) { c.Runner.Enqueue(informer.Key(o)) },
		OnDelete: func(o api.Object) { c.Runner.Enqueue(informer.Key(o)) },
	})
	cfg.ReplicaSets.AddHandler(informer.Handler{
		OnAdd:    func(o api.Object) { c.rsAdded(o.(*appsv1.ReplicaSet)) },
		OnUpdate: func(old, cur api.Object) { c.rsUpdated(old.(*appsv1.ReplicaSet), cur.(*appsv1.ReplicaSet)) },
		OnDelete: func(o api.Object) { c.rsDeleted(o.(*appsv1.ReplicaSet)) },
	})
	cfg.Pods.AddHandler(informer.Handler{OnDelete: func(o api.Object) { c.podDeleted(o.(*corev1.Pod)) }})
	for _, o := range cfg.Deployments.List() {
		c.Runner.Enqueue(informer.Key(o))
	}
	return c
}

func isDeploymentRef(ref *metav1.OwnerReference) bool {
	return ref.Kind == api.Deployments.Kind && ref.APIVersion == api.Deployments.APIVersion()
}

// resolve returns the cached Deployment a controller reference points to.
func (c *Controller) resolve(ns string, ref *metav1.OwnerReference) *appsv1.Deployment {
	if ref == nil || !isDeploymentRef(ref) {
		return nil
	}
	o, ok := c.cfg.Deployments.Get(ns, ref.Name)
	if !ok || o.GetUID() != ref.UID {
		return nil
	}
	return o.(*appsv1.Deployment)
}

// matching returns the Deployments whose selector matches an orphan
// ReplicaSet's labels.
func (c *Controller) matching(rs *appsv1.ReplicaSet) []*appsv1.Deployment {
	var out []*appsv1.Deployment
	set := labels.Set(rs.Labels)
	for _, o := range c.cfg.Deployments.ByIndex(IndexByNamespace, rs.Namespace) {
		d := o.(*appsv1.Deployment)
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		if sel.Matches(set) {
			out = append(out, d)
		}
	}
	return out
}

func (c *Controller) enqueue(d *appsv1.Deployment) { c.Runner.Enqueue(informer.Key(d)) }

func (c *Controller) rsAdded(rs *appsv1.ReplicaSet) {
	if rs.DeletionTimestamp != nil {
		c.rsDeleted(rs)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if d := c.resolve(rs.Namespace, ref); d != nil {
			c.enqueue(d)
		}
		return
	}
	for _, d := range c.matching(rs) {
		c.enqueue(d)
	}
}

func (c *Controller) rsUpdated(old, cur *appsv1.ReplicaSet) {
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	refChanged := !reflect.DeepEqual(curRef, oldRef)
	if refChanged && oldRef != nil {
		if d := c.resolve(old.Namespace, oldRef); d != nil {
			c.enqueue(d)
		}
	}
	if curRef != nil {
		if d := c.resolve(cur.Namespace, curRef); d != nil {
			c.enqueue(d)
		}
		return
	}
	if refChanged || !reflect.DeepEqual(old.Labels, cur.Labels) {
		for _, d := range c.matching(cur) {
			c.enqueue(d)
		}
	}
}

func (c *Controller) rsDeleted(rs *appsv1.ReplicaSet) {
	if d := c.resolve(rs.Namespace, metav1.GetControllerOfNoCopy(rs)); d != nil {
		c.enqueue(d)
	}
}

// podDeleted wakes a Recreate Deployment when an old pod is finally gone:
// the new ReplicaSet waits for that.
func (c *Controller) podDeleted(pod *corev1.Pod) {
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != api.ReplicaSets.Kind {
		return
	}
	o, ok := c.cfg.ReplicaSets.Get(pod.Namespace, ref.Name)
	if !ok || o.GetUID() != ref.UID {
		return
	}
	if d := c.resolve(pod.Namespace, metav1.GetControllerOfNoCopy(o)); d != nil && d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		c.enqueue(d)
	}
}
