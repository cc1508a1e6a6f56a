package sim

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/clock"
)

// gatedClient is a node's connection to the API server. While the gate is
// closed (the node is partitioned from the API server, or crashed) every
// call fails as a lost connection would, and watch events are dropped. When
// it opens again every open watch ends with an error, so the node's
// reflectors list afresh, as a real client does after a broken connection.
type gatedClient struct {
	inner   client.Interface
	clock   clock.Clock
	closed  bool
	watches map[int]*gatedWatch
	nextID  int
}

type gatedWatch struct {
	fn     func(api.WatchEvent)
	cancel func()
}

var _ client.Interface = (*gatedClient)(nil)

func newGatedClient(inner client.Interface, clk clock.Clock) *gatedClient {
	return &gatedClient{inner: inner, clock: clk, watches: map[int]*gatedWatch{}}
}

// errUnreachable is what a call across a partition gets.
func errUnreachable() error {
	return apierrors.NewServiceUnavailable("connection to the API server timed out (simulated partition)")
}

// setOpen opens or closes the gate.
func (g *gatedClient) setOpen(open bool) {
	wasClosed := g.closed
	g.closed = !open
	if !open || !wasClosed {
		return
	}
	ids := make([]int, 0, len(g.watches))
	for id := range g.watches {
		ids = append(ids, id)
	}
	sortInts(ids)
	for _, id := range ids {
		w := g.watches[id]
		delete(g.watches, id)
		if w.cancel != nil {
			w.cancel()
		}
		g.clock.AfterFunc(0, func() {
			w.fn(api.WatchEvent{Type: api.WatchError, Object: &metav1.Status{Status: metav1.StatusFailure,
				Message: "watch closed: connection lost", Reason: metav1.StatusReasonServiceUnavailable, Code: 503}})
		})
	}
}

func (g *gatedClient) Create(ctx context.Context, obj api.Object, opts metav1.CreateOptions) (api.Object, error) {
	if g.closed {
		return nil, errUnreachable()
	}
	return g.inner.Create(ctx, obj, opts)
}
func (g *gatedClient) Get(ctx context.Context, r *api.Resource, ns, name string) (api.Object, error) {
	if g.closed {
		return nil, errUnreachable()
	}
	return g.inner.Get(ctx, r, ns, name)
}
func (g *gatedClient) List(ctx context.Context, r *api.Resource, ns string, opts metav1.ListOptions) ([]api.Object, string, error) {
	if g.closed {
		return nil, "", errUnreachable()
	}
	return g.inner.List(ctx, r, ns, opts)
}
func (g *gatedClient) Update(ctx context.Context, obj api.Object, sub string) (api.Object, error) {
	if g.closed {
		return nil, errUnreachable()
	}
	return g.inner.Update(ctx, obj, sub)
}
func (g *gatedClient) Patch(ctx context.Context, r *api.Resource, ns, name string, pt types.PatchType, data []byte, sub string) (api.Object, error) {
	if g.closed {
		return nil, errUnreachable()
	}
	return g.inner.Patch(ctx, r, ns, name, pt, data, sub)
}
func (g *gatedClient) Delete(ctx context.Context, r *api.Resource, ns, name string, opts metav1.DeleteOptions) (api.Object, bool, error) {
	if g.closed {
		return nil, false, errUnreachable()
	}
	return g.inner.Delete(ctx, r, ns, name, opts)
}
func (g *gatedClient) Bind(ctx context.Context, b *corev1.Binding) error {
	if g.closed {
		return errUnreachable()
	}
	return g.inner.Bind(ctx, b)
}
func (g *gatedClient) Evict(ctx context.Context, e *policyv1.Eviction) error {
	if g.closed {
		return errUnreachable()
	}
	return g.inner.Evict(ctx, e)
}

// Watch passes events through only while the gate is open; the watch ends
// (with an error event) when the gate reopens after a closure.
func (g *gatedClient) Watch(ctx context.Context, r *api.Resource, ns string, opts metav1.ListOptions, fn func(api.WatchEvent)) (func(), error) {
	if g.closed {
		return nil, errUnreachable()
	}
	g.nextID++
	id := g.nextID
	w := &gatedWatch{fn: fn}
	g.watches[id] = w
	cancel, err := g.inner.Watch(ctx, r, ns, opts, func(ev api.WatchEvent) {
		if g.closed {
			return
		}
		if _, live := g.watches[id]; live {
			fn(ev)
		}
	})
	if err != nil {
		delete(g.watches, id)
		return nil, err
	}
	w.cancel = cancel
	return func() { delete(g.watches, id); cancel() }, nil
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
