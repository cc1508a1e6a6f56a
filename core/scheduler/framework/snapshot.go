package framework

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Snapshot is the scheduler's incrementally maintained view of the cluster.
// Every change costs O(1) (plus a scan of one node's pods on removal); no
// operation rebuilds the node list. The scheduler is single-threaded, so the
// same structure serves as the cache and as the per-cycle snapshot.
type Snapshot struct {
	// list holds the nodes whose object is known, in a stable order (insertion,
	// with swap-removal), which is the order filtering walks.
	list   []*NodeInfo
	byName map[string]*NodeInfo
	// podNode maps each counted pod to its node and its PodInfo there.
	podNode map[types.UID]podRef
	gen     int64
	// priorities counts counted pods per priority, so preemption can tell
	// in O(#priorities) that no pod anywhere has a lower priority.
	priorities map[int32]int
	// slab holds NodeInfos allocated together, so that walking the node
	// list touches contiguous memory the hardware prefetches, instead of
	// objects scattered over the heap.
	slab []NodeInfo

	// withAffinity lists the NodeInfos that have pods with pod affinity or
	// anti-affinity (kube-scheduler's HavePodsWithAffinityList), so inter-pod
	// affinity visits only them; numAffinity and numRequiredAnti count those
	// pods, so that with none the plugin costs nothing.
	withAffinity    []*NodeInfo
	numAffinity     int
	numRequiredAnti int
	// owned indexes, per controller UID, the live (not terminating) pods
	// of that controller by node and by zone, for default topology
	// spreading.
	owned map[types.UID]*ownerIndex
	// zoneIDs interns zone label values ("" is 0); IDs are never reused.
	zoneIDs map[string]int32
	// view is OwnerCounts' scratch.
	view ownerView
}

const slabSize = 256

func (s *Snapshot) newNodeInfo(name string) *NodeInfo {
	if len(s.slab) == cap(s.slab) {
		s.slab = make([]NodeInfo, 0, slabSize)
	}
	s.slab = append(s.slab, NodeInfo{Name: name, index: -1, affIndex: -1})
	return &s.slab[len(s.slab)-1]
}

// NewSnapshot returns an empty snapshot.
func NewSnapshot() *Snapshot {
	return &Snapshot{byName: map[string]*NodeInfo{}, podNode: map[types.UID]podRef{}, priorities: map[int32]int{},
		owned: map[types.UID]*ownerIndex{}, zoneIDs: map[string]int32{"": 0}}
}

func (s *Snapshot) bump(ni *NodeInfo) {
	s.gen++
	ni.Generation = s.gen
}

// NumNodes is the number of nodes with a known node object.
func (s *Snapshot) NumNodes() int { return len(s.list) }

// List is the nodes in filtering order. The slice is the snapshot's own:
// callers must not modify or retain it across changes.
func (s *Snapshot) List() []*NodeInfo { return s.list }

// Get returns the NodeInfo for a listed node, or nil.
func (s *Snapshot) Get(name string) *NodeInfo {
	ni := s.byName[name]
	if ni == nil || ni.node == nil {
		return nil
	}
	return ni
}

// NodeOf returns the node the pod with uid is counted on, or nil.
func (s *Snapshot) NodeOf(uid types.UID) *NodeInfo { return s.podNode[uid].ni }

// PodInfoOf is the PodInfo counted for the pod, nil if it is not counted.
func (s *Snapshot) PodInfoOf(uid types.UID) *PodInfo { return s.podNode[uid].pi }

// podRef is where a counted pod is: its node and its PodInfo, so that
// removing or replacing it finds it by pointer instead of comparing UIDs
// down the node's pod list.
type podRef struct {
	ni *NodeInfo
	pi *PodInfo
}

// AddNode adds or replaces a node.
func (s *Snapshot) AddNode(node *corev1.Node) *NodeInfo {
	ni := s.byName[node.Name]
	if ni == nil {
		ni = s.newNodeInfo(node.Name)
		s.byName[node.Name] = ni
	}
	ni.SetNode(node)
	s.rezone(ni)
	if ni.index < 0 {
		ni.index = len(s.list)
		s.list = append(s.list, ni)
	}
	s.bump(ni)
	return ni
}

// UpdateNode replaces the node object.
func (s *Snapshot) UpdateNode(node *corev1.Node) *NodeInfo { return s.AddNode(node) }

// RemoveNode drops the node from the list. Pods still counted on it keep
// their NodeInfo until they are removed, as kube-scheduler's cache does, so
// that a node re-added before its pods are gone sees them.
func (s *Snapshot) RemoveNode(name string) {
	ni := s.byName[name]
	if ni == nil {
		return
	}
	if i := ni.index; i >= 0 {
		last := len(s.list) - 1
		s.list[i] = s.list[last]
		s.list[i].index = i
		s.list[last] = nil
		s.list = s.list[:last]
		ni.index = -1
	}
	ni.SetNode(nil)
	s.rezone(ni)
	s.bump(ni)
	if len(ni.Pods) == 0 {
		delete(s.byName, name)
	}
}

