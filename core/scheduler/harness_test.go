package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/clock/fakeclock"
	"github.com/drydock-sim/drydock/core/rng"
	"github.com/drydock-sim/drydock/core/scheduler/internal/testobj"
)

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// harness is a recording test harness in the style of Nomad's scheduler
// Harness: a fake Binder and Recorder write every effect to a transcript,
// and effects that a real API would echo back through the watch (bindings,
// deletions) are queued and delivered by sync, so tests control exactly
// when the scheduler observes them. No servers, no goroutines.
type harness struct {
	t         *testing.T
	clk       *fakeclock.Clock
	s         *Scheduler
	log       []string
	decisions []Decision
	pods      map[string]*corev1.Pod // current objects by name
	watch     []func()
	bindErr   error
	wakes     int
}

func newHarness(t *testing.T, percent int32, seed uint64) *harness {
	h := &harness{t: t, clk: fakeclock.New(epoch), pods: map[string]*corev1.Pod{}}
	h.s = New(Config{
		Clock:                    h.clk,
		Rand:                     rng.Stream(seed, "scheduler"),
		PercentageOfNodesToScore: percent,
		Binder:                   h,
		Recorder:                 h,
		DecisionSink:             func(d Decision) { h.decisions = append(h.decisions, d.Clone()) },
		Wake:                     func() { h.wakes++ },
	})
	return h
}

func (h *harness) logf(format string, args ...any) {
	h.log = append(h.log, fmt.Sprintf(format, args...))
}

// Bind implements Binder.
func (h *harness) Bind(pod *corev1.Pod, node string) error {
	if h.bindErr != nil {
		h.logf("bind %s -> %s failed", pod.Name, node)
		return h.bindErr
	}
	h.logf("bind %s -> %s", pod.Name, node)
	bound := testobj.Bound(pod, node)
	h.watch = append(h.watch, func() { h.updatePod(bound) })
	return nil
}

// DeletePod implements Binder: deletion is graceful, so the watch first
// shows a deletion timestamp, then the removal.
func (h *harness) DeletePod(pod *corev1.Pod) error {
	h.logf("delete %s", pod.Name)
	h.watch = append(h.watch, func() {
		cur := h.pods[pod.Name]
		if cur == nil {
			return
		}
		c := *cur
		now := metav1.NewTime(h.clk.Now())
		c.DeletionTimestamp = &now
		h.updatePod(&c)
	})
	return nil
}

// SetNominatedNode implements Binder.
func (h *harness) SetNominatedNode(pod *corev1.Pod, node string) error {
	h.logf("nominate %s -> %q", pod.Name, node)
	h.watch = append(h.watch, func() {
		if cur := h.pods[pod.Name]; cur != nil {
			c := *cur
			c.Status.NominatedNodeName = node
			h.updatePod(&c)
		}
	})
	return nil
}

// UpdatePodCondition implements Binder.
func (h *harness) UpdatePodCondition(pod *corev1.Pod, cond corev1.PodCondition) error {
	h.logf("condition %s %s %s", pod.Name, cond.Status, cond.Reason)
	return nil
}

// Event implements Recorder.
func (h *harness) Event(obj api.Object, eventType, reason, message string) {
	h.logf("event %s %s %s: %s", eventType, reason, obj.GetName(), message)
}

func (h *harness) addNode(n *corev1.Node) { h.s.AddNode(n) }

func (h *harness) addPod(p *corev1.Pod) {
	h.pods[p.Name] = p
	h.s.AddPod(p)
}

func (h *harness) updatePod(p *corev1.Pod) {
	old := h.pods[p.Name]
	h.pods[p.Name] = p
	h.s.UpdatePod(old, p)
}

// finishDeletion removes a terminating pod, as the kubelet would.
func (h *harness) finishDeletion(name string) {
	p := h.pods[name]
	delete(h.pods, name)
	h.s.DeletePod(p)
}

// sync delivers queued watch events.
func (h *harness) sync() {
	for len(h.watch) > 0 {
		w := h.watch
		h.watch = nil
		for _, f := range w {
			f()
		}
	}
}

