package kubelet

import (
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/clock"
)

// Labels the kubelet puts on its Node, as Kubernetes' does.
const (
	LabelHostname = "kubernetes.io/hostname"
	LabelOS       = "kubernetes.io/os"
	LabelArch     = "kubernetes.io/arch"
)

// now is the API's time: whole seconds, as objects are serialised, so that
// what the kubelet compares equals what it reads back in either world.
func (k *Kubelet) now() metav1.Time { return metav1.NewTime(k.clock.Now().Truncate(time.Second)) }

// register creates the Node, or adopts an existing one (making sure it has
// the kubelet's labels), then writes its status. Failures retry every second.
func (k *Kubelet) register() {
	if ok, created := k.tryRegister(); ok {
		k.registered = true
		k.rec.Event(k.node, corev1.EventTypeNormal, "Starting", "Starting kubelet.")
		if created {
			k.nodeEvents(&corev1.NodeStatus{}, &k.node.Status)
		}
		k.updateNodeStatus(true)
		return
	}
	k.regTimer = k.after(time.Second, func() { k.regTimer = nil; k.register() })
}

func (k *Kubelet) tryRegister() (ok, created bool) {
	want := k.initialNode()
	out, err := k.client.Create(k.ctx, want, metav1.CreateOptions{})
	if err == nil {
		k.setNode(out.(*corev1.Node))
		return true, true
	}
	if !apierrors.IsAlreadyExists(err) {
		k.fail(err)
		return false, false
	}
	cur, err := k.client.Get(k.ctx, api.Nodes, "", k.cfg.NodeName)
	if err != nil {
		k.fail(err)
		return false, false
	}
	node := cur.(*corev1.Node)
	missing := false
	for key, v := range want.Labels {
		if node.Labels[key] != v {
			missing = true
		}
	}
	if missing {
		n := node.DeepCopy()
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		for key, v := range want.Labels {
			n.Labels[key] = v
		}
		out, err := k.client.Update(k.ctx, n, "")
		if err != nil {
			k.fail(err)
			return false, false
		}
		node = out.(*corev1.Node)
	}
	k.setNode(node)
	return true, false
}

// setNode records the latest Node object if it is newer than the one held.
func (k *Kubelet) setNode(n *corev1.Node) {
	if k.node == nil || newer(n.ResourceVersion, k.node.ResourceVersion) || n.UID != k.node.UID {
		k.node = n
	}
}

// initialNode is the Node the kubelet registers: the template with the
// kubelet's labels, and a first status.
func (k *Kubelet) initialNode() *corev1.Node {
	n := &corev1.Node{}
	if t := k.cfg.Node; t != nil {
		n.Labels = maps.Clone(t.Labels)
		n.Annotations = maps.Clone(t.Annotations)
		n.Spec.Taints = append([]corev1.Taint(nil), t.Spec.Taints...)
		n.Spec.Unschedulable = t.Spec.Unschedulable
		n.Spec.PodCIDR = t.Spec.PodCIDR
		n.Spec.PodCIDRs = append([]string(nil), t.Spec.PodCIDRs...)
	}
	n.Name = k.cfg.NodeName
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	for key, v := range map[string]string{LabelHostname: k.cfg.NodeName, LabelOS: "linux", LabelArch: "amd64"} {
		if _, ok := n.Labels[key]; !ok {
			n.Labels[key] = v
		}
	}
	if n.Spec.Unschedulable {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: api.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	}
	n.Status = k.nodeStatus(nil)
	return n
}

// capacity is the node's capacity with the pod count defaulted. The lists
// are computed once and shared (never modified).
func (k *Kubelet) capacity() corev1.ResourceList {
	if k.capList == nil {
		k.capList = k.computeCapacity()
	}
	return k.capList
}

func (k *Kubelet) allocatable() corev1.ResourceList {
	if k.allocList == nil {
		k.allocList = k.computeAllocatable()
	}
	return k.allocList
}

