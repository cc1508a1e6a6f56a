package expect

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// runChecker drives a checker the way the simulator does: wake up at Next,
// set the state for that time, Observe; then Finish at end.
func runChecker(c *Checker, v *fakeView, state func(time.Duration) []*corev1.Pod, end time.Duration) ([]time.Duration, []Result) {
	var times []time.Duration
	for {
		at, ok := c.Next()
		if !ok || at.Sub(t0) > end {
			break
		}
		v.now = at.Sub(t0)
		v.pods = state(v.now)
		times = append(times, v.now)
		c.Observe(v)
	}
	v.now = end
	v.pods = state(end)
	return times, c.Finish(v)
}

func runningPods(n int) []*corev1.Pod {
	var pods []*corev1.Pod
	for range n {
		pods = append(pods, pod("p", on("a-0")))
	}
	return pods
}

func TestCheckerSchedule(t *testing.T) {
	sc := parse(t, `
- {name: by, by: 3s, podsRunning: {count: 1}}
- {name: at, at: 2500ms, podsRunning: {count: 1}}
- {name: always, always: true, from: 2s, until: 4s, podsRunning: {max: 1}}
- {name: by-fails, from: 1s, by: 2s, podsRunning: {count: 5}}
`)
	c := New(sc, t0)
	state := func(now time.Duration) []*corev1.Pod {
		switch {
		case now < 2*time.Second:
			return nil
		case now < 3*time.Second:
			return runningPods(1)
		case now < 4*time.Second:
			return runningPods(2)
		}
		return runningPods(1)
	}
	times, results := runChecker(c, &fakeView{}, state, 10*time.Minute)
	s := time.Second
	wantTimes := []time.Duration{0, s, 2 * s, 2500 * time.Millisecond, 3 * s, 4 * s}
	if !reflect.DeepEqual(times, wantTimes) {
		t.Errorf("sampled at %v, want %v", times, wantTimes)
	}
	want := []Result{
		{"by", true, "held at 2s"},
		{"at", true, "at 2.5s: 1 pods running (want 1)"},
		{"always", false, "violated at 3s: 2 pods running (want <= 1) (1 of 4 samples)"},
		{"by-fails", false, "not by 2s: 1 pods running (want 5)"},
	}
	if !reflect.DeepEqual(results, want) {
		t.Errorf("results:\n%+v\nwant\n%+v", results, want)
	}
}

func TestObserveOnlyWhenDue(t *testing.T) {
	c := New(parse(t, "- {by: 1m, podsRunning: {count: 1}}"), t0)
	calls := 0
	v := &countingView{fakeView: fakeView{pods: runningPods(0)}, calls: &calls}
	for _, now := range []time.Duration{0, 10 * time.Millisecond, 500 * time.Millisecond, 999 * time.Millisecond} {
		v.now = now
		c.Observe(v)
	}
	if calls != 1 {
		t.Errorf("%d samples before 1s, want 1 (at 0)", calls)
	}
	// Late calls sample once, and the next tick is aligned to the interval.
	v.now = 2300 * time.Millisecond
	c.Observe(v)
	if next, _ := c.Next(); next.Sub(t0) != 3*time.Second || calls != 2 {
		t.Errorf("next %v after a late sample, %d samples", next.Sub(t0), calls)
	}
	// Once passed, a by expectation wants no more samples.
	v.pods = runningPods(1)
	v.now = 3 * time.Second
	c.Observe(v)
	if _, ok := c.Next(); ok {
		t.Error("still wants samples after the only expectation passed")
	}
	v.now = 4 * time.Second
	c.Observe(v)
	if calls != 3 {
		t.Errorf("%d samples, want 3", calls)
	}
}

// countingView counts Pods calls, i.e. samples of a pod check.
type countingView struct {
	fakeView
	calls *int
}

func (v *countingView) Pods() []*corev1.Pod { *v.calls++; return v.fakeView.Pods() }

func TestFinishEdgeCases(t *testing.T) {
	sc := parse(t, `
- {name: late, at: 5m, podsRunning: {count: 0}}
- {name: future by, from: 6m, by: 7m, podsRunning: {count: 0}}
- {name: future always, always: true, from: 8m, podsRunning: {count: 0}}
- {name: invariant, noOvercommit: {}}
- {name: both, by: 1s, at: 2s, podsRunning: {count: 0}}
`)
	c := New(sc, t0)
	v := &fakeView{}
	c.Observe(v) // t=0
	v.now = time.Second
	c.Observe(v)
	// The simulator skips past 2s and 5m; Observe at 5m30s samples late.
	v.now = 5*time.Minute + 30*time.Second
	c.Observe(v)
	v.now = 5*time.Minute + 40*time.Second
	got := c.Finish(v)
	want := []Result{
		{"late", true, "at 5m: 0 pods running (want 0) (sampled late, at 5m30s)"},
		{"future by", false, "not by 7m: never sampled (run ended at 5m40s)"},
		{"future always", false, "never sampled (run ended at 5m40s)"},
		{"invariant", true, "held at all 4 samples"},
		{"both", true, "held at 0s; at 2s: 0 pods running (want 0) (sampled late, at 5m30s)"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("results:\n%+v\nwant\n%+v", got, want)
	}
	// After Finish the checker is inert.
	if _, ok := c.Next(); ok {
		t.Error("Next after Finish")
	}
}

func TestShippedScenariosCheck(t *testing.T) {
	// Every check kind builds an evaluator (no panics on any parsed check).
	sc := parse(t, `
- {by: 1m, deploymentReady: {name: web}}
- {by: 1m, rolloutComplete: {name: web}}
- {by: 1m, podsRunning: {count: 0}}
- {by: 1m, podsReady: {count: 0}}
- {by: 1m, podsPending: {count: 0}}
- {by: 1m, podsUnschedulable: {count: 0}}
- {by: 1m, podsOnNode: {node: a-0, count: 0}}
- {by: 1m, containerRestarts: {count: 0}}
- {by: 1m, containerWaiting: {reason: X, count: 0}}
- {by: 1m, nodeReady: {node: a-0}}
- {by: 1m, eventSeen: {reason: X}}
- {by: 1m, topologySpread: {topologyKey: zone, maxSkew: 1}}
- noOvercommit: {}
- noPodOnNotReadyNodePastToleration: {}
`)
	c := New(sc, t0)
	res := c.Finish(&fakeView{nodes: []*corev1.Node{node("a-0", zone("x"))}})
	if len(res) != 14 {
		t.Fatalf("%d results", len(res))
	}
	for _, r := range res {
		if r.Name == "" || r.Detail == "" {
			t.Errorf("empty result %+v", r)
		}
	}
}
