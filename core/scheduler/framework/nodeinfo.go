package framework

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// NodeInfo is the scheduler's view of one node: the node object, the pods
// counted on it (bound and assumed) and their summed requests. Fields the
// filters read for every node are copied out of the node object so that the
// hot loop touches one small struct instead of the large corev1.Node.
type NodeInfo struct {
	// The fields filters and scorers read for every node come first, so
	// that a node costs as few cache lines as possible in the hot loops.

	// Requested sums the pods' requests.
	Requested Resource
	// NonZeroRequested sums the pods' non-zero requests, for scoring.
	NonZeroRequested Resource
	// Allocatable is the node's status.allocatable cpu and memory.
	Allocatable Resource
	// AllowedPods is status.allocatable pods.
	AllowedPods int64
	// Pods are the pods counted on the node, in the order they were added.
	Pods []*PodInfo
	// Taints and Labels alias the node object's (read-only).
	Taints []corev1.Taint
	// Unschedulable is spec.unschedulable.
	Unschedulable bool

	Labels map[string]string
	// Name is the node name (also for a node whose object is not known yet).
	Name string
	node *corev1.Node
	// Generation changes whenever the node or its pods change.
	Generation int64
	// index is the position in Snapshot.list, -1 when not listed.
	index int

	// PodsWithAffinity are the counted pods with pod affinity or
	// anti-affinity terms, in the order they were added; usually empty.
	PodsWithAffinity []*PodInfo
	// NumRequiredAntiAffinity counts PodsWithAffinity entries that have
	// required anti-affinity terms.
	NumRequiredAntiAffinity int
	// UsedPorts are the host ports the counted pods bind.
	UsedPorts HostPortInfo
	// affIndex is the position in Snapshot.withAffinity, -1 when absent.
	affIndex int
	// ZoneID is the snapshot's small-integer ID of the node's
	// topology.kubernetes.io/zone value (0 for "", which is also the domain
	// of nodes without the label); HasZone says whether the label is
	// present. Both are set by the Snapshot (zero outside one), so that
	// zone spreading indexes slices instead of hashing strings.
	ZoneID  int32
	HasZone bool
	// HasHostname says whether the node has the kubernetes.io/hostname label.
	HasHostname bool
	// zoned: the node's controlled pods are counted under ZoneID in the
	// snapshot's owner index (the node is listed).
	zoned bool
	// owners counts the live pods per controller on this node, kept by the
	// Snapshot (copies share it read-only). A node runs pods of few
	// controllers, so a scan of this short slice, already near the rest of
	// the NodeInfo in memory, beats a lookup in a cluster-wide map.
	owners []ownerCount
}

type ownerCount struct {
	idx *ownerIndex // the snapshot's index of the controller: compared by pointer
	uid types.UID
	n   int32
}

// OwnedPods is the number of live (not terminating) pods on the node
// controlled by owner, as counted by the Snapshot.
func (n *NodeInfo) OwnedPods(owner types.UID) int32 {
	for i := range n.owners {
		if n.owners[i].uid == owner {
			return n.owners[i].n
		}
	}
	return 0
}

// OwnedBy is OwnedPods for a controller already looked up with
// Snapshot.OwnerKey: it compares pointers instead of UID strings, for
// scoring loops that ask every node about one controller.
func (n *NodeInfo) OwnedBy(key OwnerKey) int32 {
	if key.idx == nil {
		return 0
	}
	for i := range n.owners {
		if n.owners[i].idx == key.idx {
			return n.owners[i].n
		}
	}
	return 0
}

func (n *NodeInfo) addOwned(idx *ownerIndex, owner types.UID, delta int32) {
	for i := range n.owners {
		if n.owners[i].idx == idx {
			if n.owners[i].n += delta; n.owners[i].n <= 0 {
				last := len(n.owners) - 1
				n.owners[i] = n.owners[last]
				n.owners = n.owners[:last]
			}
			return
		}
	}
	if delta > 0 {
		n.owners = append(n.owners, ownerCount{idx: idx, uid: owner, n: delta})
	}
}

// NewNodeInfo builds a NodeInfo for node with no pods.
func NewNodeInfo(node *corev1.Node) *NodeInfo {
	ni := &NodeInfo{index: -1, affIndex: -1}
	if node != nil {
		ni.Name = node.Name
		ni.SetNode(node)
	}
	return ni
}

// Node is the node object, nil when only pods for it are known.
func (n *NodeInfo) Node() *corev1.Node { return n.node }

// SetNode replaces the node object and refreshes the cached fields.
func (n *NodeInfo) SetNode(node *corev1.Node) {
	n.node = node
	if node == nil {
		n.Allocatable, n.AllowedPods, n.Unschedulable, n.Taints, n.Labels, n.HasHostname = Resource{}, 0, false, nil, nil, false
		return
	}
	n.Name = node.Name
	al := node.Status.Allocatable
	n.Allocatable = Resource{}
	if q, ok := al[corev1.ResourceCPU]; ok {
		n.Allocatable.MilliCPU = q.MilliValue()
	}
	if q, ok := al[corev1.ResourceMemory]; ok {
		n.Allocatable.Memory = q.Value()
	}
	n.AllowedPods = 0
	if q, ok := al[corev1.ResourcePods]; ok {
		n.AllowedPods = q.Value()
	}
	n.Unschedulable = node.Spec.Unschedulable
	n.Taints = node.Spec.Taints
	n.Labels = node.Labels
	_, n.HasHostname = node.Labels[corev1.LabelHostname]
}

