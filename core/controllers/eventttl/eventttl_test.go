package eventttl

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
)

func event(h *harness.Harness, name string) {
	now := metav1.NewTime(h.Clock.Now())
	h.Create(&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "p"},
		Reason:         "Test", FirstTimestamp: now, LastTimestamp: now, Count: 1})
}

// repeat is the recorder aggregating a recurrence into an existing Event.
func repeat(t *testing.T, h *harness.Harness, name string) {
	ev := h.Get(api.Events, "default", name).(*corev1.Event).DeepCopy()
	ev.Count++
	ev.LastTimestamp = metav1.NewTime(h.Clock.Now())
	if _, err := h.API.Update(context.Background(), ev, ""); err != nil {
		t.Fatal(err)
	}
}

func TestEventTTL(t *testing.T) {
	h := harness.New(t)
	event(h, "old") // before the controller starts
	h.Settle()
	c := New(Config{Client: h.Client, Clock: h.Clock, Events: h.Informer(api.Events)})
	h.Advance(30 * time.Minute)
	event(h, "mid")
	event(h, "repeated")
	h.Advance(15 * time.Minute)
	repeat(t, h, "repeated") // at 45m: lives until 1h45m

	steps := []struct {
		at   time.Duration
		want []string
	}{
		{59 * time.Minute, []string{"mid", "old", "repeated"}},
		{61 * time.Minute, []string{"mid", "repeated"}},
		{91 * time.Minute, []string{"repeated"}},
		{104 * time.Minute, []string{"repeated"}},
		{106 * time.Minute, nil},
	}
	for _, s := range steps {
		h.Clock.RunUntil(harness.Epoch.Add(s.at))
		var got []string
		for _, o := range h.List(api.Events, "default", "") {
			got = append(got, o.GetName())
		}
		if !slices.Equal(got, s.want) {
			t.Errorf("at %v: events = %v, want %v", s.at, got, s.want)
		}
	}
	if c.Runner.Reconciles != 3 {
		t.Errorf("reconciles = %d, want one per expired event", c.Runner.Reconciles)
	}
	if c.Pending() != 0 || c.cfg.Events.Len() != 0 {
		t.Errorf("pending = %d, cached = %d after all expired", c.Pending(), c.cfg.Events.Len())
	}
}
