package sim

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/events"
	"github.com/drydock-sim/drydock/core/kubelet"
	"github.com/drydock-sim/drydock/core/rng"
	"github.com/drydock-sim/drydock/sim/scenario"
	"github.com/drydock-sim/drydock/sim/simruntime"
	"github.com/drydock-sim/drydock/sim/trace"
)

// simNode is one simulated machine: the unchanged kubelet core over a
// modelled runtime, talking to the API through a gate that faults close.
type simNode struct {
	w           *World
	name        string
	gate        *gatedClient
	runtime     *simruntime.Runtime
	kubelet     *kubelet.Kubelet
	crashed     bool
	partitioned bool
}

func newSimNode(w *World, pool *scenario.NodePool, name string, index int) *simNode {
	n := &simNode{w: w, name: name}
	n.gate = newGatedClient(w.loopback("node/"+name), w.clock)
	rt := pool.Runtime
	n.runtime = simruntime.New(simruntime.Config{
		NodeName: name, Clock: w.clock, Seed: w.seed, PodCIDR: simruntime.PodCIDR(index),
		ImagePull: rt.ImagePull, ContainerStart: rt.ContainerStart,
	})
	s := w.sc.Settings
	n.kubelet = kubelet.New(kubelet.Config{
		NodeName: name, Client: n.gate, Clock: w.clock, Runtime: n.runtime,
		Rand:          rng.Stream(w.seed, "kubelet/"+name),
		Recorder:      &events.APIRecorder{Client: n.gate, Clock: w.clock, Component: "kubelet", Host: name},
		Node:          nodeTemplate(pool, name, index),
		LeaseDuration: s.NodeLeaseDuration, LeaseRenewInterval: s.NodeLeaseRenewInterval,
		BackOff: s.CrashLoopBackOffInitial, MaxBackOff: s.CrashLoopBackOffMax,
	})
	return n
}

// nodeTemplate is what the kubelet registers for a pool's node.
func nodeTemplate(pool *scenario.NodePool, name string, index int) *corev1.Node {
	labels := map[string]string{
		"kubernetes.io/hostname": name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
		"drydock.io/pool":        pool.Name,
	}
	for k, v := range pool.Labels {
		labels[k] = v
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: append([]corev1.Taint(nil), pool.Taints...), PodCIDR: simruntime.PodCIDR(index)},
		Status: corev1.NodeStatus{
			Capacity:    pool.Capacity.DeepCopy(),
			Allocatable: pool.Allocatable.DeepCopy(),
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.0.%d.%d", index/250, index%250+2)},
				{Type: corev1.NodeHostName, Address: name},
			},
		},
	}
}

func (n *simNode) start() { n.kubelet.Start(bg) }

func (w *World) node(name string) (*simNode, error) {
	n, ok := w.nodes[name]
	if !ok {
		return nil, fmt.Errorf("no node %q", name)
	}
	return n, nil
}

// crashNode models a machine dying: the kubelet stops, every container is
// gone and nothing more reaches the API server from it.
func (w *World) crashNode(name string) error {
	n, err := w.node(name)
	if err != nil {
		return err
	}
	if n.crashed {
		return fmt.Errorf("node %s is already down", name)
	}
	n.crashed = true
	n.gate.setOpen(false)
	n.kubelet.Stop()
	n.runtime.Crash()
	w.metrics.NodeCrashed(w.since(), name)
	w.trace.Add(w.since(), trace.Record{Kind: "fault", Op: "crashNode", Node: name})
	return nil
}

// restoreNode boots a crashed machine again: an empty runtime and a fresh
// kubelet process that re-registers and reconciles its pods.
func (w *World) restoreNode(name string) error {
	n, err := w.node(name)
	if err != nil {
		return err
	}
	if !n.crashed {
		return fmt.Errorf("node %s is not down", name)
	}
	n.crashed = false
	n.runtime.Wipe()
	if !n.partitioned {
		n.gate.setOpen(true)
	}
	n.kubelet.Start(bg)
	w.metrics.NodeRestored(name)
	w.trace.Add(w.since(), trace.Record{Kind: "fault", Op: "restoreNode", Node: name})
	return nil
}

// partitionNode cuts (or heals) the node's connection to the API server;
// its containers keep running.
func (w *World) partitionNode(name string, cut bool) error {
	n, err := w.node(name)
	if err != nil {
		return err
	}
	if n.partitioned == cut {
		if cut {
			return fmt.Errorf("node %s is already partitioned", name)
		}
		return fmt.Errorf("node %s is not partitioned", name)
	}
	n.partitioned = cut
	if !n.crashed {
		n.gate.setOpen(!cut)
	}
	op := "partitionNode"
	if !cut {
		op = "healNode"
	}
	w.trace.Add(w.since(), trace.Record{Kind: "fault", Op: op, Node: name})
	return nil
}
