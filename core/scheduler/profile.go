package scheduler

import (
	"math/rand/v2"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
	"github.com/drydock-sim/drydock/core/scheduler/plugins"
)

// newFramework wires the default profile: every plugin and extension point
// is listed here, explicitly, in kube-scheduler's default order (filters
// that reject cheaply and finally come first), with kube-scheduler's
// default score weights.
func newFramework(snap *framework.Snapshot, nom *framework.Nominator, r *rand.Rand) *framework.Framework {
	fw := framework.New(snap, nom, r)

	unschedulable := plugins.NodeUnschedulable{}
	nodeName := plugins.NodeName{}
	taints := plugins.TaintToleration{}
	affinity := plugins.NodeAffinity{}
	ports := plugins.NodePorts{}
	fit := plugins.NodeResourcesFit{}
	spread := plugins.NewPodTopologySpread(fw)
	interPod := plugins.NewInterPodAffinity(fw)
	least := plugins.NodeResourcesLeastAllocated{}
	balanced := plugins.NodeResourcesBalancedAllocation{}
	preemption := plugins.NewDefaultPreemption(fw)

	fw.SetPlugins(framework.Plugins{
		PreFilter: []framework.PreFilterPlugin{nodeName, affinity, ports, spread, interPod},
		Filter:    []framework.FilterPlugin{unschedulable, nodeName, taints, affinity, ports, fit, spread, interPod},
		PreScore:  []framework.PreScorePlugin{taints, affinity, spread, interPod, balanced},
		Score: []framework.WeightedScorePlugin{
			{Plugin: taints, Weight: 3},
			{Plugin: affinity, Weight: 2},
			{Plugin: least, Weight: 1},
			{Plugin: spread, Weight: 2},
			{Plugin: interPod, Weight: 2},
			{Plugin: balanced, Weight: 1},
		},
		PostFilter: []framework.PostFilterPlugin{preemption},
	})
	return fw
}
