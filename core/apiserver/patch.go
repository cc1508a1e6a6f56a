package apiserver

import (
	"context"
	"encoding/json"
	"fmt"

	jsonpatch "github.com/evanphx/json-patch/v5"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/drydock-sim/drydock/core/api"
)

// Patch applies a JSON merge, strategic merge or JSON patch to an object (or
// to its status with subresource "status") and stores the result.
func (s *Server) Patch(ctx context.Context, r *api.Resource, ns, name string, pt types.PatchType, data []byte, subresource string) (api.Object, error) {
	return s.PatchWithOptions(ctx, r, ns, name, pt, data, subresource, metav1.PatchOptions{})
}

// PatchWithOptions is Patch with Kubernetes' patch options. Of them only
// DryRun is acted on, as in UpdateWithOptions: with ["All"] the patched
// object is checked and returned as the write would return it, and nothing
// is stored.
func (s *Server) PatchWithOptions(ctx context.Context, r *api.Resource, ns, name string, pt types.PatchType, data []byte, subresource string, opts metav1.PatchOptions) (api.Object, error) {
	dry, err := dryRunAll(opts.DryRun, "PatchOptions")
	if err != nil {
		return nil, err
	}
	if !r.Namespaced {
		ns = ""
	} else if ns == "" {
		ns = metav1.NamespaceDefault
	}
	if subresource != "" && !r.HasSubresource(subresource) {
		return nil, apierrors.NewNotFound(r.GroupResource(), name+"/"+subresource)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.Key(ns, name)
	cur, err := s.store.Get(key)
	if err != nil {
		return nil, storeError(err, r, name)
	}
	old := cur.(api.Object)
	orig, err := json.Marshal(old)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	var patched []byte
	switch pt {
	case types.MergePatchType:
		patched, err = jsonpatch.MergePatch(orig, data)
	case types.StrategicMergePatchType:
		patched, err = strategicpatch.StrategicMergePatch(orig, data, r.New())
	case types.JSONPatchType:
		var p jsonpatch.Patch
		if p, err = jsonpatch.DecodePatch(data); err == nil {
			patched, err = p.Apply(orig)
		}
	default:
		return nil, apierrors.NewGenericServerResponse(415, "PATCH", r.GroupResource(), name,
			fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s, %s, %s",
				types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType), 0, false)
	}
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the request is invalid: %v", err))
	}
	obj := r.New()
	if err := json.Unmarshal(patched, obj); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the patched object is invalid: %v", err))
	}
	if obj.GetName() != name || (r.Namespaced && obj.GetNamespace() != ns) {
		return nil, apierrors.NewBadRequest("the patch may not change the object's name or namespace")
	}
	if rv := obj.GetResourceVersion(); rv != "" && rv != old.GetResourceVersion() {
		return nil, conflict(r, name)
	}
	return s.updateLocked(r, key, old, obj, subresource, dry)
}
