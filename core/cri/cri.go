// Package cri is the container runtime port of the node agent: the calls the
// kubelet makes to run pods, shaped after Kubernetes' CRI (sandboxes, images,
// containers) so that containerd can implement it in real mode and a modelled
// runtime can implement it in the simulator.
//
// The port is asynchronous. Real runtimes block for tens of milliseconds to
// minutes per call, and the core never blocks and never starts goroutines, so
// every call returns at once and reports its result by calling done later, on
// the driver's control loop: the simulator through the clock, real mode by
// posting to the loop. An implementation never calls done synchronously from
// inside the call, and calls it exactly once.
package cri

import (
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Runtime runs pod sandboxes and containers on one node.
type Runtime interface {
	// Version names the runtime ("containerd", "sim") and its version, as
	// the node reports them in status.nodeInfo.containerRuntimeVersion
	// ("<name>://<version>") and as container IDs are prefixed ("<name>://<id>").
	Version() (name, version string)

	// SetEventHandler installs the sink for container events (nil removes
	// it). Events are delivered on the driver loop.
	SetEventHandler(h func(ContainerEvent))

	// RunPodSandbox creates and starts the pod's sandbox (its network
	// namespace) and reports its status, with the pod IP.
	RunPodSandbox(cfg *SandboxConfig, done func(*SandboxStatus, error))
	// StopPodSandbox stops the sandbox and kills any container still running
	// in it at once. Stopping a stopped sandbox succeeds.
	StopPodSandbox(id string, done func(error))
	// RemovePodSandbox removes a sandbox and its containers. Removing a
	// sandbox that does not exist succeeds, as in CRI.
	RemovePodSandbox(id string, done func(error))
	// ListPodSandboxes lists every sandbox the runtime knows, ready or not.
	ListPodSandboxes(done func([]*SandboxStatus, error))

	// ImageStatus reports the image if the node has it (nil, nil otherwise).
	ImageStatus(image string, done func(*Image, error))
	// PullImage fetches an image. A missing image or unreachable registry is
	// an error; the kubelet reports it as ErrImagePull.
	PullImage(image string, sandbox *SandboxConfig, done func(*Image, error))

	// CreateContainer creates a container in a ready sandbox; it does not
	// run it.
	CreateContainer(sandboxID string, cfg *ContainerConfig, sandbox *SandboxConfig, done func(id string, err error))
	// StartContainer starts a created container. done reports once the
	// process runs.
	StartContainer(id string, done func(error))
	// StopContainer sends SIGTERM and, if the process is still running after
	// timeout, SIGKILL. done is called once the container has exited, after
	// its ContainerExited event. A later call with a shorter timeout shortens
	// the wait; stopping an exited container succeeds at once.
	StopContainer(id string, timeout time.Duration, done func(error))
	// RemoveContainer removes a container, killing it first if it runs.
	// Removing a container that does not exist succeeds, as in CRI.
	RemoveContainer(id string, done func(error))
	// ContainerStatus reports one container (ErrNotFound if unknown).
	ContainerStatus(id string, done func(*ContainerStatus, error))
	// ListContainers lists every container the runtime knows, in any state.
	ListContainers(done func([]*ContainerStatus, error))

	// Probe runs one probe against a running container: exec in the
	// container, HTTP GET or TCP connect to the pod IP. A probe of a
	// container that is not running fails.
	Probe(containerID string, req *ProbeRequest, done func(ProbeResult))
}

// Sentinel errors. Implementations wrap them (errors.Is works).
var (
	// ErrNotFound: no sandbox, container or image with that ID or name.
	ErrNotFound = errors.New("not found")
	// ErrImageNotFound: the registry does not have the image.
	ErrImageNotFound = errors.New("image not found")
	// ErrSandboxNotReady: the sandbox is stopped, so no container can be
	// created in it.
	ErrSandboxNotReady = errors.New("sandbox not ready")
	// ErrInvalidState: the call does not fit the object's state (e.g.
	// starting a container twice).
	ErrInvalidState = errors.New("invalid state")
)

// Well-known labels the kubelet sets on sandboxes and containers, so that a
// restarted kubelet can tell which pod and container spec they belong to, as
// Kubernetes does with its io.kubernetes.* labels.
const (
	LabelPodName       = "io.kubernetes.pod.name"
	LabelPodNamespace  = "io.kubernetes.pod.namespace"
	LabelPodUID        = "io.kubernetes.pod.uid"
	LabelContainerName = "io.kubernetes.container.name"
)

// SandboxConfig describes a pod sandbox.
type SandboxConfig struct {
	Name      string // pod name
	Namespace string
	UID       string // pod UID
	// Attempt counts sandboxes created for this pod (0 for the first).
	Attempt  uint32
	Hostname string
	// Labels and Annotations are the pod's, plus the Label* keys. Runtimes
	// keep them and return them in status; the simulated runtime reads the
	// container behaviour from the annotations.
	Labels      map[string]string
	Annotations map[string]string
}

// SandboxState is the state of a sandbox.
type SandboxState string

// Sandbox states.
const (
	SandboxReady    SandboxState = "SANDBOX_READY"
	SandboxNotReady SandboxState = "SANDBOX_NOTREADY"
)

// SandboxStatus describes a sandbox.
type SandboxStatus struct {
	ID          string
	Name        string
	Namespace   string
	UID         string
	Attempt     uint32
	State       SandboxState
	IP          string
	CreatedAt   time.Time
	Labels      map[string]string
	Annotations map[string]string
}

// Image is an image present on the node.
type Image struct {
	Name string // as requested: "nginx:1.27"
	Ref  string // content address: "sha256:..."
	Size int64  // bytes
}

// KeyValue is one environment variable.
type KeyValue struct{ Key, Value string }

// ContainerConfig describes a container to create.
type ContainerConfig struct {
	Name string
	// Attempt is the container's restart count (0 for the first instance).
	Attempt    uint32
	Image      string // as requested
	ImageRef   string // resolved reference from ImageStatus or PullImage
	Command    []string
	Args       []string
	Env        []KeyValue
	WorkingDir string
	// CPUMillis and MemoryBytes are the limits (0: none).
	CPUMillis   int64
	MemoryBytes int64
	Labels      map[string]string
	Annotations map[string]string
}

// ContainerState is the state of a container.
type ContainerState string

// Container states, as CRI names them.
const (
	ContainerCreated ContainerState = "CONTAINER_CREATED"
	ContainerRunning ContainerState = "CONTAINER_RUNNING"
	ContainerExited  ContainerState = "CONTAINER_EXITED"
	ContainerUnknown ContainerState = "CONTAINER_UNKNOWN"
)

// Exit reasons, as the kubelet shows them in containerStatuses[].state.terminated.reason.
const (
	ReasonCompleted = "Completed" // exit code 0
	ReasonError     = "Error"     // non-zero exit code
	ReasonOOMKilled = "OOMKilled"
	// ReasonUnknown: the runtime lost the process (the node rebooted);
	// containerd reports exit code 255.
	ReasonUnknown = "Unknown"
)

// ExitReason is the reason a runtime gives for an exit code when it knows no better.
func ExitReason(code int32) string {
	if code == 0 {
		return ReasonCompleted
	}
	return ReasonError
}

// ContainerStatus describes a container.
type ContainerStatus struct {
	ID          string
	SandboxID   string
	Name        string
	Attempt     uint32
	State       ContainerState
	Image       string
	ImageRef    string
	CreatedAt   time.Time
	StartedAt   time.Time // zero until started
	FinishedAt  time.Time // zero until exited
	ExitCode    int32
	Reason      string // set once exited: Completed, Error, OOMKilled, Unknown
	Message     string
	Labels      map[string]string
	Annotations map[string]string
}

// EventType is the kind of a container event.
type EventType string

// Container event types.
const (
	ContainerStartedEvent EventType = "CONTAINER_STARTED_EVENT"
	ContainerExitedEvent  EventType = "CONTAINER_STOPPED_EVENT"
)

// ContainerEvent reports a container state change the kubelet did not just
// ask for the result of: chiefly a process exiting on its own or by a stop.
type ContainerEvent struct {
	Type        EventType
	ContainerID string
	SandboxID   string
	// For exits:
	ExitCode   int32
	Reason     string
	FinishedAt time.Time
}

// ProbeKind says which probe is run. Real runtimes probe the same way for
// all kinds; the simulated runtime answers each from its model.
type ProbeKind string

// Probe kinds.
const (
	ProbeReadiness ProbeKind = "Readiness"
	ProbeLiveness  ProbeKind = "Liveness"
	ProbeStartup   ProbeKind = "Startup"
)

// ProbeRequest is one probe to run.
type ProbeRequest struct {
	Kind    ProbeKind
	Handler corev1.ProbeHandler
	// Port is the handler's port resolved to a number (named ports are
	// looked up in the container's ports by the kubelet); 0 for exec.
	Port    int32
	Timeout time.Duration
}

// ProbeResult is the outcome of a probe.
type ProbeResult struct {
	Success bool
	// Output explains a failure, as Kubernetes prints it after
	// "Readiness probe failed: ", e.g. "HTTP probe failed with statuscode: 503".
	Output string
}

// Runtime condition types, as CRI's RuntimeStatus reports them.
const (
	// RuntimeReady: the runtime is up and can run sandboxes and containers.
	RuntimeReady = "RuntimeReady"
	// NetworkReady: the runtime's network plugin can network sandboxes.
	NetworkReady = "NetworkReady"
)

// RuntimeCondition is one condition of the runtime's status.
type RuntimeCondition struct {
	Type    string
	Status  bool
	Reason  string // e.g. "NetworkPluginNotReady"
	Message string
}

// String formats the condition as the kubelet prints it in node
// conditions: "NetworkReady=false reason:NetworkPluginNotReady message:...".
func (c *RuntimeCondition) String() string {
	if c == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s=%t reason:%s message:%s", c.Type, c.Status, c.Reason, c.Message)
}

// RuntimeStatus is what a runtime reports about itself (CRI's Status call).
type RuntimeStatus struct {
	Conditions []RuntimeCondition
}

// Condition returns the condition of type t, or nil if the runtime does not
// report it.
func (s *RuntimeStatus) Condition(t string) *RuntimeCondition {
	if s == nil {
		return nil
	}
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}

// StatusReporter is implemented by runtimes that report their own status,
// as CRI's RuntimeService.Status does. It is optional: the kubelet asks a
// runtime that implements it every few seconds and keeps the node NotReady
// while RuntimeReady or NetworkReady is false (and pods that need the pod
// network waiting); a runtime that does not implement it is taken as always
// ready. Like every call of the port, Status returns at once and calls done
// later on the driver loop, exactly once.
type StatusReporter interface {
	Status(done func(*RuntimeStatus, error))
}
