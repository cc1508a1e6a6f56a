package events_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/events"
	"github.com/drydock-sim/drydock/core/harness"
)

// TestAPIRecorderAggregates: a repeat (same object, reason and message)
// bumps the count of the stored Event; anything else is a new Event.
func TestAPIRecorderAggregates(t *testing.T) {
	h := harness.New(t)
	pod := h.Create(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}})
	var tapped []string
	r := &events.APIRecorder{Client: h.API, Clock: h.Clock, Component: "kubelet", Host: "n1",
		Tap: func(ev *corev1.Event) { tapped = append(tapped, ev.Reason) }}
	r.Event(pod, corev1.EventTypeNormal, "Pulled", "image present")
	r.Event(pod, corev1.EventTypeNormal, "Pulled", "image present")
	r.Event(pod, corev1.EventTypeNormal, "Pulled", "image present")
	r.Event(pod, corev1.EventTypeNormal, "Pulled", "other message")
	r.Event(pod, corev1.EventTypeWarning, "BackOff", "image present")
	objs, _, err := h.API.List(context.Background(), api.Events, "default", metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int32{}
	for _, o := range objs {
		ev := o.(*corev1.Event)
		counts[ev.Reason+"/"+ev.Message] = ev.Count
		if ev.ReportingInstance != "kubelet-n1" || ev.Source.Host != "n1" || ev.InvolvedObject.UID != pod.GetUID() {
			t.Errorf("event fields: %+v", ev)
		}
	}
	want := map[string]int32{"Pulled/image present": 3, "Pulled/other message": 1, "BackOff/image present": 1}
	if len(counts) != len(want) {
		t.Fatalf("events %v, want %v", counts, want)
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s: count %d, want %d", k, counts[k], n)
		}
	}
	if len(tapped) != 5 {
		t.Errorf("tap saw %d events, want 5", len(tapped))
	}
}