// AddPod counts pi on the node.
func (n *NodeInfo) AddPod(pi *PodInfo) {
	n.Pods = append(n.Pods, pi)
	n.Requested.Add(pi.Request)
	n.NonZeroRequested.Add(pi.NonZeroRequest)
	if pi.Affinity != nil || pi.HostPorts != nil {
		n.addRare(pi)
	}
}

// addRare records the parts of a pod most pods lack, kept out of AddPod's
// fast path.
func (n *NodeInfo) addRare(pi *PodInfo) {
	if pi.Affinity != nil {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pi)
		if pi.HasRequiredAntiAffinity() {
			n.NumRequiredAntiAffinity++
		}
	}
	for _, p := range pi.HostPorts {
		n.UsedPorts.add(p)
	}
}

// removeRare undoes addRare.
func (n *NodeInfo) removeRare(pi *PodInfo) {
	if pi.Affinity != nil {
		for i, q := range n.PodsWithAffinity {
			if q == pi {
				copy(n.PodsWithAffinity[i:], n.PodsWithAffinity[i+1:])
				n.PodsWithAffinity[len(n.PodsWithAffinity)-1] = nil
				n.PodsWithAffinity = n.PodsWithAffinity[:len(n.PodsWithAffinity)-1]
				break
			}
		}
		if pi.HasRequiredAntiAffinity() {
			n.NumRequiredAntiAffinity--
		}
	}
	for _, p := range pi.HostPorts {
		n.UsedPorts.remove(p)
	}
}

// RemovePod stops counting the pod with uid; it reports the removed entry.
// Nodes hold at most a few hundred pods, so a scan is cheaper than an index.
func (n *NodeInfo) RemovePod(uid types.UID) *PodInfo {
	return n.removePodInfo(nil, uid)
}

// removePodInfo is RemovePod for a pod whose PodInfo on this node may be
// known (want, nil if not): then entries are matched by pointer, which
// costs no UID comparisons. Otherwise, or if want is not found, by UID.
func (n *NodeInfo) removePodInfo(want *PodInfo, uid types.UID) *PodInfo {
	if want != nil {
		for i := len(n.Pods) - 1; i >= 0; i-- {
			if n.Pods[i] == want {
				return n.removeAt(i)
			}
		}
	}
	// Scan from the end: the most recently added pod is the likeliest to
	// go (preemption's reprieve loop adds and removes the last one).
	for i := len(n.Pods) - 1; i >= 0; i-- {
		if n.Pods[i].Pod.UID == uid {
			return n.removeAt(i)
		}
	}
	return nil
}

// removeAt stops counting the pod at position i of n.Pods.
func (n *NodeInfo) removeAt(i int) *PodInfo {
	pi := n.Pods[i]
	copy(n.Pods[i:], n.Pods[i+1:])
	n.Pods[len(n.Pods)-1] = nil
	n.Pods = n.Pods[:len(n.Pods)-1]
	n.Requested.Sub(pi.Request)
	n.NonZeroRequested.Sub(pi.NonZeroRequest)
	if pi.Affinity != nil || pi.HostPorts != nil {
		n.removeRare(pi)
	}
	return pi
}

// RemovePodsBelow stops counting every pod with priority below prio, in
// one pass, appending them to removed in their node order.
func (n *NodeInfo) RemovePodsBelow(prio int32, removed []*PodInfo) []*PodInfo {
	kept := n.Pods[:0]
	for _, pi := range n.Pods {
		if pi.Priority >= prio {
			kept = append(kept, pi)
			continue
		}
		removed = append(removed, pi)
		n.Requested.Sub(pi.Request)
		n.NonZeroRequested.Sub(pi.NonZeroRequest)
		if pi.Affinity != nil || pi.HostPorts != nil {
			n.removeRare(pi)
		}
	}
	clear(n.Pods[len(kept):])
	n.Pods = kept
	return removed
}

// CopyInto makes dst a copy of n that may be changed independently, reusing
// dst's pod slice; it is Clone without allocation for scratch copies.
func (n *NodeInfo) CopyInto(dst *NodeInfo) {
	pods, aff, ports := dst.Pods[:0], dst.PodsWithAffinity[:0], dst.UsedPorts[:0]
	*dst = *n
	dst.Pods = append(pods, n.Pods...)
	dst.PodsWithAffinity = append(aff, n.PodsWithAffinity...)
	dst.UsedPorts = append(ports, n.UsedPorts...)
	dst.index, dst.affIndex = -1, -1
}

// Clone copies the NodeInfo so that pods can be added or removed on the
// copy (preemption dry runs) without touching the snapshot.
func (n *NodeInfo) Clone() *NodeInfo {
	c := *n
	c.Pods = append([]*PodInfo(nil), n.Pods...)
	c.PodsWithAffinity = append([]*PodInfo(nil), n.PodsWithAffinity...)
	c.UsedPorts = append(HostPortInfo(nil), n.UsedPorts...)
	c.index, c.affIndex = -1, -1
	return &c
}
