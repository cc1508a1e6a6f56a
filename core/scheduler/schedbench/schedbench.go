// Package schedbench runs kube-scheduler's SchedulingBasic workload shape
// against drydock's scheduler: N nodes from kube's scheduler_perf node
// template (4 cpu, 32Gi, 110 pods), some pods placed first, then pods from
// its pod template (100m cpu, 500Mi memory) scheduled and measured. Binding
// goes through a fake Binder that feeds the bound pod back as a watch
// update would, so the assume-and-confirm path is part of the measurement.
package schedbench

import (
	"fmt"
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/rng"
	"github.com/drydock-sim/drydock/core/scheduler"
	"github.com/drydock-sim/drydock/core/scheduler/internal/testobj"
)

// Node and pod templates of kube-scheduler's scheduler_perf.
const (
	NodeCPU    = "4"
	NodeMemory = "32Gi"
	NodePods   = 110
	PodCPU     = "100m"
	PodMemory  = "500Mi"
)

// BenchResult is the outcome of one run.
type BenchResult struct {
	Nodes, Placed, Pods int
	ScorePercent        int32
	// Scheduled counts measured pods that were bound.
	Scheduled     int
	WallSeconds   float64
	PodsPerSecond float64
	// Utilisation is the fraction of each node's allocatable cpu that is
	// requested after the run: mean, population standard deviation, range.
	UtilisationMean   float64
	UtilisationStddev float64
	UtilisationMin    float64
	UtilisationMax    float64
}

func (r BenchResult) String() string {
	return fmt.Sprintf("nodes=%d placed=%d pods=%d percent=%d: %d scheduled in %.3fs = %.0f pods/s; cpu utilisation mean %.4f stddev %.4f min %.4f max %.4f",
		r.Nodes, r.Placed, r.Pods, r.ScorePercent, r.Scheduled, r.WallSeconds, r.PodsPerSecond,
		r.UtilisationMean, r.UtilisationStddev, r.UtilisationMin, r.UtilisationMax)
}

// Run is a prepared workload: nodes added, initial pods placed, measured
// pods built but not yet queued.
type Run struct {
	sched   *scheduler.Scheduler
	binder  *binder
	pods    []*corev1.Pod
	nodes   int
	placed  int
	percent int32
}

// Workload selects the node and pod templates of a run.
type Workload string

const (
	// Basic is kube-scheduler's SchedulingBasic: plain pods.
	Basic Workload = "basic"
	// PodAntiAffinity is kube-scheduler's SchedulingPodAntiAffinity shape:
	// every pod is labelled color=green and has a required anti-affinity
	// term against color=green over kubernetes.io/hostname, so at most one
	// lands per node (placed + pods must not exceed nodes).
	PodAntiAffinity Workload = "pod-anti-affinity"
	// ReplicaSet is Basic with all pods controlled by one ReplicaSet and
	// nodes spread over three zones (topology.kubernetes.io/zone), so that
	// every pod pays for the system default topology spreading.
	ReplicaSet Workload = "replicaset"
)

// podOptions are the template options of w's pods.
func (w Workload) podOptions() []func(*corev1.Pod) {
	switch w {
	case PodAntiAffinity:
		term := testobj.Term(corev1.LabelHostname, "")
		term.LabelSelector.MatchLabels = map[string]string{"color": "green"}
		return []func(*corev1.Pod){testobj.PodLabels("color", "green"), testobj.RequiredAntiAffinity(term)}
	case ReplicaSet:
		return []func(*corev1.Pod){testobj.PodLabels("app", "bench"), testobj.Controller("ReplicaSet", "bench-rs")}
	}
	return nil
}

func (w Workload) nodeOptions(i int) []func(*corev1.Node) {
	if w == ReplicaSet {
		return []func(*corev1.Node){testobj.Labels(corev1.LabelTopologyZone, fmt.Sprintf("zone-%d", i%3))}
	}
	return nil
}

// Setup prepares a Basic run; nothing in it is measured.
func Setup(nodes, placed, pods int, scorePercent int32, seed uint64) *Run {
	return SetupWorkload(Basic, nodes, placed, pods, scorePercent, seed)
}

