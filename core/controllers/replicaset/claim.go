package replicaset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
)

// RefManager reconciles controller ownerReferences between one controller
// object and candidate objects, like kube-controller-manager's
// ControllerRefManager: objects the controller owns and still selects are
// kept; objects it owns but no longer selects are released; orphans it
// selects are adopted. Objects owned by another controller are never touched.
type RefManager struct {
	Client client.Interface
	// Owner is the controller object; OwnerResource its resource.
	Owner         api.Object
	OwnerResource *api.Resource
	// Resource is the resource of the claimed objects.
	Resource *api.Resource
	Selector labels.Selector

	adoptChecked bool
	adoptErr     error
}

// Claim returns the candidates the owner controls after adoption and
// release. Candidates are shared cache objects; adopted ones are replaced by
// the API's updated copies. Errors of individual objects are joined; the
// claimed list is still valid.
func (m *RefManager) Claim(ctx context.Context, candidates []api.Object) ([]api.Object, error) {
	var claimed []api.Object
	var errs []error
	for _, obj := range candidates {
		out, ok, err := m.claimOne(ctx, obj)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			claimed = append(claimed, out)
		}
	}
	return claimed, errors.Join(errs...)
}

func (m *RefManager) claimOne(ctx context.Context, obj api.Object) (api.Object, bool, error) {
	match := m.Selector.Matches(labels.Set(obj.GetLabels()))
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		if ref.UID != m.Owner.GetUID() {
			return nil, false, nil // another controller's
		}
		if match {
			return obj, true, nil
		}
		// Ours but no longer selected. A deleting owner does not release:
		// the garbage collector is about to handle its dependents.
		if m.Owner.GetDeletionTimestamp() != nil || obj.GetDeletionTimestamp() != nil {
			return nil, false, nil
		}
		return nil, false, m.release(ctx, obj)
	}
	if !match || m.Owner.GetDeletionTimestamp() != nil || obj.GetDeletionTimestamp() != nil ||
		obj.GetNamespace() != m.Owner.GetNamespace() {
		return nil, false, nil
	}
	out, err := m.adopt(ctx, obj)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return out, true, nil
}

// canAdopt re-reads the owner from the API (not the cache) once per claim
// pass: a cached owner may already be deleted, and adopting for a dead owner
// would hand the object to the garbage collector.
func (m *RefManager) canAdopt(ctx context.Context) error {
	if m.adoptChecked {
		return m.adoptErr
	}
	m.adoptChecked = true
	fresh, err := m.Client.Get(ctx, m.OwnerResource, m.Owner.GetNamespace(), m.Owner.GetName())
	switch {
	case err != nil:
		m.adoptErr = err
	case fresh.GetUID() != m.Owner.GetUID():
		m.adoptErr = fmt.Errorf("original %s %s/%s is gone: got uid %s, wanted %s", m.OwnerResource.Kind,
			m.Owner.GetNamespace(), m.Owner.GetName(), fresh.GetUID(), m.Owner.GetUID())
	case fresh.GetDeletionTimestamp() != nil:
		m.adoptErr = fmt.Errorf("%s %s/%s has just been deleted at %v", m.OwnerResource.Kind,
			m.Owner.GetNamespace(), m.Owner.GetName(), fresh.GetDeletionTimestamp())
	}
	return m.adoptErr
}

// ownerRefPatch is the strategic merge patch body used for adopt/release;
// metadata.uid makes the patch fail if the object was replaced meanwhile.
type ownerRefPatch struct {
	Metadata struct {
		OwnerReferences []map[string]any `json:"ownerReferences"`
		UID             types.UID        `json:"uid"`
	} `json:"metadata"`
}

func (m *RefManager) adopt(ctx context.Context, obj api.Object) (api.Object, error) {
	if err := m.canAdopt(ctx); err != nil {
		return nil, fmt.Errorf("can't adopt %s %s/%s: %w", m.Resource.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	var p ownerRefPatch
	p.Metadata.UID = obj.GetUID()
	p.Metadata.OwnerReferences = []map[string]any{{
		"apiVersion": m.OwnerResource.APIVersion(), "kind": m.OwnerResource.Kind,
		"name": m.Owner.GetName(), "uid": m.Owner.GetUID(),
		"controller": true, "blockOwnerDeletion": true,
	}}
	data, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return m.Client.Patch(ctx, m.Resource, obj.GetNamespace(), obj.GetName(), types.StrategicMergePatchType, data, "")
}

func (m *RefManager) release(ctx context.Context, obj api.Object) error {
	var p ownerRefPatch
	p.Metadata.UID = obj.GetUID()
	p.Metadata.OwnerReferences = []map[string]any{{"$patch": "delete", "uid": m.Owner.GetUID()}}
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = m.Client.Patch(ctx, m.Resource, obj.GetNamespace(), obj.GetName(), types.StrategicMergePatchType, data, "")
	// Gone, or replaced by a new object of the same name (uid mismatch): nothing to release.
	if apierrors.IsNotFound(err) || apierrors.IsInvalid(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// NewControllerRef is the ownerReference a controller puts on what it creates.
func NewControllerRef(owner api.Object, r *api.Resource) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{APIVersion: r.APIVersion(), Kind: r.Kind, Name: owner.GetName(),
		UID: owner.GetUID(), Controller: &t, BlockOwnerDeletion: &t}
}
