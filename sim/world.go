// Package sim is the deterministic discrete-event simulator: it assembles the
// unchanged control-plane core (API server, scheduler, controllers) with
// simulated nodes (the kubelet core over a modelled runtime) on one virtual
// clock, replays a scenario's timeline and faults, checks its expectations,
// and writes a trace whose hash identifies the run.
package sim

import (
	"context"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/apiserver"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/clock/fakeclock"
	"github.com/drydock-sim/drydock/core/rng"
	"github.com/drydock-sim/drydock/core/scheduler"
	"github.com/drydock-sim/drydock/core/store"
	"github.com/drydock-sim/drydock/core/store/memstore"
	"github.com/drydock-sim/drydock/sim/metrics"
	"github.com/drydock-sim/drydock/sim/scenario"
	"github.com/drydock-sim/drydock/sim/trace"
)

// Epoch is the virtual wall-clock time every simulation starts at, so that
// timestamps in objects are the same on every run.
var Epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// Options adjust a run.
type Options struct {
	// Seed overrides the scenario's seed when HasSeed is set.
	Seed    uint64
	HasSeed bool
	// Trace, if set, receives the JSON-lines trace.
	Trace io.Writer
	// DecisionSink, if set, receives every scheduling attempt (for the
	// dashboard's feed; it must Clone what it keeps). It does not change the run.
	DecisionSink func(scheduler.Decision)
}

// World is one simulated cluster.
type World struct {
	sc      *scenario.Scenario
	seed    uint64
	clock   *fakeclock.Clock
	store   *memstore.Store
	api     *apiserver.Server
	trace   *trace.Writer
	metrics *metrics.Collector
	nodes   map[string]*simNode
	order   []string // node names in scenario order
	cp      *controlPlane
	checks  *checker
	failed  []ActionFailure
	end     time.Time

	traffic *trafficSim // simulated Service traffic (traffic.go); nil without

	decisionSink func(scheduler.Decision) // Options.DecisionSink

	objBuf, detailBuf []byte // observe's scratch
}

// ActionFailure is a timeline action that could not be carried out.
type ActionFailure struct {
	Index int
	Kind  scenario.ActionKind
	Line  int
	Err   string
}

// New assembles the world for sc at time zero: control plane, nodes, and the
// scenario's objects. Nothing has run yet.
func New(sc *scenario.Scenario, opts Options) (*World, error) {
	seed := sc.Seed
	if opts.HasSeed {
		seed = opts.Seed
	}
	w := &World{sc: sc, seed: seed, clock: fakeclock.New(Epoch), store: memstore.New(memstore.WithHistoryLimit(4096)),
		trace: trace.New(opts.Trace), metrics: metrics.New(), nodes: map[string]*simNode{}, decisionSink: opts.DecisionSink}
	w.end = Epoch.Add(sc.Duration)
	var err error
	w.api, err = apiserver.New(apiserver.Config{Store: w.store, Clock: w.clock, Rand: rng.Stream(seed, "apiserver")})
	if err != nil {
		return nil, err
	}
	if _, err := w.store.Watch("/registry/", w.store.Revision(), w.observe); err != nil {
		return nil, err
	}
	w.cp = newControlPlane(w)
	for i := range sc.NodePools {
		pool := &sc.NodePools[i]
		for _, name := range pool.NodeNames() {
			w.nodes[name] = newSimNode(w, pool, name, len(w.order))
			w.order = append(w.order, name)
		}
	}
	w.cp.start()
	for _, name := range w.order {
		w.nodes[name].start()
	}
	w.startTraffic() // traffic.go; before apply, so that it sees every pod
	if err := w.apply(sc.Objects); err != nil {
		return nil, err
	}
	for i := range sc.Timeline {
		a := &sc.Timeline[i]
		w.clock.AfterFunc(a.At, func() { w.doAction(a) })
	}
	w.checks = newChecker(w)
	return w, nil
}

// loopback returns an in-process client whose watch events arrive after the
// scenario's API and watch latencies, drawn from the named random stream.
func (w *World) loopback(stream string) *client.Loopback {
	r := rng.Stream(w.seed, "latency/"+stream)
	s := w.sc.Settings
	return &client.Loopback{Server: w.api, Clock: w.clock, Latency: func() time.Duration {
		return s.APILatency.Sample(r) + s.WatchLatency.Sample(r)
	}}
}

// since is the simulated time elapsed.
func (w *World) since() time.Duration { return w.clock.Now().Sub(Epoch) }

