// Package client is the API client port the control-plane components and the
// node agent talk through. The simulator satisfies it in process with the
// transport-free API server (apiserver.Server implements Interface as is);
// real mode satisfies it with HTTP.
package client

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
)

// Interface is the API as components use it. Returned objects are shared and
// must not be modified; deep-copy first. Objects passed in are not kept:
// Create and Update copy (or encode) what they are given before they
// return, and keep nothing it points to, so a caller may reuse the object
// it passed for its next call. Errors are Kubernetes status errors
// (apimachinery api/errors: IsNotFound, IsConflict, ...).
type Interface interface {
	Create(ctx context.Context, obj api.Object, opts metav1.CreateOptions) (api.Object, error)
	Get(ctx context.Context, r *api.Resource, ns, name string) (api.Object, error)
	List(ctx context.Context, r *api.Resource, ns string, opts metav1.ListOptions) ([]api.Object, string, error)
	// Update writes obj, or only its status when subresource is "status".
	Update(ctx context.Context, obj api.Object, subresource string) (api.Object, error)
	Patch(ctx context.Context, r *api.Resource, ns, name string, pt types.PatchType, data []byte, subresource string) (api.Object, error)
	// Delete returns the object as it stands after the call and whether it is gone.
	Delete(ctx context.Context, r *api.Resource, ns, name string, opts metav1.DeleteOptions) (api.Object, bool, error)
	Bind(ctx context.Context, b *corev1.Binding) error
	Evict(ctx context.Context, e *policyv1.Eviction) error
	// Watch calls fn for each event until cancel is called. Implementations
	// deliver on the driver's control loop.
	Watch(ctx context.Context, r *api.Resource, ns string, opts metav1.ListOptions, fn func(api.WatchEvent)) (cancel func(), err error)
}
