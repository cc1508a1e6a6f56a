// Package namespace is Kubernetes' namespace controller: when a Namespace
// is being deleted it deletes every namespaced object in it (background
// propagation), comes back until all are gone, keeps the namespace's
// deletion conditions (NamespaceDeletionContentFailure,
// NamespaceContentRemaining, NamespaceFinalizersRemaining, ...) up to date,
// and finally removes the "kubernetes" finalizer through the finalize
// subresource so the API server can remove the namespace.
//
// Like Kubernetes it polls rather than watching content: it re-checks after
// half the longest remaining pod grace period plus a second (at least 15s
// estimated while content is held by finalizers).
//
// Difference from Kubernetes, on purpose: objects are deleted one by one
// (there is no DeleteCollection in the client port) and objects already
// being deleted are not deleted again.
package namespace

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/controller"
	"github.com/drydock-sim/drydock/core/events"
	"github.com/drydock-sim/drydock/core/informer"
)

// FinalizerEstimateSeconds is the wait estimated for content held by
// finalizers, as in Kubernetes.
const FinalizerEstimateSeconds = 15

// Config wires the controller.
type Config struct {
	Client     client.Interface
	Clock      clock.Clock
	Recorder   events.Recorder
	Namespaces *informer.Informer
	// Resources to delete from a terminating namespace; default: every
	// namespaced resource in api.All.
	Resources []*api.Resource
}

// Controller is the namespace controller. Keys are namespace names.
type Controller struct {
	cfg    Config
	Runner *controller.Controller
}

// New builds the controller and registers its handlers.
func New(cfg Config) *Controller {
	if cfg.Resources == nil {
		for _, r := range api.All {
			if r.Namespaced {
				cfg.Resources = append(cfg.Resources, r)
			}
		}
	}
	if cfg.Recorder == nil {
		cfg.Recorder = events.Discard
	}
	c := &Controller{cfg: cfg}
	c.Runner = controller.New("namespace", cfg.Clock, c)
	enqueue := func(obj api.Object) {
		if obj.(*corev1.Namespace).DeletionTimestamp != nil {
			c.Runner.Enqueue(obj.GetName())
		}
	}
	cfg.Namespaces.AddHandler(informer.Handler{
		OnAdd:    enqueue,
		OnUpdate: func(_, cur api.Object) { enqueue(cur) },
	})
	for _, obj := range cfg.Namespaces.List() {
		enqueue(obj)
	}
	return c
}
