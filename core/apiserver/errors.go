package apiserver

import (
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/store"
)

// storeError turns a store sentinel into the Kubernetes status error a client
// expects for resource r and object name.
func storeError(err error, r *api.Resource, name string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return apierrors.NewNotFound(r.GroupResource(), name)
	case errors.Is(err, store.ErrExists):
		return apierrors.NewAlreadyExists(r.GroupResource(), name)
	case errors.Is(err, store.ErrConflict):
		return conflict(r, name)
	case errors.Is(err, store.ErrCompacted):
		return apierrors.NewResourceExpired("too old resource version")
	}
	return apierrors.NewInternalError(err)
}

func conflict(r *api.Resource, name string) error {
	return apierrors.NewConflict(r.GroupResource(), name,
		fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
}
