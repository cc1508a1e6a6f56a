// Package feed is what the dashboard reads: object changes, scheduler
// decisions and time, delivered in batches, one batch per frame, from a
// source that is either the simulator or a live cluster. A simulated source
// also takes Commands (play/pause, step, speed, jump, restart).
//
// The dashboard never drives the core: it hands a source the wall-clock time
// elapsed since the previous frame plus the user's commands, and gets back
// everything that happened. Everything here is deterministic data; sources
// that do I/O live outside core/.
package feed

import (
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/scheduler"
)

// Kind names the resources a feed carries.
type Kind string

// The resources the dashboard shows.
const (
	Nodes       Kind = "Node"
	Pods        Kind = "Pod"
	Deployments Kind = "Deployment"
	ReplicaSets Kind = "ReplicaSet"
	Services    Kind = "Service"
	Events      Kind = "Event"
)

// Kinds is every kind, in the order a source should list them initially
// (nodes before the pods bound to them).
var Kinds = []Kind{Nodes, Services, Deployments, ReplicaSets, Pods, Events}

// Resource is the API resource of a kind.
func (k Kind) Resource() *api.Resource {
	switch k {
	case Nodes:
		return api.Nodes
	case Pods:
		return api.Pods
	case Deployments:
		return api.Deployments
	case ReplicaSets:
		return api.ReplicaSets
	case Services:
		return api.Services
	case Events:
		return api.Events
	}
	return nil
}

// ChangeType is a watch event type: ADDED, MODIFIED or DELETED.
type ChangeType = api.WatchEventType

// Change is one committed change of an object. Object is shared with the
// source: never mutate it.
type Change struct {
	Type   ChangeType
	Kind   Kind
	Object runtime.Object
	// At is when the source saw the change (simulated or wall time).
	At time.Time
}

// Decision is one scheduling attempt, cloned so that it survives the
// scheduler's next attempt.
type Decision struct {
	At time.Time
	scheduler.Decision
}

// NewDecision clones d, as a DecisionSink must before keeping it.
func NewDecision(at time.Time, d scheduler.Decision) Decision {
	return Decision{At: at, Decision: d.Clone()}
}

// Mark is something a source knows happened that leaves no API object
// behind: a simulated fault or timeline action ("crashNode worker-0").
type Mark struct {
	At     time.Time
	Action string // scenario action kind: crashNode, restoreNode, drain, ...
	Node   string
	Object string
}

// Status describes the source at the end of a batch.
type Status struct {
	// Source is "sim" or "live"; Name the scenario name or the cluster's
	// server address.
	Source string
	Name   string
	// Start is time zero (the simulation's epoch, or when the feed began);
	// Now the source's current time.
	Start time.Time
	Now   time.Time
	// End is when a simulation ends (zero for live).
	End time.Time
	// Seed is the simulation's seed.
	Seed uint64
	// Speed is simulated seconds per wall second; Paused says time stands.
	Speed  float64
	Paused bool
	// Done is set when a simulation reached its end.
	Done bool
	// Events is how many simulator events have run (0 for live).
	Events int64
	// Controllable is set when the source accepts Commands.
	Controllable bool
	// Err is the last error the source hit ("" when none).
	Err string
}

// Elapsed is the source's time since its start.
func (s Status) Elapsed() time.Duration { return s.Now.Sub(s.Start) }

// Batch is everything that happened since the previous batch, in order.
type Batch struct {
	// Reset says the source started over (a restart or a backwards jump):
	// forget every earlier change before applying this batch.
	Reset     bool
	Changes   []Change
	Decisions []Decision
	Marks     []Mark
	Status    Status
}

// Empty reports whether the batch carries no change, decision or mark.
func (b *Batch) Empty() bool {
	return !b.Reset && len(b.Changes) == 0 && len(b.Decisions) == 0 && len(b.Marks) == 0
}

// Op is a control operation.
type Op int

// Control operations of a simulated source.
const (
	OpPlay Op = iota + 1
	OpPause
	OpToggle  // play if paused, pause if playing
	OpStep    // run exactly one simulator event
	OpSpeed   // set Speed
	OpFaster  // next speed up the ladder
	OpSlower  // next speed down the ladder
	OpJump    // run (or rerun) to At
	OpRestart // start over with Seed
)

// Command is one control operation for a simulated source.
type Command struct {
	Op    Op
	Speed float64
	At    time.Duration // OpJump: simulated offset from the start
	Seed  uint64        // OpRestart
}

// Speeds is the speed ladder that OpFaster and OpSlower walk.
var Speeds = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}

// MinSpeed and MaxSpeed bound a simulated source's speed.
const (
	MinSpeed = 1
	MaxSpeed = 10000
)

// ClampSpeed keeps s within [MinSpeed, MaxSpeed].
func ClampSpeed(s float64) float64 {
	if s < MinSpeed || s != s {
		return MinSpeed
	}
	if s > MaxSpeed {
		return MaxSpeed
	}
	return s
}

// Faster is the next speed up the ladder from s.
func Faster(s float64) float64 {
	for _, v := range Speeds {
		if v > s {
			return v
		}
	}
	return MaxSpeed
}

// Slower is the next speed down the ladder from s.
func Slower(s float64) float64 {
	for i := len(Speeds) - 1; i >= 0; i-- {
		if Speeds[i] < s {
			return Speeds[i]
		}
	}
	return MinSpeed
}

// Source is a cluster feed. Frame is called once per dashboard frame, never
// concurrently with itself: it applies cmds in order, advances time by
// elapsed wall-clock time (a simulator at its speed; a live source ignores
// it), and returns everything that happened since the previous Frame. The
// first Frame returns the initial state as ADDED changes.
type Source interface {
	Frame(elapsed time.Duration, cmds []Command) Batch
	// Close releases the source (stops watches); Frame must not be called
	// after it.
	Close()
}

// Recorder accumulates changes, decisions and marks between frames; sources
// embed it and hand it their watch callbacks and decision sink.
type Recorder struct {
	batch Batch
	// Now tells the time of a change; required.
	Now func() time.Time
}

// Change records one watch event of kind k; bookmarks and errors are
// dropped.
func (r *Recorder) Change(k Kind, ev api.WatchEvent) {
	switch ev.Type {
	case api.WatchAdded, api.WatchModified, api.WatchDeleted:
		r.batch.Changes = append(r.batch.Changes, Change{Type: ev.Type, Kind: k, Object: ev.Object, At: r.Now()})
	}
}

// Decision records a scheduling attempt (a DecisionSink).
func (r *Recorder) Decision(d scheduler.Decision) {
	r.batch.Decisions = append(r.batch.Decisions, NewDecision(r.Now(), d))
}

// Mark records a mark.
func (r *Recorder) Mark(m Mark) { r.batch.Marks = append(r.batch.Marks, m) }

// Reset drops what was recorded and flags the next batch as a reset.
func (r *Recorder) Reset() { r.batch = Batch{Reset: true} }

// Take returns the recorded batch with st and starts a new one.
func (r *Recorder) Take(st Status) Batch {
	b := r.batch
	b.Status = st
	r.batch = Batch{}
	return b
}
