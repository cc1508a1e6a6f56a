package eventttl

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/controller"
	"github.com/drydock-sim/drydock/core/informer"
)

// Reconcile deletes one Event if it has expired. The delete is conditional
// on the cached resourceVersion: an Event rewritten meanwhile (a repeat) is
// kept, and its new expiry is already tracked.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	obj, ok := c.cfg.Events.GetKey(key)
	if !ok {
		return controller.Result{}, nil
	}
	ev := obj.(*corev1.Event)
	if ExpiresAt(ev, c.cfg.TTL).After(c.cfg.Clock.Now()) {
		return controller.Result{}, nil
	}
	ns, name := informer.SplitKey(key)
	uid, rv := ev.UID, ev.ResourceVersion
	_, _, err := c.cfg.Client.Delete(ctx, api.Events, ns, name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return controller.Result{}, err
	}
	return controller.Result{}, nil
}