// SetupWorkload prepares a run of workload w; nothing in it is measured.
func SetupWorkload(w Workload, nodes, placed, pods int, scorePercent int32, seed uint64) *Run {
	b := &binder{}
	s := scheduler.New(scheduler.Config{
		Clock:                    &frozenClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		Rand:                     rng.Stream(seed, "scheduler"),
		PercentageOfNodesToScore: scorePercent,
		Binder:                   b,
	})
	b.sched = s
	for i := range nodes {
		s.AddNode(testobj.Node(fmt.Sprintf("node-%05d", i), NodeCPU, NodeMemory, NodePods, w.nodeOptions(i)...))
	}
	opts := w.podOptions()
	for i := range placed {
		s.AddPod(testobj.Pod(fmt.Sprintf("init-%06d", i), PodCPU, PodMemory, opts...))
	}
	for s.ScheduleOne() {
		b.confirm()
	}
	r := &Run{sched: s, binder: b, nodes: nodes, placed: placed, percent: scorePercent}
	for i := range pods {
		r.pods = append(r.pods, testobj.Pod(fmt.Sprintf("pod-%06d", i), PodCPU, PodMemory, opts...))
	}
	b.bound = 0
	return r
}

// Measure queues the measured pods and schedules until the queue is empty;
// it is the timed part.
func (r *Run) Measure() {
	for _, p := range r.pods {
		r.sched.AddPod(p)
	}
	for r.sched.ScheduleOne() {
		r.binder.confirm()
	}
}

// Result summarises the run given the wall time Measure took.
func (r *Run) Result(wall time.Duration) BenchResult {
	res := BenchResult{Nodes: r.nodes, Placed: r.placed, Pods: len(r.pods), ScorePercent: r.percent,
		Scheduled: r.binder.bound, WallSeconds: wall.Seconds()}
	if wall > 0 {
		res.PodsPerSecond = float64(res.Scheduled) / wall.Seconds()
	}
	list := r.sched.Snapshot().List()
	if len(list) == 0 {
		return res
	}
	res.UtilisationMin = math.Inf(1)
	var sum, sumSq float64
	for _, ni := range list {
		f := float64(ni.Requested.MilliCPU) / float64(ni.Allocatable.MilliCPU)
		sum += f
		sumSq += f * f
		res.UtilisationMin = min(res.UtilisationMin, f)
		res.UtilisationMax = max(res.UtilisationMax, f)
	}
	n := float64(len(list))
	res.UtilisationMean = sum / n
	res.UtilisationStddev = math.Sqrt(max(sumSq/n-res.UtilisationMean*res.UtilisationMean, 0))
	return res
}

// RunSchedulingBenchmark sets up and measures one run. now is the caller's
// clock (the wall clock, for the CLI); core code never reads it itself.
func RunSchedulingBenchmark(nodes, placed, pods int, scorePercent int32, seed uint64, now func() time.Time) BenchResult {
	r := Setup(nodes, placed, pods, scorePercent, seed)
	start := now()
	r.Measure()
	return r.Result(now().Sub(start))
}

// binder binds instantly and, like a watch, reports the bound pod back.
type binder struct {
	sched   *scheduler.Scheduler
	pending []*corev1.Pod
	bound   int
}

func (b *binder) Bind(pod *corev1.Pod, node string) error {
	b.pending = append(b.pending, pod, testobj.Bound(pod, node))
	b.bound++
	return nil
}

func (b *binder) confirm() {
	for i := 0; i+1 < len(b.pending); i += 2 {
		b.sched.UpdatePod(b.pending[i], b.pending[i+1])
	}
	clear(b.pending)
	b.pending = b.pending[:0]
}

func (b *binder) DeletePod(*corev1.Pod) error                               { return nil }
func (b *binder) SetNominatedNode(*corev1.Pod, string) error                { return nil }
func (b *binder) UpdatePodCondition(*corev1.Pod, corev1.PodCondition) error { return nil }

// frozenClock never advances: the workload needs no timers to fire.
type frozenClock struct{ t time.Time }

func (c *frozenClock) Now() time.Time { return c.t }

func (c *frozenClock) AfterFunc(time.Duration, func()) clock.Timer { return noTimer{} }

type noTimer struct{}

func (noTimer) Stop() bool { return true }
