package queue

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/clock/fakeclock"
	"github.com/drydock-sim/drydock/core/scheduler/framework"
	"github.com/drydock-sim/drydock/core/scheduler/internal/testobj"
)

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

type fixture struct {
	clk   *fakeclock.Clock
	q     *Queue
	wakes int
}

// newFixture builds a queue whose plugins "Fit" care about pod deletes and
// "Taint" about node taint changes.
func newFixture() *fixture {
	f := &fixture{clk: fakeclock.New(epoch)}
	events := map[string]framework.ClusterEvent{
		"Fit":   {Resource: framework.AssignedPodResource, Action: framework.Delete},
		"Taint": {Resource: framework.NodeResource, Action: framework.UpdateNodeTaint},
	}
	f.q = New(Config{
		Clock: f.clk,
		Wake:  func() { f.wakes++ },
		Interested: func(plugins []string, ev framework.ClusterEvent) bool {
			if len(plugins) == 0 {
				return true
			}
			for _, p := range plugins {
				if events[p].Match(ev) {
					return true
				}
			}
			return false
		},
	})
	return f
}

func pod(name string, prio int32) *framework.PodInfo {
	return framework.NewPodInfo(testobj.Pod(name, "", "", testobj.Priority(prio)))
}

func (f *fixture) popNames() []string {
	var out []string
	for p := f.q.Pop(); p != nil; p = f.q.Pop() {
		out = append(out, p.Pod.Name)
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestActiveOrder(t *testing.T) {
	f := newFixture()
	f.q.Add(pod("low-1", 0))
	f.clk.Advance(time.Second)
	f.q.Add(pod("high", 100))
	f.q.Add(pod("low-2", 0))
	f.q.Add(pod("mid", 50))
	if got, want := f.popNames(), []string{"high", "mid", "low-1", "low-2"}; !equal(got, want) {
		t.Errorf("pop order %v, want %v", got, want)
	}
}

func TestBackoffDoubling(t *testing.T) {
	tests := []struct {
		attempts int
		want     time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {12, 10 * time.Second}}
	q := newFixture().q
	for _, tc := range tests {
		if got := q.backoffDuration(&QueuedPodInfo{Attempts: tc.attempts}); got != tc.want {
			t.Errorf("attempts %d: backoff %v, want %v", tc.attempts, got, tc.want)
		}
	}
}

func TestErrorGoesToBackoffAndTimerWakes(t *testing.T) {
	f := newFixture()
	f.q.Add(pod("p", 0))
	p := f.q.Pop()
	f.q.AddUnschedulableIfNotPresent(p, f.q.SchedulingCycle()) // no plugins: an error
	if a, b, u := f.q.Len(); a != 0 || b != 1 || u != 0 {
		t.Fatalf("lengths %d %d %d", a, b, u)
	}
	f.clk.Advance(999 * time.Millisecond)
	if f.q.Pop() != nil || f.wakes != 0 {
		t.Fatal("popped before backoff ended")
	}
	f.clk.Advance(time.Millisecond)
	if f.wakes != 1 {
		t.Fatalf("wakes %d", f.wakes)
	}
	p = f.q.Pop()
	if p == nil || p.Attempts != 2 {
		t.Fatalf("after backoff: %+v", p)
	}
	// Second failure backs off 2s.
	f.q.AddUnschedulableIfNotPresent(p, f.q.SchedulingCycle())
	f.clk.Advance(1999 * time.Millisecond)
	if f.q.Pop() != nil {
		t.Fatal("second backoff too short")
	}
	f.clk.Advance(time.Millisecond)
	if f.q.Pop() == nil {
		t.Fatal("second backoff too long")
	}
}

func TestUnschedulableMovedByRelevantEvent(t *testing.T) {
	f := newFixture()
	f.q.Add(pod("fit", 0))
	f.q.Add(pod("taint", 0))
	fit, taint := f.q.Pop(), f.q.Pop()
	fit.UnschedulablePlugins = []string{"Fit"}
	taint.UnschedulablePlugins = []string{"Taint"}
	cycle := f.q.SchedulingCycle()
	f.q.AddUnschedulableIfNotPresent(fit, cycle)
	f.q.AddUnschedulableIfNotPresent(taint, cycle)
	if _, _, u := f.q.Len(); u != 2 {
		t.Fatalf("unschedulable %d", u)
	}
	// A node label change interests neither.
	f.q.MoveAllToActiveOrBackoff(framework.ClusterEvent{Resource: framework.NodeResource, Action: framework.UpdateNodeLabel})
	if _, _, u := f.q.Len(); u != 2 {
		t.Fatalf("moved by an irrelevant event")
	}
	// A pod delete moves "fit"; still backing off (1s), so to backoff.
	f.q.MoveAllToActiveOrBackoff(framework.EventAssignedPodDelete)
	if a, b, u := f.q.Len(); a != 0 || b != 1 || u != 1 {
		t.Fatalf("lengths %d %d %d", a, b, u)
	}
	f.clk.Advance(time.Second)
	if got := f.popNames(); !equal(got, []string{"fit"}) {
		t.Fatalf("popped %v", got)
	}
	// Past its backoff, an event moves "taint" straight to active.
	f.q.MoveAllToActiveOrBackoff(framework.ClusterEvent{Resource: framework.NodeResource, Action: framework.UpdateNodeTaint})
	if a, _, _ := f.q.Len(); a != 1 {
		t.Fatal("taint pod not active")
	}
}

func TestMoveRequestDuringCycleGoesToBackoff(t *testing.T) {
	f := newFixture()
	f.q.Add(pod("p", 0))
	p := f.q.Pop()
	cycle := f.q.SchedulingCycle()
	// An event arrives while p is being scheduled: it must not wait for
	// another event in the unschedulable set.
	f.q.MoveAllToActiveOrBackoff(framework.EventNodeAdd)
	p.UnschedulablePlugins = []string{"Fit"}
	f.q.AddUnschedulableIfNotPresent(p, cycle)
	if _, b, u := f.q.Len(); b != 1 || u != 0 {
		t.Fatalf("backoff %d unschedulable %d", b, u)
	}
}

func TestUnschedulableTimeout(t *testing.T) {
	f := newFixture()
	f.q.Add(pod("p", 0))
	p := f.q.Pop()
	p.UnschedulablePlugins = []string{"Fit"}
	f.q.AddUnschedulableIfNotPresent(p, f.q.SchedulingCycle())
	f.clk.Advance(5*time.Minute - time.Second)
	if a, _, u := f.q.Len(); a != 0 || u != 1 {
		t.Fatal("flushed early")
	}
	f.clk.Advance(time.Second)
	if a, _, u := f.q.Len(); a != 1 || u != 0 || f.wakes != 1 {
		t.Fatalf("not flushed after 5m: active %d unsched %d wakes %d", a, u, f.wakes)
	}
	if f.clk.Len() != 0 {
		t.Errorf("%d timers left armed with an empty backoff and unschedulable set", f.clk.Len())
	}
}

func TestUpdateAndDelete(t *testing.T) {
	f := newFixture()
	f.q.Add(pod("a", 0))
	f.q.Add(pod("b", 0))
	// Raising b's priority reorders it first.
	f.q.Update(pod("b", 10))
	if got := f.q.Pop(); got.Pod.Name != "b" {
		t.Fatalf("popped %s", got.Pod.Name)
	}
	if !f.q.Delete("a") || f.q.Pending() != 0 || f.q.Delete("a") {
		t.Fatal("delete")
	}
	// An unschedulable pod whose status changes stays; a spec change moves it.
	f.q.Add(pod("c", 0))
	c := f.q.Pop()
	c.UnschedulablePlugins = []string{"Taint"}
	f.q.AddUnschedulableIfNotPresent(c, f.q.SchedulingCycle())
	statusOnly := testobj.Pod("c", "", "", testobj.Priority(0))
	statusOnly.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse}}
	f.q.Update(framework.NewPodInfo(statusOnly))
	if _, _, u := f.q.Len(); u != 1 {
		t.Fatal("status-only update moved the pod")
	}
	f.q.Update(framework.NewPodInfo(testobj.Pod("c", "", "", testobj.Priority(0),
		testobj.Toleration("k", corev1.TolerationOpExists, "", ""))))
	if _, b, u := f.q.Len(); u != 0 || b != 1 {
		t.Fatal("spec update did not move the pod")
	}
}
