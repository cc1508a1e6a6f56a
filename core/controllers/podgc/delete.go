package podgc

import (
	"context"
	"encoding/json"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/informer"
)

// forceDelete is Kubernetes' markFailedAndDeletePodWithCondition: a pod not
// yet in a terminal phase is patched to Failed (with cond, if given), then
// deleted with grace period 0. success is logged after it worked (the
// orphan and unscheduled passes say so in Kubernetes); failures other than
// NotFound are reported.
func (c *Controller) forceDelete(ctx context.Context, p *corev1.Pod, cond *corev1.PodCondition, success string) {
	key := informer.Key(p)
	if c.handled[key] {
		return
	}
	if c.handled == nil {
		c.handled = map[string]bool{}
	}
	c.handled[key] = true
	c.log("PodGC is force deleting Pod", "pod", key)
	if err := c.markFailedAndDelete(ctx, p, cond); err != nil {
		if !isNotFound(err) {
			c.report(err)
		}
		return
	}
	if success != "" {
		c.log(success, "pod", key)
	}
}

func (c *Controller) markFailedAndDelete(ctx context.Context, p *corev1.Pod, cond *corev1.PodCondition) error {
	if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
		patch, err := failedPatch(p, cond, c.cfg.Clock.Now())
		if err != nil {
			return err
		}
		if _, err := c.cfg.Client.Patch(ctx, api.Pods, p.Namespace, p.Name, types.StrategicMergePatchType, patch, "status"); err != nil {
			return err
		}
	}
	zero := int64(0)
	uid := p.UID
	_, _, err := c.cfg.Client.Delete(ctx, api.Pods, p.Namespace, p.Name,
		metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
	return err
}

// statusPatch is a strategic merge patch of a pod's phase and conditions
// (merged by type, so other conditions stay) whose metadata.uid makes the
// API server refuse it for another pod of the same name.
type statusPatch struct {
	Metadata struct {
		UID types.UID `json:"uid"`
	} `json:"metadata"`
	Status struct {
		Phase      corev1.PodPhase       `json:"phase"`
		Conditions []corev1.PodCondition `json:"conditions,omitempty"`
	} `json:"status"`
}

// failedPatch sets phase Failed and, if cond is given, that condition; its
// lastTransitionTime is now unless the pod already has the condition with
// the same status.
func failedPatch(p *corev1.Pod, cond *corev1.PodCondition, now time.Time) ([]byte, error) {
	var sp statusPatch
	sp.Metadata.UID = p.UID
	sp.Status.Phase = corev1.PodFailed
	if cond != nil {
		c := *cond
		c.LastTransitionTime = metav1.NewTime(now.Truncate(time.Second))
		for _, old := range p.Status.Conditions {
			if old.Type == c.Type && old.Status == c.Status {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
		sp.Status.Conditions = []corev1.PodCondition{c}
	}
	return json.Marshal(&sp)
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }
