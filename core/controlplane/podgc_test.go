package controlplane

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
	"github.com/drydock-sim/drydock/core/rng"
)

// The pod garbage collector runs with the threshold given (nil: Kubernetes'
// 12500, 0: that pass off), shares the node lifecycle controller's
// pods-by-node index for orphans, and logs under its component name.
func TestPodGCWiring(t *testing.T) {
	one, zero := int32(1), int32(0)
	cases := []struct {
		name      string
		threshold *int32
		wantLeft  []string
	}{
		{name: "default threshold", wantLeft: []string{"failed-new", "failed-old"}},
		{name: "threshold 0: off", threshold: &zero, wantLeft: []string{"failed-new", "failed-old"}},
		{name: "threshold 1", threshold: &one, wantLeft: []string{"failed-new"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := harness.New(t)
			var errs, logs []string
			cp := New(Config{Client: h.Client, Clock: h.Clock, Rand: rng.Stream(1, "sched"), TerminatedPodGCThreshold: tc.threshold,
				OnError: func(c string, err error) { errs = append(errs, c+": "+err.Error()) },
				Log:     func(c, msg string, kv ...any) { logs = append(logs, c+": "+msg+" "+fmt.Sprint(kv)) }})
			cp.Start(context.Background())
			defer cp.Stop()
			for _, n := range []string{"n1", "doomed"} {
				h.Create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}})
			}
			for _, p := range []struct{ name, node string }{{"failed-old", "n1"}, {"failed-new", "n1"}, {"orphan", "doomed"}} {
				pod := h.Create(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: "default"},
					Spec: corev1.PodSpec{NodeName: p.node, Containers: []corev1.Container{{Name: "c", Image: "i"}}}}).(*corev1.Pod).DeepCopy()
				if p.node == "n1" {
					pod.Status.Phase = corev1.PodFailed
					if _, err := h.API.Update(context.Background(), pod, "status"); err != nil {
						t.Fatal(err)
					}
				}
				h.Advance(time.Second)
			}
			if _, _, err := h.API.Delete(context.Background(), api.Nodes, "", "doomed", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			h.Advance(2 * time.Minute)
			var left []string
			for _, o := range h.List(api.Pods, "default", "") {
				left = append(left, o.GetName())
			}
			if !slices.Equal(left, tc.wantLeft) {
				t.Errorf("pods left %v, want %v", left, tc.wantLeft)
			}
			if !slices.Contains(logs, "pod-garbage-collector: Forced deletion of orphaned Pod succeeded [pod default/orphan]") {
				t.Errorf("logs %q", logs)
			}
			if len(errs) > 0 {
				t.Errorf("errors %v", errs)
			}
		})
	}
}
