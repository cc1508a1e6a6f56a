// Package gc is Kubernetes' garbage collector: it keeps a graph of objects
// by UID, linked by metadata.ownerReferences, built from the informers of
// every resource that can own or be owned, and
//   - deletes dependents whose owners are all gone (background deletion),
//     after confirming each owner's absence with a live GET by name and UID;
//   - for owners deleted in the foreground (finalizer foregroundDeletion),
//     deletes their dependents first and removes the finalizer once no
//     dependent with blockOwnerDeletion remains;
//   - for owners deleted with the orphan policy (finalizer orphan), removes
//     the ownerReference from their dependents, then the finalizer.
//
// Work is keyed by UID on one runner. Owners named by an ownerReference but
// not (yet) seen by an informer are "virtual" nodes, checked with a live GET:
// absent ones release their dependents at once; present ones of a resource
// no informer watches are re-checked every VirtualRecheckPeriod.
//
// Differences from Kubernetes, on purpose: no absent-owner cache (live GETs
// are in-process); ownerReferences to kinds the API does not serve are left
// alone rather than retried forever; a dependent is also queued whenever it
// is seen while one of its owners is being deleted in the foreground.
package gc

import (
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/controller"
	"github.com/drydock-sim/drydock/core/events"
	"github.com/drydock-sim/drydock/core/informer"
)

// DefaultVirtualRecheckPeriod is how often an existing owner of an unwatched
// resource is looked up again.
const DefaultVirtualRecheckPeriod = time.Minute

// Config wires the garbage collector.
type Config struct {
	Client   client.Interface
	Clock    clock.Clock
	Recorder events.Recorder
	// Informers of every resource whose objects can be owners or dependents
	// (at least pods, replicasets and deployments).
	Informers []*informer.Informer
	// VirtualRecheckPeriod: see DefaultVirtualRecheckPeriod.
	VirtualRecheckPeriod time.Duration
}

// Controller is the garbage collector. Keys are object UIDs.
type Controller struct {
	cfg       Config
	Runner    *controller.Controller
	graph     map[types.UID]*node
	monitored map[*api.Resource]bool
}

// New builds the collector, registers its handlers and loads what the
// informers already hold.
func New(cfg Config) *Controller {
	if cfg.VirtualRecheckPeriod <= 0 {
		cfg.VirtualRecheckPeriod = DefaultVirtualRecheckPeriod
	}
	if cfg.Recorder == nil {
		cfg.Recorder = events.Discard
	}
	c := &Controller{cfg: cfg, graph: map[types.UID]*node{}, monitored: map[*api.Resource]bool{}}
	c.Runner = controller.New("garbage-collector", cfg.Clock, c)
	for _, inf := range cfg.Informers {
		res := inf.Resource
		c.monitored[res] = true
		h := informer.Handler{
			OnAdd: func(obj api.Object) { c.observe(res, obj) },
			OnUpdate: func(old, cur api.Object) {
				if old.GetUID() != cur.GetUID() {
					c.forget(old.GetUID()) // deleted and recreated under the same name
				}
				c.observe(res, cur)
			},
			OnDelete: func(obj api.Object) { c.forget(obj.GetUID()) },
		}
		inf.AddHandler(h)
		for _, obj := range inf.List() {
			h.OnAdd(obj)
		}
	}
	return c
}

// Len is the number of graph nodes (virtual ones included).
func (c *Controller) Len() int { return len(c.graph) }

func (c *Controller) enqueue(n *node) { c.Runner.Enqueue(string(n.uid)) }
