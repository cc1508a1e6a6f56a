package framework

// EventResource is the kind of object a cluster event is about.
type EventResource uint8

const (
	// NodeResource events are node adds, updates and deletes.
	NodeResource EventResource = iota + 1
	// AssignedPodResource events are about pods bound to a node.
	AssignedPodResource
	// WildCardResource matches every resource (timeouts, forced moves).
	WildCardResource
)

// ActionType is a bit set of what happened.
type ActionType uint32

const (
	Add ActionType = 1 << iota
	Delete
	UpdateNodeAllocatable
	UpdateNodeLabel
	UpdateNodeTaint
	UpdateNodeCondition
	UpdatePodLabel
	// UpdatePodScaleDown: a bound pod's requests shrank (or it terminated).
	UpdatePodScaleDown

	// All matches any action.
	All ActionType = 1<<iota - 1
)

// ClusterEvent is a change that may make unschedulable pods schedulable.
// Plugins register the events that could undo their rejections; the queue
// moves a pod back only when one of the plugins that rejected it cares.
type ClusterEvent struct {
	Resource EventResource
	Action   ActionType
	// Label is a name for logs and traces.
	Label string
}

// Match reports whether a registered event covers ev.
func (reg ClusterEvent) Match(ev ClusterEvent) bool {
	if reg.Resource != WildCardResource && ev.Resource != WildCardResource && reg.Resource != ev.Resource {
		return false
	}
	return reg.Action&ev.Action != 0
}

// Events the scheduler raises.
var (
	EventNodeAdd                = ClusterEvent{NodeResource, Add, "NodeAdd"}
	EventAssignedPodAdd         = ClusterEvent{AssignedPodResource, Add, "AssignedPodAdd"}
	EventAssignedPodDelete      = ClusterEvent{AssignedPodResource, Delete, "AssignedPodDelete"}
	EventUnschedulableTimeout   = ClusterEvent{WildCardResource, All, "UnschedulableTimeout"}
	EventForceActivate          = ClusterEvent{WildCardResource, All, "ForceActivate"}
	EventAssignedPodUpdateLabel = ClusterEvent{AssignedPodResource, UpdatePodLabel, "AssignedPodUpdate"}
	EventAssignedPodScaleDown   = ClusterEvent{AssignedPodResource, UpdatePodScaleDown, "AssignedPodUpdate"}
)

// EnqueueExtensions is implemented by plugins that reject pods, to say
// which events might make those pods fit.
type EnqueueExtensions interface {
	EventsToRegister() []ClusterEvent
}