func (k *Kubelet) computeCapacity() corev1.ResourceList {
	out := corev1.ResourceList{}
	if t := k.cfg.Node; t != nil {
		for name, q := range t.Status.Capacity {
			out[name] = q.DeepCopy()
		}
	}
	if _, ok := out[corev1.ResourcePods]; !ok {
		out[corev1.ResourcePods] = *resource.NewQuantity(DefaultMaxPods, resource.DecimalSI)
	}
	return out
}

func (k *Kubelet) computeAllocatable() corev1.ResourceList {
	out := k.computeCapacity()
	if t := k.cfg.Node; t != nil {
		for name, q := range t.Status.Allocatable {
			out[name] = q.DeepCopy()
		}
	}
	return out
}

// nodeStatus computes the status the kubelet reports. Conditions keep their
// transition times from old when unchanged; heartbeats are the current time.
func (k *Kubelet) nodeStatus(old *corev1.NodeStatus) corev1.NodeStatus {
	now := k.now()
	st := corev1.NodeStatus{
		Capacity:    k.capacity(),
		Allocatable: k.allocatable(),
		NodeInfo: corev1.NodeSystemInfo{
			MachineID: k.machineID, SystemUUID: k.machineID, BootID: k.bootID,
			KernelVersion: "6.1.0", OSImage: "drydock node", OperatingSystem: "linux", Architecture: "amd64",
			ContainerRuntimeVersion: k.runtimeVersion(), KubeletVersion: Version,
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
	}
	if t := k.cfg.Node; t != nil {
		// Real mode's template carries what the host reports.
		if ti := t.Status.NodeInfo; ti.KernelVersion != "" {
			st.NodeInfo.KernelVersion, st.NodeInfo.OSImage = ti.KernelVersion, ti.OSImage
			st.NodeInfo.OperatingSystem, st.NodeInfo.Architecture = ti.OperatingSystem, ti.Architecture
		}
		if p := t.Status.DaemonEndpoints.KubeletEndpoint.Port; p != 0 {
			st.DaemonEndpoints.KubeletEndpoint.Port = p
		}
	}
	if t := k.cfg.Node; t != nil && len(t.Status.Addresses) > 0 {
		st.Addresses = append([]corev1.NodeAddress(nil), t.Status.Addresses...)
	} else {
		st.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: k.cfg.NodeName}}
	}
	mine := []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"},
	}
	if msg := readinessMessage(k.readinessErrors()); msg != "" {
		mine[3].Status, mine[3].Reason, mine[3].Message = corev1.ConditionFalse, "KubeletNotReady", msg
	}
	for _, c := range mine {
		c.LastHeartbeatTime = now
		c.LastTransitionTime = now
		if old != nil {
			for _, o := range old.Conditions {
				if o.Type == c.Type && o.Status == c.Status {
					c.LastTransitionTime = o.LastTransitionTime
				}
			}
		}
		st.Conditions = append(st.Conditions, c)
	}
	if old != nil {
		// Conditions other components own (e.g. NetworkUnavailable) stay.
		for _, o := range old.Conditions {
			switch o.Type {
			case corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure, corev1.NodeReady:
			default:
				st.Conditions = append(st.Conditions, o)
			}
		}
		st.Images, st.VolumesInUse, st.VolumesAttached = old.Images, old.VolumesInUse, old.VolumesAttached
		st.Config, st.RuntimeHandlers, st.Features = old.Config, old.RuntimeHandlers, old.Features
	}
	return st
}

func (k *Kubelet) runtimeVersion() string {
	name, version := k.rt.Version()
	return name + "://" + version
}

// scheduleStatus runs the status loop every NodeStatusUpdateFrequency.
func (k *Kubelet) scheduleStatus() {
	k.statusTimer = clock.Rearm(k.clock, k.statusSpare, k.cfg.NodeStatusUpdateFrequency, k.statusTick)
	k.statusSpare = nil
}

