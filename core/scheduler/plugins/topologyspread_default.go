package plugins

import (
	"math"

	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// System default spreading, as kube-scheduler's PodTopologySpread applies
// it (defaultingType System): soft spreading over kubernetes.io/hostname
// (maxSkew 3) and topology.kubernetes.io/zone (maxSkew 5) for pods without
// constraints of their own. Kubernetes selects the pods to spread with the
// selectors of the Services, ReplicationControllers, ReplicaSets and
// StatefulSets that select the pod, and applies the defaults only when one
// exists. The scheduler watches only pods and nodes, so drydock
// approximates that selector by the pod's controller: pods with the same
// controller ownerReference (UID) as a ReplicaSet, ReplicationController or
// StatefulSet pod are spread together. For these controllers this is what
// the controller's own selector selects; pods selected only by a Service
// (bare pods, Job pods) get no default spreading.
const (
	defaultHostnameMaxSkew = 3
	defaultZoneMaxSkew     = 5
)

// defaultSpreadOwners are the controller kinds whose pods get the defaults.
var defaultSpreadOwners = map[string]bool{"ReplicaSet": true, "ReplicationController": true, "StatefulSet": true}

// defaultSpreadState scores the two default constraints. The snapshot
// counts each controller's live pods per node and per zone ID, so scoring
// a node is two slice indexes.
type defaultSpreadState struct {
	owner                  types.UID
	counts                 framework.OwnerCounts
	owned                  map[*framework.NodeInfo]int32
	zoneCounts             []int32 // by ZoneID; nil when no feasible node has a zone label
	hostWeight, zoneWeight float64
}

func (s *defaultSpreadState) Clone() framework.StateData { return s }

// preScoreDefaults prepares the default constraints' scoring. As in
// Kubernetes for system defaults, no node is ignored for lacking a key: a
// node without a zone label still spreads by hostname, and nodes without
// the label form the "" zone domain. Zone domains count the controller's
// pods on nodes the pod's required node affinity selects (the default
// nodeAffinityPolicy Honor).
func (p PodTopologySpread) preScoreDefaults(state *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo) *framework.Status {
	if pod.ControllerUID == "" || !defaultSpreadOwners[pod.ControllerKind] {
		return statusSkip
	}
	snap := p.h.Snapshot()
	present := make([]bool, snap.NumZoneIDs())
	domains, zoned := 0, false
	for _, ni := range nodes {
		if !present[ni.ZoneID] {
			present[ni.ZoneID] = true
			domains++
		}
		zoned = zoned || ni.HasZone
	}
	s := &defaultSpreadState{owner: pod.ControllerUID, counts: snap.OwnerCounts(pod.ControllerUID),
		owned:      snap.OwnedNodes(pod.ControllerUID),
		hostWeight: math.Log(float64(len(nodes) + 2)), zoneWeight: math.Log(float64(domains + 2))}
	if zoned {
		s.zoneCounts = make([]int32, len(present))
		if req := newRequiredNodeAffinity(pod.Pod); req.empty() {
			for id, n := range snap.OwnedZones(pod.ControllerUID) {
				if id < len(present) && present[id] {
					s.zoneCounts[id] = n
				}
			}
		} else {
			// Only nodes the pod could select count: visit the nodes
			// holding the controller's pods (order does not matter: sums).
			for ni, n := range s.owned {
				if ni.Node() != nil && present[ni.ZoneID] && req.matches(ni) {
					s.zoneCounts[ni.ZoneID] += n
				}
			}
		}
	}
	state.Write(spreadScoreKey, s)
	return nil
}

// score is Kubernetes' per-constraint count*weight + (maxSkew-1), summed
// over the constraints whose key the node has.
func (s *defaultSpreadState) score(ni *framework.NodeInfo) int64 {
	var score float64
	if ni.HasHostname {
		score += float64(s.counts.On(ni))*s.hostWeight + defaultHostnameMaxSkew - 1
	}
	if ni.HasZone {
		score += float64(s.zoneCounts[ni.ZoneID])*s.zoneWeight + defaultZoneMaxSkew - 1
	}
	return int64(math.Round(score))
}
