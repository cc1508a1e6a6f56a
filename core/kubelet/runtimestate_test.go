package kubelet_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/core/cri/memruntime"
	"github.com/drydock-sim/drydock/core/harness"
	"github.com/drydock-sim/drydock/core/kubelet"
)

// statusRuntime is a memruntime that reports its status (cri.StatusReporter)
// from fields the test sets, answering on the clock as the port requires.
type statusRuntime struct {
	*memruntime.Runtime
	h       *harness.Harness
	runtime bool  // RuntimeReady
	network bool  // NetworkReady
	err     error // the Status call fails
	noCond  bool  // report no conditions at all
	calls   int
}

func (r *statusRuntime) Status(done func(*cri.RuntimeStatus, error)) {
	r.calls++
	var st *cri.RuntimeStatus
	err := r.err
	if err == nil {
		st = &cri.RuntimeStatus{}
		if !r.noCond {
			st.Conditions = []cri.RuntimeCondition{{Type: cri.RuntimeReady, Status: r.runtime}, {Type: cri.NetworkReady, Status: r.network}}
			if !r.runtime {
				st.Conditions[0].Reason, st.Conditions[0].Message = "ContainerdNotServing", "containerd is not serving"
			}
			if !r.network {
				st.Conditions[1].Reason, st.Conditions[1].Message = "NetworkPluginNotReady", "Network plugin returns error: no pod CIDR"
			}
		}
	}
	r.h.Clock.AfterFunc(0, func() { done(st, err) })
}

func readyCond(n *corev1.Node) corev1.NodeCondition {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c
		}
	}
	return corev1.NodeCondition{}
}

const netNotReady = "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: no pod CIDR"

// TestNodeReadinessFollowsRuntimeStatus: a runtime that reports its status
// keeps the node NotReady with the kubelet's message while a condition is
// false, and pods that need the pod network wait in ContainerCreating (a
// NetworkNotReady event) until the network is ready; host-network pods start.
func TestNodeReadinessFollowsRuntimeStatus(t *testing.T) {
	cases := []struct {
		name             string
		runtime, network bool
		noCond           bool
		err              error
		wantMsg          string
	}{
		{name: "network not ready", runtime: true, wantMsg: netNotReady},
		{name: "runtime and network not ready", wantMsg: "[container runtime status check may not have completed yet, container runtime not ready: RuntimeReady=false reason:ContainerdNotServing message:containerd is not serving, " + netNotReady + "]"},
		{name: "no conditions", noCond: true, wantMsg: "[container runtime status check may not have completed yet, container runtime not ready: <nil>, container runtime network not ready: <nil>]"},
		{name: "status call fails", err: errors.New("connection refused"),
			wantMsg: "[container runtime status check may not have completed yet, network state unknown]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var srt *statusRuntime
			e := newEnvWrapped(t, func(h *harness.Harness, rt *memruntime.Runtime) cri.Runtime {
				srt = &statusRuntime{Runtime: rt, h: h, runtime: tc.runtime, network: tc.network, noCond: tc.noCond, err: tc.err}
				return srt
			})
			e.until("node NotReady", 10*time.Second, func() bool {
				c := readyCond(e.node())
				return c.Status == corev1.ConditionFalse && c.Message == tc.wantMsg
			})
			if c := readyCond(e.node()); c.Reason != "KubeletNotReady" {
				t.Errorf("Ready reason %q, want KubeletNotReady", c.Reason)
			}
			e.createPod("web")
			e.createPod("host", func(p *corev1.Pod) { p.Spec.HostNetwork = true })
			if tc.runtime && !tc.network {
				e.until("host-network pod Running", 10*time.Second, phaseIs(e, "host", corev1.PodRunning))
				e.run(20*time.Second, func() bool { return false })
				p := e.pod("web")
				if p.Status.Phase != corev1.PodPending || len(p.Status.ContainerStatuses) != 1 ||
					p.Status.ContainerStatuses[0].State.Waiting == nil || p.Status.ContainerStatuses[0].State.Waiting.Reason != "ContainerCreating" {
					t.Fatalf("pod without network: status %+v, want Pending in ContainerCreating", p.Status)
				}
				var msg string
				for _, ev := range e.h.Events {
					if ev.InvolvedObject.Name == "web" && ev.Reason == "NetworkNotReady" {
						msg = ev.Message
					}
				}
				if want := "network is not ready: " + netNotReady; msg != want {
					t.Errorf("NetworkNotReady event %q, want %q", msg, want)
				}
			}

			// The runtime recovers: within one check (5 s) the node is Ready
			// and the held pod runs.
			srt.runtime, srt.network, srt.noCond, srt.err = true, true, false, nil
			start := e.elapsed()
			e.until("node Ready", 10*time.Second, func() bool {
				c := readyCond(e.node())
				return c.Status == corev1.ConditionTrue && c.Reason == "KubeletReady" && c.Message == "kubelet is posting ready status"
			})
			if d := e.elapsed() - start; d > 5*time.Second {
				t.Errorf("Ready %v after the runtime recovered, want within the 5s check period", d)
			}
			e.until("pod Running", 10*time.Second, phaseIs(e, "web", corev1.PodRunning))
			var got []string
			for _, r := range e.reasons(nodeName) {
				if r == "NodeReady" || r == "NodeNotReady" {
					got = append(got, r)
				}
			}
			if want := []string{"NodeNotReady", "NodeReady"}; !reflect.DeepEqual(got, want) {
				t.Errorf("node readiness events %v, want %v", got, want)
			}
		})
	}
}

// TestRuntimeNotHeardFromIsDown: once a runtime stops answering its status
// checks successfully for 30 s, the node goes NotReady with "container
// runtime is down", and Ready again when a check succeeds.
func TestRuntimeNotHeardFromIsDown(t *testing.T) {
	var srt *statusRuntime
	e := newEnvWrapped(t, func(h *harness.Harness, rt *memruntime.Runtime) cri.Runtime {
		srt = &statusRuntime{Runtime: rt, h: h, runtime: true, network: true}
		return srt
	})
	e.until("node Ready", 10*time.Second, func() bool { return readyCond(e.node()).Status == corev1.ConditionTrue })
	srt.err = errors.New("deadline exceeded")
	e.until("runtime down", 60*time.Second, func() bool {
		c := readyCond(e.node())
		return c.Status == corev1.ConditionFalse && c.Message == "container runtime is down"
	})
	srt.err = nil
	e.until("node Ready again", 10*time.Second, func() bool { return readyCond(e.node()).Status == corev1.ConditionTrue })
	if srt.calls < 8 {
		t.Errorf("%d status checks, want one every 5s", srt.calls)
	}
}

// TestRuntimeWithoutStatusIsReady: a runtime without a status call (the
// simulator's) is never asked and the node is Ready from registration.
func TestRuntimeWithoutStatusIsReady(t *testing.T) {
	e := newEnv(t)
	if _, ok := kubelet.Config(e.cfg).Runtime.(cri.StatusReporter); ok {
		t.Fatal("memruntime implements cri.StatusReporter; the simulator's traces assume it does not")
	}
	if c := readyCond(e.node()); c.Status != corev1.ConditionTrue {
		t.Fatalf("Ready %+v", c)
	}
}
