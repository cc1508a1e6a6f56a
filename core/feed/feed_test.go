package feed

import (
	"math"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/scheduler"
)

func TestSpeedLadder(t *testing.T) {
	tests := []struct {
		in                    float64
		clamp, faster, slower float64
	}{
		{1, 1, 2, 1},
		{0, 1, 1, 1},
		{-5, 1, 1, 1},
		{math.NaN(), 1, 10000, 1},
		{3, 3, 5, 2},
		{10, 10, 20, 5},
		{10000, 10000, 10000, 5000},
		{1e6, 10000, 10000, 10000},
	}
	for _, tc := range tests {
		if got := ClampSpeed(tc.in); got != tc.clamp {
			t.Errorf("ClampSpeed(%v) = %v, want %v", tc.in, got, tc.clamp)
		}
		if got := Faster(tc.in); got != tc.faster && !math.IsNaN(tc.in) {
			t.Errorf("Faster(%v) = %v, want %v", tc.in, got, tc.faster)
		}
		if got := Slower(tc.in); got != tc.slower && !math.IsNaN(tc.in) {
			t.Errorf("Slower(%v) = %v, want %v", tc.in, got, tc.slower)
		}
	}
}

func TestKindsHaveResources(t *testing.T) {
	for _, k := range Kinds {
		r := k.Resource()
		if r == nil || r.Kind != string(k) {
			t.Errorf("kind %s: resource %v", k, r)
		}
	}
	if Kind("Lease").Resource() != nil {
		t.Error("a kind the feed does not carry has a resource")
	}
}

func TestRecorder(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 5, 0, time.UTC)
	r := Recorder{Now: func() time.Time { return now }}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	for _, typ := range []api.WatchEventType{api.WatchAdded, api.WatchBookmark, api.WatchModified, api.WatchError, api.WatchDeleted} {
		r.Change(Pods, api.WatchEvent{Type: typ, Object: pod})
	}
	scored := []string{"a", "b"}
	r.Decision(scheduler.Decision{Pod: pod, Scored: scored, Winner: "a"})
	scored[0] = "changed by the scheduler's next attempt"
	r.Mark(Mark{Action: "crashNode", Node: "n"})

	b := r.Take(Status{Source: "sim"})
	if len(b.Changes) != 3 || b.Changes[0].Type != api.WatchAdded || b.Changes[2].Type != api.WatchDeleted || !b.Changes[1].At.Equal(now) {
		t.Errorf("changes %+v", b.Changes)
	}
	if len(b.Decisions) != 1 || b.Decisions[0].Scored[0] != "a" || !b.Decisions[0].At.Equal(now) {
		t.Errorf("decision not cloned: %+v", b.Decisions)
	}
	if len(b.Marks) != 1 || b.Reset || b.Status.Source != "sim" || b.Empty() {
		t.Errorf("batch %+v", b)
	}
	if b2 := r.Take(Status{}); !b2.Empty() {
		t.Errorf("second take not empty: %+v", b2)
	}
	r.Change(Pods, api.WatchEvent{Type: api.WatchAdded, Object: pod})
	r.Reset()
	if b3 := r.Take(Status{}); !b3.Reset || len(b3.Changes) != 0 || b3.Empty() {
		t.Errorf("after reset: %+v", b3)
	}
}
