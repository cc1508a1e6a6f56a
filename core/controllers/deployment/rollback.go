package deployment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
)

// Rollback outcomes that are not failures of the call itself.
var (
	// ErrRollbackSkipped: the Deployment already runs the requested
	// revision's template (kubectl prints "skipped rollback" and succeeds).
	ErrRollbackSkipped = errors.New("skipped rollback")
	// ErrRevisionNotFound: no ReplicaSet of the Deployment has the revision.
	ErrRevisionNotFound = errors.New("unable to find specified revision")
	// ErrNoRolloutHistory: toRevision 0 but there is no previous revision.
	ErrNoRolloutHistory = errors.New("no rollout history found")
	// ErrPaused: kubectl refuses to roll back a paused Deployment.
	ErrPaused = errors.New("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again")
)

// Rollback does what `kubectl rollout undo deployment/NAME
// [--to-revision=N]` does: it finds the Deployment's ReplicaSet with
// revision toRevision (0: the previous revision), and writes that
// ReplicaSet's pod template (without pod-template-hash) and annotations into
// the Deployment with a JSON patch. The controller then rolls out to it,
// reusing the old ReplicaSet, which gets the next revision number. deploy
// names the Deployment; its current state is read from the API.
func Rollback(ctx context.Context, c client.Interface, deploy *appsv1.Deployment, toRevision int64) error {
	if toRevision < 0 {
		return fmt.Errorf("%w: %d", ErrRevisionNotFound, toRevision)
	}
	o, err := c.Get(ctx, api.Deployments, deploy.Namespace, deploy.Name)
	if err != nil {
		return fmt.Errorf("failed to retrieve Deployment %s: %w", deploy.Name, err)
	}
	d := o.(*appsv1.Deployment)
	rs, err := revisionRS(ctx, c, d, toRevision)
	if err != nil {
		return err
	}
	if d.Spec.Paused {
		return ErrPaused
	}
	if EqualIgnoreHash(&rs.Spec.Template, &d.Spec.Template) {
		return fmt.Errorf("%w (current template already matches revision %d)", ErrRollbackSkipped, toRevision)
	}
	tmpl := rs.Spec.Template.DeepCopy()
	delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	// The Deployment keeps its own controller annotations and takes the
	// ReplicaSet's others (e.g. kubernetes.io/change-cause).
	ann := map[string]string{}
	for k := range annotationsNotCopied {
		if v, ok := d.Annotations[k]; ok {
			ann[k] = v
		}
	}
	for k, v := range rs.Annotations {
		if !annotationsNotCopied[k] {
			ann[k] = v
		}
	}
	patch, err := json.Marshal([]map[string]any{
		{"op": "replace", "path": "/spec/template", "value": tmpl},
		// "add" replaces an existing member and also works when there is none.
		{"op": "add", "path": "/metadata/annotations", "value": ann},
	})
	if err != nil {
		return err
	}
	if _, err := c.Patch(ctx, api.Deployments, d.Namespace, d.Name, types.JSONPatchType, patch, ""); err != nil {
		return fmt.Errorf("failed restoring revision %d: %w", toRevision, err)
	}
	return nil
}

// revisionRS finds the ReplicaSet of revision toRevision, or for 0 the one
// with the second-highest revision.
func revisionRS(ctx context.Context, c client.Interface, d *appsv1.Deployment, toRevision int64) (*appsv1.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, err
	}
	objs, _, err := c.List(ctx, api.ReplicaSets, d.Namespace, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("failed to retrieve replica sets from deployment %s: %w", d.Name, err)
	}
	var latest, previous *appsv1.ReplicaSet
	latestRev, previousRev := int64(-1), int64(-1)
	for _, o := range objs {
		rs := o.(*appsv1.ReplicaSet)
		if ref := metav1.GetControllerOfNoCopy(rs); ref == nil || ref.UID != d.UID {
			continue
		}
		v, err := Revision(rs)
		if err != nil {
			continue
		}
		if toRevision > 0 {
			if v == toRevision {
				return rs, nil
			}
			continue
		}
		switch {
		case v > latestRev:
			previous, previousRev = latest, latestRev
			latest, latestRev = rs, v
		case v > previousRev:
			previous, previousRev = rs, v
		}
	}
	if toRevision > 0 {
		return nil, fmt.Errorf("%w: %d", ErrRevisionNotFound, toRevision)
	}
	if previous == nil {
		return nil, fmt.Errorf("%w for deployment %q", ErrNoRolloutHistory, d.Name)
	}
	return previous, nil
}
