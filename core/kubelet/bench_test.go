package kubelet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/cri/memruntime"
	"github.com/drydock-sim/drydock/core/events"
	"github.com/drydock-sim/drydock/core/harness"
	"github.com/drydock-sim/drydock/core/kubelet"
	"github.com/drydock-sim/drydock/core/rng"
)

// BenchmarkPodStart measures nodes×pods pods going from bound to Ready and
// then one simulated hour of steady state with readiness probes (the per-pod
// cost of the kubelet, runtime, API server and store together).
func BenchmarkPodStart(b *testing.B) {
	const nodes, perNode = 50, 30
	for i := 0; i < b.N; i++ {
		h := harness.New(b)
		for n := 0; n < nodes; n++ {
			name := fmt.Sprintf("node-%d", n)
			rt := memruntime.New(memruntime.Config{Clock: h.Clock, Rand: rng.Stream(1, name), Latency: latency,
				PodCIDR: fmt.Sprintf("10.%d.%d.0/24", 64+n/256, n%256)})
			k := kubelet.New(kubelet.Config{NodeName: name, Client: h.Client, Clock: h.Clock, Runtime: rt,
				Recorder: events.Discard, Node: nodeTemplate("64", "256Gi")})
			k.Start(context.Background())
		}
		h.Settle()
		for n := 0; n < nodes; n++ {
			for j := 0; j < perNode; j++ {
				p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%d-%d", n, j), Namespace: "default"},
					Spec: corev1.PodSpec{NodeName: fmt.Sprintf("node-%d", n), Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27",
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{}}, PeriodSeconds: 10}}}}}
				h.Create(p)
			}
		}
		h.Advance(time.Minute)
		objs, _, _ := h.API.List(context.Background(), api.Pods, "", metav1.ListOptions{})
		ready := 0
		for _, o := range objs {
			for _, c := range o.(*corev1.Pod).Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		if ready != nodes*perNode {
			b.Fatalf("%d of %d pods ready", ready, nodes*perNode)
		}
		h.Advance(time.Hour)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nodes*perNode), "ns/pod")
}
