// Package podgc is kube-controller-manager's pod garbage collector (PodGC).
//
// Every gc period (20s) it makes four passes, in Kubernetes' order:
//
//   - terminated pods: when more pods than the threshold
//     (--terminated-pod-gc-threshold, default 12500; 0 or less turns this
//     pass off) are in a terminal phase, the excess is deleted, pods evicted
//     by a kubelet (phase Failed, reason Evicted) first, then the oldest by
//     creationTimestamp (name breaks ties);
//   - terminating pods on a node that is not Ready and carries the
//     node.kubernetes.io/out-of-service taint (non-graceful node shutdown:
//     an administrator's word that the machine is gone) are force-deleted;
//   - orphaned pods, bound to a node that does not exist: a node missing from
//     the cache is quarantined for 40s, then looked up through the API (not
//     the cache); if the API says NotFound, its pods get the DisruptionTarget
//     condition (reason DeletionByPodGC, "PodGC: node no longer exists") and
//     are force-deleted. A node that still exists is looked up again every
//     40s while it stays missing from the cache;
//   - terminating pods that were never scheduled are force-deleted.
//
// Force deletion is what Kubernetes' markFailedAndDeletePod does: a pod not
// yet Succeeded or Failed is first patched to phase Failed (a strategic merge
// patch of its status that carries the pod's UID as a precondition), then
// deleted with grace period 0. PodGC records no Events; it writes the log
// lines Kubernetes writes at its default verbosity through Config.Log.
//
// Cost: Kubernetes lists every pod and node each period. Here the periodic
// pass reads indexes instead, so an idle pass is O(1): a pod index with a
// bucket of terminal pods (its size is the count compared with the
// threshold) and one of unscheduled terminating pods, a node index of nodes
// with the out-of-service taint, the pods-by-node index for the pods of one
// node, and a set of candidate orphan nodes kept by informer handlers (a
// pod bound to a node the cache lacks, a node deleted while pods are bound
// to it).
//
// Differences, on purpose:
//   - the delete carries a UID precondition, so a pod recreated under the
//     same name (a StatefulSet's) between the cache read and the call is not
//     deleted in its place;
//   - a pod handled by one pass is not handled again by a later pass of the
//     same period (Kubernetes may try it twice and log a NotFound); NotFound
//     answers are not reported.
package podgc
