// Package nodelifecycle is the node lifecycle controller of
// kube-controller-manager together with its taint eviction controller.
//
// Node health: the kubelet renews a coordination.k8s.io/v1 Lease named after
// its node in kube-node-lease every 10s and posts node status. The controller
// remembers, on its own clock, when it last saw the lease renewTime or the
// NodeReady condition's lastHeartbeatTime advance (Kubernetes' probeTimestamp).
// When neither advanced within the node monitor grace period (40s; 60s for a
// node that never posted a Ready condition) it sets NodeReady, MemoryPressure,
// DiskPressure and PIDPressure to Unknown (reason NodeStatusUnknown, "Kubelet
// stopped posting node status."). Every node is checked each node monitor
// period (5s) through RequeueAfter, so the cost is O(nodes) per period.
//
// Taints: NoExecute node.kubernetes.io/not-ready when Ready=False and
// node.kubernetes.io/unreachable when Ready=Unknown (swapped, removed once
// Ready=True), and the NoSchedule taints of TaintNodesByCondition (not-ready,
// unreachable, memory/disk/pid pressure, network-unavailable, and
// unschedulable for spec.unschedulable). Taints the controller adds carry
// timeAdded.
//
// Pods: pods on a node whose Ready condition is not True are marked not ready
// (MarkPodsNotReady, event NodeNotReady). Pods on a node with NoExecute taints
// they do not tolerate are deleted at once; pods that tolerate every taint
// for a bounded tolerationSeconds are deleted once that many seconds have
// passed since the taint's timeAdded (event TaintManagerEviction, condition
// DisruptionTarget). Pod work happens on a second runner keyed by pod, fed
// only when a node's NoExecute taints or readiness change, so the periodic
// node pass never touches pods.
//
// Left out, on purpose:
//   - zone-based disruption handling: zone states (Normal, PartialDisruption,
//     FullDisruption), the per-zone rate limiting of NoExecute tainting
//     (--node-eviction-rate, --secondary-node-eviction-rate) and the
//     large-cluster thresholds. Every node is tainted as soon as it qualifies.
//   - eviction timers start at the taint's timeAdded rather than when the
//     taint manager first saw the taint, so they survive controller restarts;
//     taints without timeAdded start when this controller first sees them.
//   - toleration operators Lt/Gt (alpha in Kubernetes) are not matched.
package nodelifecycle
