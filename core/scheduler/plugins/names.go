// Package plugins holds the scheduler's filter, score and post-filter
// plugins. Each is small and named after its kube-scheduler counterpart,
// behaves like it, and words its rejections exactly as Kubernetes does,
// because users read these reasons in FailedScheduling events.
package plugins

import "github.com/drydock-sim/drydock/core/scheduler/framework"

// Plugin names, as in kube-scheduler.
const (
	NodeUnschedulableName           = "NodeUnschedulable"
	NodeNameName                    = "NodeName"
	NodeResourcesFitName            = "NodeResourcesFit"
	NodeResourcesLeastAllocatedName = "NodeResourcesLeastAllocated"
	NodeResourcesBalancedName       = "NodeResourcesBalancedAllocation"
	NodeAffinityName                = "NodeAffinity"
	TaintTolerationName             = "TaintToleration"
	PodTopologySpreadName           = "PodTopologySpread"
	DefaultPreemptionName           = "DefaultPreemption"
	InterPodAffinityName            = "InterPodAffinity"
	NodePortsName                   = "NodePorts"
)

// Cycle state slots, one per plugin datum.
const (
	nodeAffinityFilterKey framework.StateKey = iota
	nodeAffinityScoreKey
	taintScoreKey
	spreadFilterKey
	spreadScoreKey
	interPodAffinityFilterKey
	interPodAffinityScoreKey
	nodePortsKey
)

// Filter rejection reasons, worded as in Kubernetes.
const (
	ErrReasonUnschedulable     = "node(s) were unschedulable"
	ErrReasonNodeName          = "node(s) didn't match the requested node name"
	ErrReasonNodeAffinity      = "node(s) didn't match Pod's node affinity/selector"
	ErrReasonSpreadConstraints = "node(s) didn't match pod topology spread constraints"
	ErrReasonSpreadNodeLabel   = "node(s) didn't match pod topology spread constraints (missing required label)"
	ErrReasonTooManyPods       = "Too many pods"
	ErrReasonInsufficientCPU   = "Insufficient cpu"
	ErrReasonInsufficientMem   = "Insufficient memory"

	ErrReasonAffinityRulesNotMatch             = "node(s) didn't match pod affinity rules"
	ErrReasonAntiAffinityRulesNotMatch         = "node(s) didn't match pod anti-affinity rules"
	ErrReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules"
	ErrReasonNodePorts                         = "node(s) didn't have free ports for the requested pod ports"
)
