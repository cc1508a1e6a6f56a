package framework

import "k8s.io/apimachinery/pkg/types"

// Nominator remembers pods nominated to nodes by preemption, so that lower
// priority pods do not take the space being freed for them. Per-node lists
// keep insertion order, which keeps filtering deterministic.
type Nominator struct {
	byNode map[string][]*PodInfo
	byUID  map[types.UID]string
}

// NewNominator returns an empty nominator.
func NewNominator() *Nominator {
	return &Nominator{byNode: map[string][]*PodInfo{}, byUID: map[types.UID]string{}}
}

// Len is the number of nominated pods.
func (n *Nominator) Len() int { return len(n.byUID) }

// Add nominates pi to node, replacing an earlier nomination ("" removes).
func (n *Nominator) Add(pi *PodInfo, node string) {
	n.Delete(pi.Pod.UID)
	if node == "" {
		return
	}
	n.byUID[pi.Pod.UID] = node
	n.byNode[node] = append(n.byNode[node], pi)
}

// Delete forgets the nomination of uid.
func (n *Nominator) Delete(uid types.UID) {
	node, ok := n.byUID[uid]
	if !ok {
		return
	}
	delete(n.byUID, uid)
	list := n.byNode[node]
	for i, pi := range list {
		if pi.Pod.UID == uid {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(n.byNode, node)
	} else {
		n.byNode[node] = list
	}
}

// Update refreshes the stored PodInfo of a nominated pod (same node).
func (n *Nominator) Update(pi *PodInfo) {
	node, ok := n.byUID[pi.Pod.UID]
	if !ok {
		return
	}
	for i, p := range n.byNode[node] {
		if p.Pod.UID == pi.Pod.UID {
			n.byNode[node][i] = pi
		}
	}
}

// NodeFor is the node uid is nominated to, or "".
func (n *Nominator) NodeFor(uid types.UID) string { return n.byUID[uid] }

// ForNode lists the pods nominated to node; the slice must not be modified.
func (n *Nominator) ForNode(node string) []*PodInfo {
	if len(n.byUID) == 0 {
		return nil
	}
	return n.byNode[node]
}
