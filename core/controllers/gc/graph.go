package gc

import (
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
)

// identity names an object for live lookups.
type identity struct {
	res       *api.Resource // nil: a kind the API does not serve
	namespace string
	name      string
}

// node is one object in the ownership graph.
type node struct {
	uid        types.UID
	id         identity
	owners     []metav1.OwnerReference // shared with the cached object: read only
	dependents map[types.UID]*node
	// virtual: known only from a dependent's ownerReference.
	virtual bool
	// foreground: being deleted with the foregroundDeletion finalizer.
	foreground bool
}

func (n *node) sortedDependents() []*node {
	out := make([]*node, 0, len(n.dependents))
	for _, d := range n.dependents {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].uid < out[j].uid })
	return out
}

// blocks reports whether dependent d holds up owner's foreground deletion.
func (d *node) blocks(owner types.UID) bool {
	for _, r := range d.owners {
		if r.UID == owner && r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
			return true
		}
	}
	return false
}

// resolve finds the resource an ownerReference names.
func resolve(ref metav1.OwnerReference) *api.Resource {
	r, _ := api.ForGVK(schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind))
	return r
}

// ownerIdentity is where an owner named by ref lives, seen from a dependent
// in namespace ns: owners are namespace-local, or cluster-scoped.
func ownerIdentity(ref metav1.OwnerReference, ns string) identity {
	r := resolve(ref)
	if r != nil && !r.Namespaced {
		ns = ""
	}
	return identity{res: r, namespace: ns, name: ref.Name}
}

// observe folds an added or updated object into the graph and queues what
// its change may unblock.
func (c *Controller) observe(res *api.Resource, obj api.Object) {
	uid := obj.GetUID()
	n := c.graph[uid]
	if n == nil {
		n = &node{uid: uid, dependents: map[types.UID]*node{}}
		c.graph[uid] = n
	}
	n.virtual = false
	n.id = identity{res: res, namespace: obj.GetNamespace(), name: obj.GetName()}
	old := n.owners
	n.owners = obj.GetOwnerReferences()
	if !sameOwners(old, n.owners) {
		c.relink(n, old)
	}

	deleting := obj.GetDeletionTimestamp() != nil
	fins := obj.GetFinalizers()
	wasForeground := n.foreground
	n.foreground = deleting && has(fins, metav1.FinalizerDeleteDependents)
	switch {
	case n.foreground && !wasForeground:
		c.enqueue(n)
		for _, d := range n.sortedDependents() {
			c.enqueue(d)
		}
	case n.foreground:
		c.enqueue(n)
	case deleting && has(fins, metav1.FinalizerOrphanDependents):
		c.enqueue(n)
	}
	for _, r := range n.owners {
		if o := c.graph[r.UID]; o != nil && o.foreground {
			c.enqueue(n) // an owner waits for it to go
			break
		}
	}
}

// relink updates owner edges after n's ownerReferences changed from old.
func (c *Controller) relink(n *node, old []metav1.OwnerReference) {
	cur := make(map[types.UID]metav1.OwnerReference, len(n.owners))
	for _, r := range n.owners {
		cur[r.UID] = r
	}
	for _, r := range old {
		nr, kept := cur[r.UID]
		o := c.graph[r.UID]
		if o == nil {
			continue
		}
		if !kept {
			delete(o.dependents, n.uid)
			c.dropIfIdleVirtual(o)
		}
		if o.foreground && (!kept || blockOwner(nr) != blockOwner(r)) {
			c.enqueue(o) // may no longer be blocked
		}
	}
	prev := make(map[types.UID]bool, len(old))
	for _, r := range old {
		prev[r.UID] = true
	}
	for _, r := range n.owners {
		o := c.graph[r.UID]
		if o == nil {
			o = &node{uid: r.UID, id: ownerIdentity(r, n.id.namespace), virtual: true, dependents: map[types.UID]*node{}}
			c.graph[r.UID] = o
			c.enqueue(o) // does it exist?
		}
		if !prev[r.UID] || o.dependents[n.uid] == nil {
			o.dependents[n.uid] = n
		}
	}
}

// forget removes a deleted object: its dependents may now be garbage and
// owners waiting on it may finish.
func (c *Controller) forget(uid types.UID) {
	n := c.graph[uid]
	if n == nil {
		return
	}
	delete(c.graph, uid)
	for _, r := range n.owners {
		if o := c.graph[r.UID]; o != nil {
			delete(o.dependents, uid)
			if o.foreground {
				c.enqueue(o)
			}
			c.dropIfIdleVirtual(o)
		}
	}
	for _, d := range n.sortedDependents() {
		c.enqueue(d)
	}
}

func (c *Controller) dropIfIdleVirtual(o *node) {
	if o.virtual && len(o.dependents) == 0 {
		delete(c.graph, o.uid)
	}
}

// sameOwners: the edges old and cur describe are the same (the common case
// of a status update), so relinking can be skipped.
func sameOwners(old, cur []metav1.OwnerReference) bool {
	if len(old) != len(cur) {
		return false
	}
	for i := range old {
		if old[i].UID != cur[i].UID || blockOwner(old[i]) != blockOwner(cur[i]) {
			return false
		}
	}
	return true
}

func blockOwner(r metav1.OwnerReference) bool {
	return r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
