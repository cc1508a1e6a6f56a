package scenario

import (
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Scenario is a parsed, validated scenario file.
type Scenario struct {
	File         string // path as given to Load or Parse
	Name         string
	Description  string
	Seed         uint64        // default 1; the command line may override it
	Duration     time.Duration // simulated time the run lasts
	Settings     Settings
	NodePools    []NodePool
	Objects      []Manifest // applied at t=0, in file order
	Timeline     []Action   // sorted by At; equal times keep file order
	Traffic      []Traffic  // in file order; names are unique
	Expectations []Expectation
}

// TrafficByName returns the traffic entry with the given name, or nil.
func (s *Scenario) TrafficByName(name string) *Traffic {
	for i := range s.Traffic {
		if s.Traffic[i].Name == name {
			return &s.Traffic[i]
		}
	}
	return nil
}

// NodeNames returns the names of every node in pool order, then index order.
func (s *Scenario) NodeNames() []string {
	var names []string
	for i := range s.NodePools {
		names = append(names, s.NodePools[i].NodeNames()...)
	}
	return names
}

// Pool returns the pool with the given name, or nil.
func (s *Scenario) Pool(name string) *NodePool {
	for i := range s.NodePools {
		if s.NodePools[i].Name == name {
			return &s.NodePools[i]
		}
	}
	return nil
}

// PoolOfNode returns the pool that generates the named node, or nil.
func (s *Scenario) PoolOfNode(node string) *NodePool {
	for i := range s.NodePools {
		p := &s.NodePools[i]
		if idx, ok := p.index(node); ok && idx < p.Count {
			return p
		}
	}
	return nil
}

// Settings are the simulator's knobs. Every field has a Kubernetes-like
// default (DefaultSettings); the scenario's settings block overrides fields
// one by one.
type Settings struct {
	// APILatency is the delay of one API call, request to response.
	APILatency Distribution
	// WatchLatency is the delay from a committed write to its delivery to a watcher.
	WatchLatency Distribution
	// NodeLeaseDuration is the kubelet's lease duration (Kubernetes: 40s).
	NodeLeaseDuration time.Duration
	// NodeLeaseRenewInterval is how often the kubelet renews it (Kubernetes: 10s).
	NodeLeaseRenewInterval time.Duration
	// NodeMonitorPeriod is how often the node lifecycle controller looks at
	// leases (Kubernetes: 5s).
	NodeMonitorPeriod time.Duration
	// NodeMonitorGracePeriod is how long a node may go without a lease renewal
	// before it is marked NotReady (Ready=Unknown) (Kubernetes: 40s).
	NodeMonitorGracePeriod time.Duration
	// TerminatedPodGCThreshold is kube-controller-manager's
	// --terminated-pod-gc-threshold: how many terminated pods may exist
	// before the pod garbage collector deletes the oldest (12500; 0 turns
	// that off).
	TerminatedPodGCThreshold int32
	// DefaultTolerationSeconds is what admission gives pods that do not
	// tolerate the not-ready/unreachable NoExecute taints (Kubernetes: 300).
	DefaultTolerationSeconds int64
	// CrashLoopBackOffInitial and CrashLoopBackOffMax bound the kubelet's
	// restart back-off, which doubles from initial to max (10s, 5m).
	CrashLoopBackOffInitial time.Duration
	CrashLoopBackOffMax     time.Duration
	// PodBackoffInitial and PodBackoffMax bound the scheduler's back-off for
	// unschedulable pods (kube-scheduler: 1s, 10s).
	PodBackoffInitial time.Duration
	PodBackoffMax     time.Duration
	// CheckInterval is how often, in simulated time, expectations are sampled.
	CheckInterval time.Duration
	// Runtime is the container runtime model of pools that do not set their own.
	Runtime Runtime
}

// DefaultSettings returns the settings a scenario gets when it says nothing.
func DefaultSettings() Settings {
	return Settings{
		APILatency:               Constant(time.Millisecond),
		WatchLatency:             Constant(time.Millisecond),
		NodeLeaseDuration:        40 * time.Second,
		NodeLeaseRenewInterval:   10 * time.Second,
		NodeMonitorPeriod:        5 * time.Second,
		NodeMonitorGracePeriod:   40 * time.Second,
		TerminatedPodGCThreshold: 12500,
		DefaultTolerationSeconds: 300,
		CrashLoopBackOffInitial:  10 * time.Second,
		CrashLoopBackOffMax:      5 * time.Minute,
		PodBackoffInitial:        time.Second,
		PodBackoffMax:            10 * time.Second,
		CheckInterval:            time.Second,
		Runtime:                  DefaultRuntime(),
	}
}

// Runtime models a node's container runtime.
type Runtime struct {
	// ImagePull is the time to pull an image that the node does not have yet.
	ImagePull Distribution
	// ContainerStart is the time from create to running for one container.
	ContainerStart Distribution
}

// DefaultRuntime returns the runtime model used when neither the pool nor the
// settings give one: pulls take a second, starts take 200ms (the order of
// magnitude containerd shows for a small image).
func DefaultRuntime() Runtime {
	return Runtime{
		ImagePull:      Constant(time.Second),
		ContainerStart: Constant(200 * time.Millisecond),
	}
}

// NodePool is a set of identical nodes named Name-0 .. Name-(Count-1).
type NodePool struct {
	Name        string
	Count       int
	Capacity    corev1.ResourceList // always has cpu, memory and pods
	Allocatable corev1.ResourceList // defaults to Capacity
	Labels      map[string]string   // may be nil
	Taints      []corev1.Taint
	Runtime     Runtime // effective: the pool's own fields over Settings.Runtime
	Line        int
}

// NodeName returns the name of the i-th node of the pool.
func (p *NodePool) NodeName(i int) string {
	return p.Name + "-" + strconv.Itoa(i)
}

// NodeNames returns the names of all nodes of the pool in index order.
func (p *NodePool) NodeNames() []string {
	names := make([]string, p.Count)
	for i := range names {
		names[i] = p.NodeName(i)
	}
	return names
}

// index parses the index out of a node name of this pool.
func (p *NodePool) index(node string) (int, bool) {
	if len(node) <= len(p.Name)+1 || node[:len(p.Name)] != p.Name || node[len(p.Name)] != '-' {
		return 0, false
	}
	digits := node[len(p.Name)+1:]
	if digits != "0" && digits[0] == '0' {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(digits)
	return i, err == nil
}

// Manifest is one Kubernetes object from a scenario, typed (e.g.
// *appsv1.Deployment) and with the place it was written.
type Manifest struct {
	Object runtime.Object
	GVK    schema.GroupVersionKind
	File   string
	Line   int // line of the object's first key
}

// ObjectRef names an object that an action targets.
type ObjectRef struct {
	APIVersion string // e.g. "apps/v1"
	Kind       string // e.g. "Deployment"
	Namespace  string // "" for cluster-scoped kinds; defaults to "default"
	Name       string
}

func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// ActionKind is what a timeline entry does.
type ActionKind string

// The actions. Their meaning is documented in scenarios/README.md.
const (
	ActionApply         ActionKind = "apply"
	ActionDelete        ActionKind = "delete"
	ActionScale         ActionKind = "scale"
	ActionCrashNode     ActionKind = "crashNode"
	ActionRestoreNode   ActionKind = "restoreNode"
	ActionPartitionNode ActionKind = "partitionNode"
	ActionHealNode      ActionKind = "healNode"
	ActionCordon        ActionKind = "cordon"
	ActionUncordon      ActionKind = "uncordon"
	ActionDrain         ActionKind = "drain"
	ActionTaint         ActionKind = "taint"
	ActionUntaint       ActionKind = "untaint"
	ActionRolloutUndo   ActionKind = "rolloutUndo"
	ActionSetImage      ActionKind = "setImage"
)

// ActionKinds lists every action in documentation order.
var ActionKinds = []ActionKind{
	ActionApply, ActionDelete, ActionScale, ActionCrashNode, ActionRestoreNode,
	ActionPartitionNode, ActionHealNode, ActionCordon, ActionUncordon, ActionDrain,
	ActionTaint, ActionUntaint, ActionRolloutUndo, ActionSetImage,
}

// Action is one timeline entry. Which fields are set depends on Kind.
type Action struct {
	At    time.Duration
	Kind  ActionKind
	Index int // position in the file's timeline list
	Line  int

	Node      string       // crashNode, restoreNode, partitionNode, healNode, cordon, uncordon, drain, taint, untaint
	Taint     corev1.Taint // taint; untaint (Key, and Effect if given)
	Target    ObjectRef    // delete, scale, rolloutUndo, setImage
	Replicas  int32        // scale
	Container string       // setImage
	Image     string       // setImage
	Objects   []Manifest   // apply
}

// Expectation is one check with its timing. Any combination of By, At and
// Always may be given; the expectation passes when all given parts hold.
type Expectation struct {
	Name  string // from the file, or generated (unique within the scenario)
	Index int
	Line  int

	// By: the check holds at some sample in [From, By].
	By    time.Duration
	HasBy bool
	// At: the check holds at the sample taken at exactly At.
	At    time.Duration
	HasAt bool
	// Always: the check holds at every sample in [From, Until].
	Always bool
	From   time.Duration // start of the By or Always window (default 0)
	Until  time.Duration // end of the Always window (default: Scenario.Duration)

	Check Check
}

// CheckKind names a check.
type CheckKind string

// The checks. Their meaning is documented in scenarios/README.md and
// implemented by package sim/expect.
const (
	CheckDeploymentReady   CheckKind = "deploymentReady"
	CheckRolloutComplete   CheckKind = "rolloutComplete"
	CheckPodsRunning       CheckKind = "podsRunning"
	CheckPodsReady         CheckKind = "podsReady"
	CheckPodsPending       CheckKind = "podsPending"
	CheckPodsUnschedulable CheckKind = "podsUnschedulable"
	CheckPodsOnNode        CheckKind = "podsOnNode"
	CheckContainerRestarts CheckKind = "containerRestarts"
	CheckContainerWaiting  CheckKind = "containerWaiting"
	CheckNodeReady         CheckKind = "nodeReady"
	CheckEventSeen         CheckKind = "eventSeen"
	CheckTopologySpread    CheckKind = "topologySpread"
	CheckNoOvercommit      CheckKind = "noOvercommit"
	CheckNoPodOnNotReady   CheckKind = "noPodOnNotReadyNodePastToleration"
	CheckServiceAnswered   CheckKind = "serviceAnswered"
)

// CheckKinds lists every check in documentation order.
var CheckKinds = []CheckKind{
	CheckDeploymentReady, CheckRolloutComplete, CheckPodsRunning, CheckPodsReady,
	CheckPodsPending, CheckPodsUnschedulable, CheckPodsOnNode, CheckContainerRestarts,
	CheckContainerWaiting, CheckNodeReady, CheckEventSeen, CheckTopologySpread,
	CheckNoOvercommit, CheckNoPodOnNotReady, CheckServiceAnswered,
}

// IsInvariant reports whether the check is a safety property that defaults to
// Always when the expectation gives no timing.
func (k CheckKind) IsInvariant() bool {
	return k == CheckNoOvercommit || k == CheckNoPodOnNotReady
}

// DefaultsToAlways reports whether an expectation with this check and no
// timing means always: the invariants, and serviceAnswered, whose always
// window is the whole run.
func (k CheckKind) DefaultsToAlways() bool {
	return k.IsInvariant() || k == CheckServiceAnswered
}

// DefaultTolerationMargin is the grace the noPodOnNotReadyNodePastToleration
// check allows on top of a pod's toleration: the node lifecycle controller
// adds the taint up to one NodeMonitorPeriod (5s) after marking the node, and
// the eviction itself takes API round trips.
const DefaultTolerationMargin = 15 * time.Second

// Check is what an expectation looks at. One flat struct for all kinds keeps
// the parser and sim/expect in step; which fields apply to which kind is in
// scenarios/README.md and enforced by the parser.
type Check struct {
	Kind CheckKind

	// Namespace restricts pod, event and deployment checks. Pod and event
	// checks default to all namespaces (""); deployment checks to "default".
	Namespace string
	// Name is the deployment of deploymentReady and rolloutComplete.
	Name string
	// Replicas is the ready count deploymentReady wants (default spec.replicas).
	Replicas    int32
	HasReplicas bool

	// Selector restricts pod checks (labels.Everything() when not given).
	Selector     labels.Selector
	SelectorText string
	// Node and Pool restrict pod checks to pods bound to that node or to any
	// node of that pool; Node is also the node of nodeReady.
	Node string
	Pool string
	// Image restricts pod checks to pods with a container running this image.
	Image string

	// Count is the allowed range of the counted quantity.
	Count Range

	// Ready is the readiness nodeReady wants (default true).
	Ready bool

	// Reason: eventSeen's event reason, containerWaiting's waiting reason.
	Reason string
	// Type, InvolvedKind, InvolvedName, Message (substring) narrow eventSeen.
	Type         string
	InvolvedKind string
	InvolvedName string
	Message      string

	// TopologyKey and MaxSkew: topologySpread.
	TopologyKey string
	MaxSkew     int

	// Margin: noPodOnNotReadyNodePastToleration (default DefaultTolerationMargin).
	Margin time.Duration

	// Traffic names the scenario's traffic entry serviceAnswered judges.
	// MinSuccessRate (0..1) and MaxFailures bound the requests of the
	// window that got no answer; the ones given must all hold. Without
	// either, every request must be answered (MaxFailures 0).
	Traffic           string
	MinSuccessRate    float64
	HasMinSuccessRate bool
	MaxFailures       int
	HasMaxFailures    bool
}

// Range is an inclusive integer range; a missing bound is unbounded.
type Range struct {
	Min, Max       int
	HasMin, HasMax bool
}

// Contains reports whether n is in the range.
func (r Range) Contains(n int) bool {
	return (!r.HasMin || n >= r.Min) && (!r.HasMax || n <= r.Max)
}

// String renders the range as "3", ">= 3", "<= 5" or "3..5".
func (r Range) String() string {
	switch {
	case r.HasMin && r.HasMax && r.Min == r.Max:
		return strconv.Itoa(r.Min)
	case r.HasMin && r.HasMax:
		return strconv.Itoa(r.Min) + ".." + strconv.Itoa(r.Max)
	case r.HasMin:
		return ">= " + strconv.Itoa(r.Min)
	case r.HasMax:
		return "<= " + strconv.Itoa(r.Max)
	}
	return "any"
}

// FormatDuration renders d like time.Duration.String without zero units:
// "6m", "1m30s", "1h", "250ms".
func FormatDuration(d time.Duration) string {
	s := d.String()
	if len(s) > 2 && s[len(s)-2:] == "0s" && (s[len(s)-3] == 'm' || s[len(s)-3] == 'h') {
		s = s[:len(s)-2]
	}
	if len(s) > 2 && s[len(s)-2:] == "0m" && s[len(s)-3] == 'h' {
		s = s[:len(s)-2]
	}
	return s
}
