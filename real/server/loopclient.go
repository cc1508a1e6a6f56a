package server

import (
	"context"
	"sync/atomic"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
)

// loopClient is the control plane's client in the server process: calls go
// straight to the in-process API server (client.Loopback's methods), and
// watch events are posted to the loop, in order.
//
// client.Loopback's own Watch is not used: over etcd the API server calls
// watch callbacks on the store's delivery goroutine, while Loopback keeps
// each watch's pending events in a FIFO that its timers pop on the loop,
// with no lock between the two (the core is single-threaded by design).
type loopClient struct {
	*client.Loopback
	post func(func())
}

var _ client.Interface = (*loopClient)(nil)

// Watch delivers fn's events on the loop; after the returned cancel, none.
func (c *loopClient) Watch(ctx context.Context, r *api.Resource, ns string, opts metav1.ListOptions, fn func(api.WatchEvent)) (func(), error) {
	var stopped atomic.Bool
	cancel, err := c.Server.Watch(ctx, r, ns, opts, func(ev api.WatchEvent) {
		c.post(func() {
			if !stopped.Load() {
				fn(ev)
			}
		})
	})
	if err != nil {
		return nil, err
	}
	return func() { stopped.Store(true); cancel() }, nil
}