func (w *World) doAction(a *scenario.Action) {
	rec := trace.Record{Kind: "action", Op: string(a.Kind), Node: a.Node}
	if a.Target.Name != "" {
		rec.Object = a.Target.String()
	}
	w.trace.Add(w.since(), rec)
	if err := w.runAction(a); err != nil {
		w.failed = append(w.failed, ActionFailure{Index: a.Index, Kind: a.Kind, Line: a.Line, Err: err.Error()})
		w.trace.Add(w.since(), trace.Record{Kind: "action", Op: "failed", Detail: err.Error()})
	}
}

// observe sees every committed change: it feeds the trace and the metrics.
func (w *World) observe(ev store.Event) {
	obj := ev.Object.(api.Object)
	r := api.MustFor(obj)
	// The record's object and detail are built in scratch buffers: this
	// runs for every API change.
	w.objBuf = append(append(append(append(append(w.objBuf[:0], r.Kind...), '/'), obj.GetNamespace()...), '/'), obj.GetName()...)
	detail, node := w.detailBuf[:0], ""
	now := w.since()
	switch o := obj.(type) {
	case *corev1.Pod:
		node = o.Spec.NodeName
		detail = appendPodSummary(detail, o)
		if ev.Type == store.Deleted {
			w.metrics.PodChanged(now, o.UID, nil)
		} else {
			w.metrics.PodChanged(now, o.UID, o)
		}
	case *corev1.Node:
		detail = appendNodeSummary(detail, o)
	case *corev1.Event:
		detail = append(append(append(detail, o.Reason...), ": "...), o.Message...)
	}
	w.detailBuf = detail
	w.trace.AddAPI(now, "api", string(ev.Type), ev.Revision, w.objBuf, node, detail)
	if w.checks != nil {
		w.checks.observe(ev)
	}
}

func appendPodSummary(b []byte, p *corev1.Pod) []byte {
	b = append(b, "phase="...)
	b = append(b, p.Status.Phase...)
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			b = append(b, " ready="...)
			b = append(b, c.Status...)
		}
	}
	var restarts int32
	for _, cs := range p.Status.ContainerStatuses {
		restarts += cs.RestartCount
		if cs.State.Waiting != nil && cs.State.Waiting.Reason != "" {
			b = append(b, " waiting="...)
			b = append(b, cs.State.Waiting.Reason...)
		}
	}
	if restarts > 0 {
		b = append(b, " restarts="...)
		b = strconv.AppendInt(b, int64(restarts), 10)
	}
	if p.DeletionTimestamp != nil {
		b = append(b, " deleting"...)
	}
	return b
}

func appendNodeSummary(b []byte, n *corev1.Node) []byte {
	b = append(b, "ready="...)
	ready := "Unknown"
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ready = string(c.Status)
		}
	}
	b = append(b, ready...)
	if n.Spec.Unschedulable {
		b = append(b, " unschedulable"...)
	}
	if len(n.Spec.Taints) > 0 {
		keys := make([]string, 0, len(n.Spec.Taints))
		for _, t := range n.Spec.Taints {
			keys = append(keys, t.Key+":"+string(t.Effect))
		}
		sort.Strings(keys)
		b = append(b, " taints="...)
		b = append(b, strings.Join(keys, ",")...)
	}
	return b
}

// Step runs the next event. It reports false when the run is over (nothing
// left before the end of the scenario).
func (w *World) Step() bool {
	next, ok := w.clock.Next()
	if !ok || next.After(w.end) {
		return false
	}
	return w.clock.Step()
}

// RunUntil runs every event up to simulated offset d (capped at the end),
// sampling expectations on the way.
func (w *World) RunUntil(d time.Duration) {
	until := Epoch.Add(d)
	if until.After(w.end) {
		until = w.end
	}
	w.checks.runUntil(until)
}

// Run runs the scenario to its end.
func (w *World) Run() { w.RunUntil(w.sc.Duration) }

// Now is the simulated time elapsed since the start.
func (w *World) Now() time.Duration { return w.since() }

// Events is how many simulator events (timers) have run.
func (w *World) Events() uint64 { return w.clock.Fired }

// Seed is the seed in force.
func (w *World) Seed() uint64 { return w.seed }

// Client returns an in-process client for readers such as the dashboard.
func (w *World) Client() client.Interface { return w.api }

var listAll = metav1.ListOptions{}

var bg = context.Background()