// updateNodeStatus writes the node status when it changed or when
// NodeStatusReportFrequency has passed since the last write (or if force).
func (k *Kubelet) updateNodeStatus(force bool) {
	if !k.cfg.WatchNode {
		// Like the kubelet, read the Node before every status computation,
		// so changes others made (a NotReady mark) are seen and corrected.
		cur, err := k.client.Get(k.ctx, api.Nodes, "", k.cfg.NodeName)
		if err != nil {
			k.fail(err)
			return
		}
		k.setNode(cur.(*corev1.Node))
	}
	for attempt := 0; attempt < 3; attempt++ {
		base := k.node
		due := !k.clock.Now().Before(k.lastReport.Add(k.cfg.NodeStatusReportFrequency))
		if !force && !due && base == k.statusSame && k.rtStatus == nil {
			// Already compared equal, and nodeStatus reads nothing else
			// that changes while the kubelet runs (Start resets this).
			// With a runtime that reports its status, readiness changes
			// with it and with time (a runtime not heard from is down).
			return
		}
		st := k.nodeStatus(&base.Status)
		if !force && !due && nodeStatusEqual(&base.Status, &st) {
			k.statusSame = base
			return
		}
		n := *base
		n.Status = st
		out, err := k.client.Update(k.ctx, &n, "status")
		if err == nil {
			k.setNode(out.(*corev1.Node))
			k.lastReport = k.clock.Now()
			k.nodeEvents(&base.Status, &st)
			return
		}
		k.fail(err)
		if !apierrors.IsConflict(err) {
			return
		}
		cur, err := k.client.Get(k.ctx, api.Nodes, "", k.cfg.NodeName)
		if err != nil {
			k.fail(err)
			return
		}
		k.node = cur.(*corev1.Node)
	}
}

// nodeEvents records the condition transitions the kubelet reports, as
// "Node x status is now: NodeReady" and the like.
func (k *Kubelet) nodeEvents(old, cur *corev1.NodeStatus) {
	for _, c := range cur.Conditions {
		var reason string
		switch c.Type {
		case corev1.NodeMemoryPressure:
			reason = "NodeHasSufficientMemory"
		case corev1.NodeDiskPressure:
			reason = "NodeHasNoDiskPressure"
		case corev1.NodePIDPressure:
			reason = "NodeHasSufficientPID"
		case corev1.NodeReady:
			reason = "NodeReady"
			if c.Status != corev1.ConditionTrue {
				reason = "NodeNotReady"
			}
		default:
			continue
		}
		was := corev1.ConditionStatus("")
		for _, o := range old.Conditions {
			if o.Type == c.Type {
				was = o.Status
			}
		}
		if was != c.Status && (was == "" || c.Type == corev1.NodeReady) {
			k.rec.Event(k.node, corev1.EventTypeNormal, reason, "Node "+k.cfg.NodeName+" status is now: "+reason)
		}
	}
}

// nodeStatusEqual compares what the kubelet reports, ignoring heartbeat
// times. It runs every NodeStatusUpdateFrequency on every node, so it
// compares field by field instead of by reflection.
func nodeStatusEqual(a, b *corev1.NodeStatus) bool {
	if len(a.Conditions) != len(b.Conditions) || len(a.Addresses) != len(b.Addresses) ||
		a.NodeInfo != b.NodeInfo || a.DaemonEndpoints != b.DaemonEndpoints ||
		!resourcesEqual(a.Capacity, b.Capacity) || !resourcesEqual(a.Allocatable, b.Allocatable) {
		return false
	}
	for i := range a.Conditions {
		x, y := &a.Conditions[i], &b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message ||
			!x.LastTransitionTime.Equal(&y.LastTransitionTime) {
			return false
		}
	}
	for i := range a.Addresses {
		if a.Addresses[i] != b.Addresses[i] {
			return false
		}
	}
	return true
}

func resourcesEqual(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for name, q := range a {
		o, ok := b[name]
		if !ok || q.Cmp(o) != 0 {
			return false
		}
	}
	return true
}
