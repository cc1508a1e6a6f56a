package expect

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// sample is the state at one moment, with lookups computed at most once per
// sample however many checks use them.
type sample struct {
	v     View
	c     *Checker
	now   time.Duration
	pods  []*corev1.Pod
	nodes map[string]*corev1.Node
}

func (s *sample) allPods() []*corev1.Pod {
	if s.pods == nil {
		s.pods = s.v.Pods()
	}
	return s.pods
}

func (s *sample) nodeMap() map[string]*corev1.Node {
	if s.nodes == nil {
		nodes := s.v.Nodes()
		s.nodes = make(map[string]*corev1.Node, len(nodes))
		for _, n := range nodes {
			s.nodes[n.Name] = n
		}
	}
	return s.nodes
}

// poolOf returns the pool that generated a node ("" for none).
func (c *Checker) poolOfNode(node string) string {
	if c.poolOf == nil {
		c.poolOf = map[string]string{}
		for i := range c.sc.NodePools {
			p := &c.sc.NodePools[i]
			for _, n := range p.NodeNames() {
				c.poolOf[n] = p.Name
			}
		}
	}
	return c.poolOf[node]
}

// at renders an absolute simulated time as an offset from the start.
func (c *Checker) at(t time.Time) string {
	return fmtTime(t.Sub(c.start))
}
