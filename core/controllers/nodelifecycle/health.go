package nodelifecycle

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/controller"
)

// nodeHealth is what the controller last saw of a node's heartbeats.
type nodeHealth struct {
	node *corev1.Node // last seen object (shared), for events after deletion
	// probe is the controller's own time of the last observed heartbeat:
	// the Ready condition's lastHeartbeatTime or the lease's renewTime moved.
	probe      time.Time
	hasReady   bool
	heartbeat  metav1.Time
	leaseRenew *metav1.MicroTime
}

// Conditions the controller sets to Unknown when the kubelet goes silent.
var monitoredConditions = []corev1.NodeConditionType{
	corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure,
}

// Reconcile checks one node's health and taints, and comes back after the
// node monitor period.
func (c *Controller) Reconcile(ctx context.Context, name string) (controller.Result, error) {
	obj, ok := c.cfg.Nodes.Get("", name)
	if !ok {
		if h := c.health[name]; h != nil {
			delete(c.health, name)
			c.cfg.Recorder.Event(h.node, corev1.EventTypeNormal, "RemovingNode",
				fmt.Sprintf("Removing Node %s from Controller", name))
		}
		return controller.Result{}, nil
	}
	node := obj.(*corev1.Node)
	now := c.cfg.Clock.Now()
	h := c.observe(node, now)

	grace := c.cfg.NodeMonitorGracePeriod
	if !h.hasReady {
		grace = c.cfg.NodeStartupGracePeriod
	}
	if now.After(h.probe.Add(grace)) {
		if upd := markUnknown(node, now); upd != nil {
			out, err := c.cfg.Client.Update(ctx, upd, "status")
			if err != nil {
				if apierrors.IsNotFound(err) {
					return controller.Result{}, nil
				}
				return controller.Result{}, err
			}
			if readyStatus(node) == corev1.ConditionTrue {
				c.cfg.Recorder.Event(node, corev1.EventTypeNormal, "NodeNotReady",
					fmt.Sprintf("Node %s status is now: NodeNotReady", name))
			}
			node = out.(*corev1.Node)
			h.node = node
		}
	}

	if taints, changed := desiredTaints(node, now); changed {
		upd := node.DeepCopy()
		upd.Spec.Taints = taints
		if _, err := c.cfg.Client.Update(ctx, upd, ""); err != nil {
			if apierrors.IsNotFound(err) {
				return controller.Result{}, nil
			}
			return controller.Result{}, err
		}
	}
	return controller.Result{RequeueAfter: c.cfg.NodeMonitorPeriod}, nil
}

// observe updates the node's health record: a changed Ready heartbeat or a
// newer lease renewTime moves the probe time to now.
func (c *Controller) observe(node *corev1.Node, now time.Time) *nodeHealth {
	ready := condition(node, corev1.NodeReady)
	h := c.health[node.Name]
	switch {
	case h == nil:
		h = &nodeHealth{probe: now}
		c.health[node.Name] = h
		c.cfg.Recorder.Event(node, corev1.EventTypeNormal, "RegisteredNode",
			fmt.Sprintf("Registered Node %s in Controller", node.Name))
		h.setReady(ready)
	case h.hasReady != (ready != nil) || (ready != nil && !ready.LastHeartbeatTime.Equal(&h.heartbeat)):
		h.probe = now
		h.setReady(ready)
	}
	h.node = node
	if obj, ok := c.cfg.Leases.Get(corev1.NamespaceNodeLease, node.Name); ok {
		renew := obj.(*coordinationv1.Lease).Spec.RenewTime
		if renew != nil && (h.leaseRenew == nil || h.leaseRenew.Before(renew)) {
			h.leaseRenew = renew
			h.probe = now
		}
	}
	return h
}

func (h *nodeHealth) setReady(ready *corev1.NodeCondition) {
	h.hasReady = ready != nil
	if ready != nil {
		h.heartbeat = ready.LastHeartbeatTime
	}
}

// markUnknown returns a copy of node with the monitored conditions set to
// Unknown, or nil when they already are. Heartbeat times are kept: they
// record the kubelet's last post, not ours.
func markUnknown(node *corev1.Node, now time.Time) *corev1.Node {
	ts := metav1.NewTime(now.Truncate(time.Second))
	var out *corev1.Node
	for _, t := range monitoredConditions {
		cur := condition(node, t)
		if cur != nil && cur.Status == corev1.ConditionUnknown {
			continue
		}
		if out == nil {
			out = node.DeepCopy()
		}
		if cur == nil {
			out.Status.Conditions = append(out.Status.Conditions, corev1.NodeCondition{
				Type: t, Status: corev1.ConditionUnknown, Reason: "NodeStatusNeverUpdated",
				Message:           "Kubelet never posted node status.",
				LastHeartbeatTime: node.CreationTimestamp, LastTransitionTime: ts,
			})
			continue
		}
		for i := range out.Status.Conditions {
			if c := &out.Status.Conditions[i]; c.Type == t {
				c.Status = corev1.ConditionUnknown
				c.Reason = "NodeStatusUnknown"
				c.Message = "Kubelet stopped posting node status."
				c.LastTransitionTime = ts
			}
		}
	}
	return out
}

func condition(node *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == t {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

// readyStatus is the Ready condition's status, "" when there is none.
func readyStatus(node *corev1.Node) corev1.ConditionStatus {
	if c := condition(node, corev1.NodeReady); c != nil {
		return c.Status
	}
	return ""
}
