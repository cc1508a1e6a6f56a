package simruntime_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
	"github.com/drydock-sim/drydock/core/kubelet"
	"github.com/drydock-sim/drydock/sim/scenario"
	"github.com/drydock-sim/drydock/sim/simruntime"
)

// simNode runs a kubelet over a simulated runtime on the harness.
func simNode(h *harness.Harness, i int, seed uint64) (*kubelet.Kubelet, *simruntime.Runtime) {
	name := fmt.Sprintf("node-%d", i)
	rt := simruntime.New(simruntime.Config{NodeName: name, Clock: h.Clock, Seed: seed, PodCIDR: simruntime.PodCIDR(i)})
	k := kubelet.New(kubelet.Config{NodeName: name, Client: h.Client, Clock: h.Clock, Runtime: rt, Recorder: h.Recorder("kubelet"),
		Node: &corev1.Node{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("8Gi")}}}})
	k.Start(context.Background())
	return k, rt
}

func simPod(name, node string, ann map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Annotations: ann},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "main", Image: "busybox:1.36",
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(80)}},
				PeriodSeconds: 2}}}}}
}

func getPod(h *harness.Harness, name string) *corev1.Pod {
	if o := h.Get(api.Pods, "default", name); o != nil {
		return o.(*corev1.Pod)
	}
	return nil
}

// TestKubeletOnSimRuntime runs the scenario annotations through a kubelet:
// a crasher lands in CrashLoopBackOff at Kubernetes' pace, a slow starter
// becomes Ready after its warm-up, and a node crash restarts pods.
func TestKubeletOnSimRuntime(t *testing.T) {
	h := harness.New(t)
	k, rt := simNode(h, 0, 1)
	h.Settle()
	h.Create(simPod("crasher", "node-0", map[string]string{scenario.AnnotationExitAfter: "3s", scenario.AnnotationExitCode: "1"}))
	h.Create(simPod("web", "node-0", map[string]string{scenario.AnnotationReadyAfter: "5s"}))
	h.Advance(3 * time.Minute)
	c := getPod(h, "crasher").Status.ContainerStatuses[0]
	// Starts about 1.4s (pull, sandbox, start), then exit + restart every
	// 3s + back-off: 0, 10s, 20s, 40s, 80s -> restarts 1..5 by 3m.
	if c.RestartCount < 3 || c.RestartCount > 7 {
		t.Errorf("crasher restarts %d by 3m, want 3..7", c.RestartCount)
	}
	if c.LastTerminationState.Terminated == nil || c.LastTerminationState.Terminated.ExitCode != 1 {
		t.Errorf("crasher lastState %+v", c.LastTerminationState)
	}
	web := getPod(h, "web")
	if web.Status.Phase != corev1.PodRunning || web.Status.ContainerStatuses[0].RestartCount != 0 || !web.Status.ContainerStatuses[0].Ready {
		t.Fatalf("web %s %+v", web.Status.Phase, web.Status.ContainerStatuses[0])
	}
	if !strings.HasPrefix(web.Status.ContainerStatuses[0].ContainerID, "sim://") || !strings.HasPrefix(web.Status.PodIP, "10.64.0.") {
		t.Errorf("web container %s ip %s", web.Status.ContainerStatuses[0].ContainerID, web.Status.PodIP)
	}
	k.Stop()
	rt.Crash()
	h.Advance(time.Minute)
	k.Start(context.Background())
	h.Advance(30 * time.Second)
	web = getPod(h, "web")
	if cs := web.Status.ContainerStatuses[0]; cs.RestartCount != 1 || !cs.Ready {
		t.Errorf("web after node crash: %+v", cs)
	}
}

// TestSimDeterministic: the same seed gives the same event trace.
func TestSimDeterministic(t *testing.T) {
	trace := func() string {
		h := harness.New(t)
		for i := 0; i < 3; i++ {
			simNode(h, i, 42)
		}
		h.Settle()
		for i := 0; i < 9; i++ {
			ann := map[string]string{scenario.AnnotationReadyAfter: "3s"}
			if i%3 == 0 {
				ann = map[string]string{scenario.AnnotationExitAfter: "10s", scenario.AnnotationExitCode: "2"}
			}
			h.Create(simPod(fmt.Sprintf("p%d", i), fmt.Sprintf("node-%d", i%3), ann))
		}
		h.Advance(5 * time.Minute)
		var b strings.Builder
		for _, ev := range h.Events {
			fmt.Fprintf(&b, "%s %s %s %s\n", ev.LastTimestamp.Format(time.RFC3339), ev.InvolvedObject.Name, ev.Reason, ev.Message)
		}
		for i := 0; i < 9; i++ {
			p := getPod(h, fmt.Sprintf("p%d", i))
			fmt.Fprintf(&b, "%s %s %s %d\n", p.Name, p.Status.Phase, p.Status.PodIP, p.Status.ContainerStatuses[0].RestartCount)
		}
		return b.String()
	}
	a, b := trace(), trace()
	if a != b {
		t.Fatalf("traces differ:\n%s\n---\n%s", a, b)
	}
	if !strings.Contains(a, "Pulling image") || !strings.Contains(a, "BackOff") {
		t.Errorf("trace lacks expected events:\n%s", a)
	}
}