// run schedules until no pod is ready, delivering watch events between
// cycles.
func (h *harness) run() {
	for h.s.ScheduleOne() {
		h.sync()
	}
	h.sync()
}

func (h *harness) takeLog() string {
	out := strings.Join(h.log, "\n")
	h.log = nil
	return out
}

func (h *harness) wantLog(want ...string) {
	h.t.Helper()
	if got := h.takeLog(); got != strings.Join(want, "\n") {
		h.t.Errorf("transcript:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func (h *harness) nodeOf(pod string) string {
	if p := h.pods[pod]; p != nil {
		return p.Spec.NodeName
	}
	return ""
}

func TestHarnessScheduleAndAssume(t *testing.T) {
	h := newHarness(t, 0, 1)
	h.addNode(testobj.Node("n1", "2", "4Gi", 110))
	h.addNode(testobj.Node("n2", "1", "4Gi", 110))
	h.addPod(testobj.Pod("a", "1500m", "1Gi"))
	h.addPod(testobj.Pod("b", "1", "1Gi"))
	// Both pods are decided before any binding is observed: the assume
	// cache must already count a on n1 when b is placed.
	h.s.ScheduleOne()
	h.s.ScheduleOne()
	h.wantLog(
		"bind a -> n1",
		"event Normal Scheduled a: Successfully assigned default/a to n1",
		"bind b -> n2",
		"event Normal Scheduled b: Successfully assigned default/b to n2",
	)
	h.sync()
	if n1 := h.s.Snapshot().Get("n1"); n1.Requested.MilliCPU != 1500 || len(n1.Pods) != 1 {
		t.Errorf("confirmed binding double-counted: %+v %d", n1.Requested, len(n1.Pods))
	}
	if h.s.Pending() != 0 || len(h.s.assumed) != 0 {
		t.Errorf("pending %d assumed %d", h.s.Pending(), len(h.s.assumed))
	}
}

func TestHarnessIgnoresOtherSchedulersAndTerminalPods(t *testing.T) {
	h := newHarness(t, 0, 1)
	h.addNode(testobj.Node("n1", "2", "4Gi", 110))
	h.addPod(testobj.Pod("other", "1", "", func(p *corev1.Pod) { p.Spec.SchedulerName = "custom" }))
	gated := testobj.Pod("gated", "1", "", func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "wait"}} })
	h.addPod(gated)
	h.addPod(testobj.Pod("done", "1", "", testobj.OnNode("n1"), func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }))
	h.addPod(testobj.Pod("running", "1", "", testobj.OnNode("n1")))
	if h.s.Pending() != 0 {
		t.Fatalf("pending %d", h.s.Pending())
	}
	if got := h.s.Snapshot().Get("n1").Requested.MilliCPU; got != 1000 {
		t.Fatalf("requested %d: a succeeded pod must not count", got)
	}
	// A pod that terminates frees its resources.
	fin := *h.pods["running"]
	fin.Status.Phase = corev1.PodFailed
	h.updatePod(&fin)
	if got := h.s.Snapshot().Get("n1").Requested.MilliCPU; got != 0 {
		t.Fatalf("requested %d after termination", got)
	}
	// Lifting the gate queues the pod.
	ungated := *gated
	ungated.Spec.SchedulingGates = nil
	h.updatePod(&ungated)
	h.run()
	if h.nodeOf("gated") != "n1" {
		t.Fatal("ungated pod not scheduled")
	}
}

