package framework

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ownerIndex counts one controller's live (not terminating) pods per node
// and per zone, so that default topology spreading reads domain counts
// instead of scanning every node's pods each cycle.
type ownerIndex struct {
	nodes map[*NodeInfo]int32
	// zones counts pods on listed nodes by ZoneID (0 also holds nodes
	// without a zone label, which Kubernetes counts as a domain of their
	// own).
	zones []int32
}

func (s *Snapshot) trackOwned(ni *NodeInfo, owner types.UID, delta int32) {
	idx := s.owned[owner]
	if idx == nil {
		idx = &ownerIndex{nodes: map[*NodeInfo]int32{}}
		s.owned[owner] = idx
	}
	if idx.nodes[ni] += delta; idx.nodes[ni] <= 0 {
		delete(idx.nodes, ni)
	}
	ni.addOwned(idx, owner, delta)
	if ni.zoned {
		idx.addZone(ni.ZoneID, delta)
	}
	if len(idx.nodes) == 0 {
		delete(s.owned, owner)
	}
}

func (idx *ownerIndex) addZone(id, delta int32) {
	for int(id) >= len(idx.zones) {
		idx.zones = append(idx.zones, 0)
	}
	idx.zones[id] += delta
}

// zoneID interns a zone label value.
func (s *Snapshot) zoneID(zone string) int32 {
	id, ok := s.zoneIDs[zone]
	if !ok {
		id = int32(len(s.zoneIDs))
		s.zoneIDs[zone] = id
	}
	return id
}

// NumZoneIDs bounds the ZoneIDs handed out so far (IDs are below it).
func (s *Snapshot) NumZoneIDs() int { return len(s.zoneIDs) }

// rezone refreshes ni's zone fields from its node object, after the node
// was added, updated or removed, and moves its controlled pods between
// zones in the owner index when the zone changed. Heartbeat updates cost
// one label lookup.
func (s *Snapshot) rezone(ni *NodeInfo) {
	zoned := ni.node != nil
	zone, has := "", false
	if zoned {
		zone, has = ni.Labels[corev1.LabelTopologyZone]
	}
	id := int32(0)
	if zone != "" {
		id = s.zoneID(zone)
	}
	ni.HasZone = has
	if zoned == ni.zoned && id == ni.ZoneID {
		return
	}
	for _, pi := range ni.Pods {
		if pi.ControllerUID == "" || pi.Pod.DeletionTimestamp != nil {
			continue
		}
		idx := s.owned[pi.ControllerUID]
		if ni.zoned {
			idx.addZone(ni.ZoneID, -1)
		}
		if zoned {
			idx.addZone(id, 1)
		}
	}
	ni.ZoneID, ni.zoned = id, zoned
}

// OwnedNodes maps each NodeInfo to the number of live (not terminating)
// pods controlled by owner counted on it; nil when there are none. Entries
// may have no node object. The map is the snapshot's own and must not be
// modified; iterate it only to compute order-independent results such as
// sums.
func (s *Snapshot) OwnedNodes(owner types.UID) map[*NodeInfo]int32 {
	if idx := s.owned[owner]; idx != nil {
		return idx.nodes
	}
	return nil
}

// OwnedZones counts, by ZoneID, the live pods controlled by owner on listed
// nodes; IDs past its end count 0. Read-only.
func (s *Snapshot) OwnedZones(owner types.UID) []int32 {
	if idx := s.owned[owner]; idx != nil {
		return idx.zones
	}
	return nil
}

// OwnerKey identifies one controller's pod counts in a snapshot, for
// NodeInfo.OwnedBy. It is valid until the snapshot changes.
type OwnerKey struct{ idx *ownerIndex }

// OwnerCounts answers, for one controller, how many of its live pods each
// listed node holds, by the node's list position: an array read per node
// instead of a scan of the node's controllers. It is valid until the
// snapshot changes or OwnerCounts is called again; after that On falls
// back to NodeInfo.OwnedBy, which is always right.
type OwnerCounts struct {
	view *ownerView
	gen  uint32
	key  OwnerKey
}

// ownerView is the snapshot's scratch for OwnerCounts: val[i] holds for
// list position i when stamp[i] is the current generation.
type ownerView struct {
	gen   uint32
	stamp []uint32
	val   []int32
}

// OwnerCounts prepares owner's per-node counts for a scoring pass; it costs
// one visit per node holding the controller's pods.
func (s *Snapshot) OwnerCounts(owner types.UID) OwnerCounts {
	v := &s.view
	v.gen++
	if v.gen == 0 { // wrapped: forget every stamp
		clear(v.stamp)
		v.gen = 1
	}
	if n := len(s.list); len(v.stamp) < n {
		v.stamp = append(v.stamp, make([]uint32, n-len(v.stamp))...)
		v.val = append(v.val, make([]int32, n-len(v.val))...)
	}
	key := s.OwnerKey(owner)
	if key.idx != nil {
		for ni, n := range key.idx.nodes { // order-independent: stores only
			if i := ni.index; i >= 0 && i < len(v.stamp) && s.list[i] == ni {
				v.stamp[i], v.val[i] = v.gen, n
			}
		}
	}
	return OwnerCounts{view: v, gen: v.gen, key: key}
}

// On is the controller's live pod count on ni (a listed node or a copy of one).
func (o OwnerCounts) On(ni *NodeInfo) int32 {
	if o.view == nil || o.view.gen != o.gen {
		return ni.OwnedBy(o.key)
	}
	if i := ni.index; i >= 0 && i < len(o.view.stamp) && o.view.stamp[i] == o.gen {
		return o.view.val[i]
	}
	if ni.index < 0 {
		return ni.OwnedBy(o.key) // not listed: not in the view
	}
	return 0
}

// OwnerKey looks owner up once for repeated NodeInfo.OwnedBy calls; a
// controller without counted pods gives a key for which OwnedBy is 0.
func (s *Snapshot) OwnerKey(owner types.UID) OwnerKey { return OwnerKey{s.owned[owner]} }

// OwnedOn is the number of live pods controlled by owner counted on ni.
func (s *Snapshot) OwnedOn(owner types.UID, ni *NodeInfo) int32 { return ni.OwnedPods(owner) }
