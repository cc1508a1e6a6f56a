package nodelifecycle

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/controller"
)

// ReconcilePod marks a pod on a not-ready node not ready and deletes it when
// the node's NoExecute taints call for it, coming back when a toleration
// runs out.
func (c *Controller) ReconcilePod(ctx context.Context, key string) (controller.Result, error) {
	obj, ok := c.cfg.Pods.GetKey(key)
	if !ok {
		return controller.Result{}, nil
	}
	pod := obj.(*corev1.Pod)
	if pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil {
		return controller.Result{}, nil
	}
	nobj, ok := c.cfg.Nodes.Get("", pod.Spec.NodeName)
	if !ok {
		return controller.Result{}, nil
	}
	node := nobj.(*corev1.Node)
	now := c.cfg.Clock.Now()

	if s := readyStatus(node); s != "" && s != corev1.ConditionTrue && podReady(pod) {
		out, err := c.markNotReady(ctx, pod, now)
		if err != nil {
			if apierrors.IsNotFound(err) {
				return controller.Result{}, nil
			}
			return controller.Result{}, err
		}
		pod = out
	}

	at, evict := c.evictionTime(node, pod, now)
	if !evict {
		return controller.Result{}, nil
	}
	if now.Before(at) {
		return controller.Result{RequeueAfter: at.Sub(now)}, nil
	}
	return controller.Result{}, c.evict(ctx, pod, now)
}

// markNotReady is Kubernetes' MarkPodsNotReady for one pod.
func (c *Controller) markNotReady(ctx context.Context, pod *corev1.Pod, now time.Time) (*corev1.Pod, error) {
	upd := pod.DeepCopy()
	for i := range upd.Status.Conditions {
		if cond := &upd.Status.Conditions[i]; cond.Type == corev1.PodReady {
			cond.Status = corev1.ConditionFalse
			cond.LastTransitionTime = metav1.NewTime(now.Truncate(time.Second))
		}
	}
	out, err := c.cfg.Client.Update(ctx, upd, "status")
	if err != nil {
		return nil, err
	}
	c.cfg.Recorder.Event(pod, corev1.EventTypeWarning, "NodeNotReady", "Node is not ready")
	return out.(*corev1.Pod), nil
}

// evictionTime is when the pod must go because of the node's NoExecute
// taints: now if one is not tolerated, else the earliest timeAdded plus
// tolerationSeconds over the taints; evict is false when every taint is
// tolerated forever (or there are none).
func (c *Controller) evictionTime(node *corev1.Node, pod *corev1.Pod, now time.Time) (at time.Time, evict bool) {
	for _, t := range noExecuteTaints(node) {
		var match *corev1.Toleration
		for i := range pod.Spec.Tolerations {
			if tolerates(&pod.Spec.Tolerations[i], &t) {
				match = &pod.Spec.Tolerations[i]
				break
			}
		}
		if match == nil {
			return now, true
		}
		if match.TolerationSeconds == nil {
			continue
		}
		start := now
		if t.TimeAdded != nil {
			start = t.TimeAdded.Time
		} else if seen, ok := c.taintSeen[seenKey(node.Name, t)]; ok {
			start = seen
		}
		secs := max(*match.TolerationSeconds, 0)
		deadline := start.Add(time.Duration(secs) * time.Second)
		if !evict || deadline.Before(at) {
			at, evict = deadline, true
		}
	}
	return at, evict
}

// evict is the taint eviction controller's deletion: an event, the
// DisruptionTarget condition, then a graceful delete.
func (c *Controller) evict(ctx context.Context, pod *corev1.Pod, now time.Time) error {
	c.cfg.Recorder.Event(pod, corev1.EventTypeNormal, "TaintManagerEviction",
		fmt.Sprintf("Marking for deletion Pod %s/%s", pod.Namespace, pod.Name))
	if !hasCondition(pod, corev1.DisruptionTarget) {
		upd := pod.DeepCopy()
		upd.Status.Conditions = append(upd.Status.Conditions, corev1.PodCondition{
			Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
			Reason: "DeletionByTaintManager", Message: "Taint manager: deleting due to NoExecute taint",
			LastTransitionTime: metav1.NewTime(now.Truncate(time.Second)),
		})
		if _, err := c.cfg.Client.Update(ctx, upd, "status"); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
	}
	uid := pod.UID
	_, _, err := c.cfg.Client.Delete(ctx, api.Pods, pod.Namespace, pod.Name,
		metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasCondition(p *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
