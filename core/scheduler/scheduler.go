// Package scheduler is drydock's kube-scheduler: a single-threaded
// component the driver feeds with watch events (AddNode, UpdatePod, ...) and
// steps with ScheduleOne. Each cycle pops the highest-priority pod, filters
// nodes (sampling adaptively like kube-scheduler), scores the feasible ones,
// picks the best (ties broken by the seeded random stream), assumes the pod
// on the node and binds it through the Binder port; a pod that fits nowhere
// may preempt lower-priority pods. Nothing here starts goroutines or reads
// the wall clock.
package scheduler

import (
	"math/rand/v2"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/scheduler/framework"
	"github.com/drydock-sim/drydock/core/scheduler/queue"
)

// DefaultSchedulerName is the spec.schedulerName this scheduler serves
// (pods with an empty name are served too).
const DefaultSchedulerName = corev1.DefaultSchedulerName

// Binder is the port through which the scheduler changes the cluster. The
// driver implements it with API calls (in-process or HTTP). Calls are
// synchronous; an error means the change did not happen.
type Binder interface {
	// Bind binds pod to nodeName (a pods/binding subresource create).
	Bind(pod *corev1.Pod, nodeName string) error
	// DeletePod deletes a preemption victim (graceful deletion).
	DeletePod(victim *corev1.Pod) error
	// SetNominatedNode sets status.nominatedNodeName ("" clears it).
	SetNominatedNode(pod *corev1.Pod, nodeName string) error
	// UpdatePodCondition sets the pod's PodScheduled condition (status
	// False, reason Unschedulable or SchedulerError, message the fit error)
	// as kube-scheduler does after a failed attempt. Called only when the
	// condition changes.
	UpdatePodCondition(pod *corev1.Pod, cond corev1.PodCondition) error
}

// Recorder is the event port: it matches core/events.Recorder, and records
// "Scheduled", "FailedScheduling" and "Preempted" like kube-scheduler.
type Recorder interface {
	Event(obj api.Object, eventType, reason, message string)
}

// Config configures a Scheduler.
type Config struct {
	Clock clock.Clock
	// Rand breaks score ties and picks the preemption dry-run offset.
	Rand *rand.Rand
	// PercentageOfNodesToScore: 0 is kube-scheduler's adaptive default
	// (50% minus 1% per 125 nodes, at least 5%, at least 100 nodes); 100
	// filters and scores every node.
	PercentageOfNodesToScore int32
	Binder                   Binder
	Recorder                 Recorder
	// DecisionSink, if set, receives a record of every attempt. Its slices
	// are reused by the next attempt: Clone to keep them.
	DecisionSink func(Decision)
	// Wake, if set, is called when pods become schedulable because a
	// backoff or unschedulable timeout fired, so the driver runs
	// ScheduleOne again.
	Wake func()
	// SchedulerName defaults to DefaultSchedulerName.
	SchedulerName string
}

// Scheduler is the scheduling component. All methods must be called from
// the driver's single control loop.
type Scheduler struct {
	cfg       Config
	snapshot  *framework.Snapshot
	nominator *framework.Nominator
	fw        *framework.Framework
	queue     *queue.Queue
	// assumed maps pods bound by this scheduler and not yet seen bound in
	// the watch to their node.
	assumed map[types.UID]string

	nextStartNodeIndex int
	state              *framework.CycleState
	diag               framework.Diagnosis
	feasible           []*framework.NodeInfo
	filterStatuses     []*framework.Status
	filterPlugins      []string
	decision           Decision
}

// New builds a scheduler with the default plugins.
func New(cfg Config) *Scheduler {
	if cfg.Clock == nil || cfg.Rand == nil || cfg.Binder == nil {
		panic("scheduler: Config needs Clock, Rand and Binder")
	}
	if cfg.SchedulerName == "" {
		cfg.SchedulerName = DefaultSchedulerName
	}
	if cfg.Recorder == nil {
		cfg.Recorder = discardRecorder{}
	}
	s := &Scheduler{
		cfg:       cfg,
		snapshot:  framework.NewSnapshot(),
		nominator: framework.NewNominator(),
		assumed:   map[types.UID]string{},
		state:     framework.NewCycleState(),

		filterStatuses: make([]*framework.Status, filterChunk),
		filterPlugins:  make([]string, filterChunk),
	}
	s.fw = newFramework(s.snapshot, s.nominator, cfg.Rand)
	s.queue = queue.New(queue.Config{
		Clock:         cfg.Clock,
		Wake:          cfg.Wake,
		Interested:    s.fw.Interested,
		AnyInterested: s.fw.AnyInterested,
	})
	return s
}

type discardRecorder struct{}

func (discardRecorder) Event(api.Object, string, string, string) {}

// Pending is the number of pods waiting in the queue.
func (s *Scheduler) Pending() int { return s.queue.Pending() }

// QueueLengths reports the active, backoff and unschedulable queue sizes.
func (s *Scheduler) QueueLengths() (active, backoff, unschedulable int) { return s.queue.Len() }

// Snapshot exposes the scheduler's node view (read-only) for dashboards
// and tests.
func (s *Scheduler) Snapshot() *framework.Snapshot { return s.snapshot }

// NominatedNode is the node the pod is nominated to by preemption, or "".
func (s *Scheduler) NominatedNode(uid types.UID) string { return s.nominator.NodeFor(uid) }