// AddPod counts pi on nodeName. A pod already counted (on any node) is
// replaced, which is how an assumed pod is confirmed by its bound object.
func (s *Snapshot) AddPod(pi *PodInfo, nodeName string) {
	owned := pi.ControllerUID != "" && pi.Pod.DeletionTimestamp == nil
	kept := false
	if old := s.podNode[pi.Pod.UID]; old.ni != nil {
		// A live pod replaced on the same listed node under the same
		// controller (a status change, the common update) leaves the owner
		// counts as they are: -1 and +1 would cancel.
		var keep *PodInfo
		if owned && old.ni.node != nil && old.ni == s.byName[nodeName] && old.pi != nil &&
			old.pi.ControllerUID == pi.ControllerUID && old.pi.Pod.DeletionTimestamp == nil {
			keep = old.pi
		}
		_, kept = s.removePod(pi.Pod.UID, keep)
	}
	ni := s.byName[nodeName]
	if ni == nil {
		ni = s.newNodeInfo(nodeName)
		s.byName[nodeName] = ni
	}
	ni.AddPod(pi)
	s.podNode[pi.Pod.UID] = podRef{ni: ni, pi: pi}
	s.priorities[pi.Priority]++
	if pi.Affinity != nil {
		s.trackAffinity(ni, pi, 1)
	}
	if owned && !kept {
		s.trackOwned(ni, pi.ControllerUID, 1)
	}
	s.bump(ni)
}

// trackAffinity keeps the affinity counters and the withAffinity list in
// step after ni gained (delta 1) or lost (-1) the affinity pod pi.
func (s *Snapshot) trackAffinity(ni *NodeInfo, pi *PodInfo, delta int) {
	s.numAffinity += delta
	if pi.HasRequiredAntiAffinity() {
		s.numRequiredAnti += delta
	}
	switch has := len(ni.PodsWithAffinity) > 0; {
	case has && ni.affIndex < 0:
		ni.affIndex = len(s.withAffinity)
		s.withAffinity = append(s.withAffinity, ni)
	case !has && ni.affIndex >= 0:
		i, last := ni.affIndex, len(s.withAffinity)-1
		s.withAffinity[i] = s.withAffinity[last]
		s.withAffinity[i].affIndex = i
		s.withAffinity[last] = nil
		s.withAffinity = s.withAffinity[:last]
		ni.affIndex = -1
	}
}

// NodesWithAffinityPods lists the NodeInfos holding pods with pod affinity
// or anti-affinity terms, in no meaningful order (callers only sum over
// it). Entries may have no node object (Node() == nil). The slice is the
// snapshot's own.
func (s *Snapshot) NodesWithAffinityPods() []*NodeInfo { return s.withAffinity }

// NumPodsWithAffinity counts counted pods with any pod (anti-)affinity.
func (s *Snapshot) NumPodsWithAffinity() int { return s.numAffinity }

// NumPodsWithRequiredAntiAffinity counts counted pods with required
// anti-affinity terms.
func (s *Snapshot) NumPodsWithRequiredAntiAffinity() int { return s.numRequiredAnti }

// RemovePod stops counting the pod with uid and reports its node name
// ("" if it was not counted).
func (s *Snapshot) RemovePod(uid types.UID) string {
	name, _ := s.removePod(uid, nil)
	return name
}

// removePod is RemovePod, except that the owner counts are left alone if
// the entry removed is keep (AddPod re-adds it at once); kept says so.
func (s *Snapshot) removePod(uid types.UID, keep *PodInfo) (name string, kept bool) {
	ref := s.podNode[uid]
	ni := ref.ni
	if ni == nil {
		return "", false
	}
	delete(s.podNode, uid)
	if pi := ni.removePodInfo(ref.pi, uid); pi != nil {
		if s.priorities[pi.Priority]--; s.priorities[pi.Priority] == 0 {
			delete(s.priorities, pi.Priority)
		}
		if pi.Affinity != nil {
			s.trackAffinity(ni, pi, -1)
		}
		if pi.ControllerUID != "" && pi.Pod.DeletionTimestamp == nil {
			if kept = keep != nil && pi == keep; !kept {
				s.trackOwned(ni, pi.ControllerUID, -1)
			}
		}
	}
	s.bump(ni)
	if ni.node == nil && len(ni.Pods) == 0 {
		delete(s.byName, ni.Name)
	}
	return ni.Name, kept
}

// HasPodBelow reports whether any counted pod has a priority below p. The
// answer does not depend on map iteration order.
func (s *Snapshot) HasPodBelow(p int32) bool {
	for prio := range s.priorities {
		if prio < p {
			return true
		}
	}
	return false
}