func TestHarnessUnschedulableThenNodeAdded(t *testing.T) {
	h := newHarness(t, 0, 1)
	h.addNode(testobj.Node("small", "3", "4Gi", 110))
	h.addPod(testobj.Pod("used", "2", "", testobj.OnNode("small")))
	h.addNode(testobj.Node("tainted", "8", "4Gi", 110, testobj.Taint("k", "v", corev1.TaintEffectNoSchedule)))
	h.addPod(testobj.Pod("big", "2", "1Gi"))
	h.run()
	msg := "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {k: v}. " +
		"preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.."
	h.wantLog(
		"event Warning FailedScheduling big: "+msg,
		"condition big False Unschedulable",
	)
	if _, _, u := h.s.QueueLengths(); u != 1 {
		t.Fatalf("pod not parked as unschedulable")
	}
	last := h.decisions[len(h.decisions)-1]
	if last.Message != msg || len(last.Rejected) != 2 || last.Rejected[0].Plugin == "" {
		t.Errorf("decision: message %q rejected %+v", last.Message, last.Rejected)
	}
	// A node label change helps nobody; a new node does (after backoff).
	h.addNode(testobj.Node("big-node", "4", "4Gi", 110))
	h.run()
	if h.nodeOf("big") != "" {
		t.Fatal("scheduled while still backing off")
	}
	h.clk.Advance(time.Second)
	h.run()
	if got := h.nodeOf("big"); got != "big-node" {
		t.Fatalf("placed on %q", got)
	}
}

func TestHarnessBindFailureBacksOff(t *testing.T) {
	h := newHarness(t, 0, 1)
	h.addNode(testobj.Node("n1", "2", "4Gi", 110))
	h.addPod(testobj.Pod("p", "1", ""))
	h.bindErr = errors.New("conflict")
	h.run()
	h.wantLog(
		"bind p -> n1 failed",
		"event Warning FailedScheduling p: binding rejected: conflict",
		"condition p False SchedulerError",
	)
	if got := h.s.Snapshot().Get("n1").Requested.MilliCPU; got != 0 {
		t.Fatalf("failed bind still assumed: %d", got)
	}
	h.bindErr = nil
	h.clk.Advance(time.Second)
	h.run()
	if h.nodeOf("p") != "n1" {
		t.Fatal("not retried after backoff")
	}
}

func TestHarnessWakeOnBackoffExpiry(t *testing.T) {
	h := newHarness(t, 0, 1)
	h.addNode(testobj.Node("n1", "2", "4Gi", 110))
	h.addPod(testobj.Pod("p", "1", ""))
	h.bindErr = errors.New("conflict")
	h.run()
	h.bindErr = nil
	h.clk.Advance(time.Second)
	if h.wakes != 1 {
		t.Fatalf("wakes %d", h.wakes)
	}
}

func TestHarnessNodeUpdatesRequeueOnlyWhenRelevant(t *testing.T) {
	h := newHarness(t, 0, 1)
	tainted := testobj.Node("n1", "4", "4Gi", 110, testobj.Taint("k", "v", corev1.TaintEffectNoSchedule))
	h.addNode(tainted)
	h.addPod(testobj.Pod("p", "1", ""))
	h.run()
	if _, _, u := h.s.QueueLengths(); u != 1 {
		t.Fatal("not unschedulable")
	}
	// A heartbeat-like status change moves nothing.
	beat := tainted.DeepCopy()
	beat.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(epoch.Add(time.Minute))
	h.s.UpdateNode(tainted, beat)
	if _, _, u := h.s.QueueLengths(); u != 1 {
		t.Fatal("heartbeat requeued the pod")
	}
	// Removing the taint helps TaintToleration, which rejected the pod.
	clean := beat.DeepCopy()
	clean.Spec.Taints = nil
	h.s.UpdateNode(beat, clean)
	h.clk.Advance(time.Second)
	h.run()
	if h.nodeOf("p") != "n1" {
		t.Fatal("not scheduled after the taint was removed")
	}
}

func TestHarnessNoNodes(t *testing.T) {
	h := newHarness(t, 0, 1)
	h.addPod(testobj.Pod("p", "1", ""))
	h.run()
	h.wantLog(
		"event Warning FailedScheduling p: no nodes available to schedule pods",
		"condition p False Unschedulable",
	)
	h.addNode(testobj.Node("n1", "4", "4Gi", 110))
	h.clk.Advance(time.Second)
	h.run()
	if h.nodeOf("p") != "n1" {
		t.Fatal("not scheduled once a node exists")
	}
}
