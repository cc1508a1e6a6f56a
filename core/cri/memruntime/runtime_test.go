package memruntime_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/drydock-sim/drydock/core/clock/fakeclock"
	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/core/cri/critest"
	"github.com/drydock-sim/drydock/core/cri/memruntime"
)

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// newEnv wires a memruntime with non-zero latencies to the suite; workloads
// are passed to the Behavior hook through a container annotation.
func newEnv(t *testing.T) *critest.Env {
	clk := fakeclock.New(epoch)
	workloads := map[string]critest.Workload{}
	rt := memruntime.New(memruntime.Config{
		Clock: clk, Rand: rand.New(rand.NewPCG(1, 1)),
		Latency: func(op memruntime.Op, image string, cached bool) time.Duration {
			switch op {
			case memruntime.OpPull:
				if cached {
					return 0
				}
				return time.Second
			case memruntime.OpStart:
				return 300 * time.Millisecond
			}
			return time.Millisecond
		},
		ImageExists: func(image string) bool { return image != "missing:1" },
		Behavior: func(_ *cri.SandboxConfig, c *cri.ContainerConfig) (memruntime.Behavior, error) {
			w := workloads[c.Annotations["workload"]]
			b := memruntime.Behavior{Exits: w.Exits, ExitAfter: w.ExitAfter, ExitCode: w.ExitCode, ReadyAfter: w.ReadyAfter,
				FailsLiveness: w.FailsLiveness, FailLivenessAfter: w.FailLivenessAfter}
			if w.IgnoreTERM {
				b.StopAfter = 24 * time.Hour
			}
			return b, nil
		},
	})
	n := 0
	ready, live := critest.DefaultProbes()
	return &critest.Env{
		Runtime: rt, Image: "nginx:1.27", MissingImage: "missing:1",
		Now: clk.Now, Run: critest.ManualRun(clk), Readiness: ready, Liveness: live,
		Pod: func(w critest.Workload) (*cri.SandboxConfig, *cri.ContainerConfig) {
			n++
			key := fmt.Sprint(n)
			workloads[key] = w
			uid := "uid-" + key
			return &cri.SandboxConfig{Name: "pod-" + key, Namespace: "default", UID: uid,
					Labels: map[string]string{cri.LabelPodUID: uid}},
				&cri.ContainerConfig{Name: "app", Labels: map[string]string{cri.LabelPodUID: uid, cri.LabelContainerName: "app"},
					Annotations: map[string]string{"workload": key}}
		},
	}
}

func TestSuite(t *testing.T) { critest.Run(t, newEnv) }

func TestCrashKeepsExitedRecords(t *testing.T) {
	env := newEnv(t)
	rt := env.Runtime.(*memruntime.Runtime)
	var events []cri.ContainerEvent
	rt.SetEventHandler(func(ev cri.ContainerEvent) { events = append(events, ev) })
	sbCfg, cCfg := env.Pod(critest.Workload{})
	cCfg.Image = "nginx:1.27"
	var sb *cri.SandboxStatus
	var id string
	stopped := false
	rt.RunPodSandbox(sbCfg, func(s *cri.SandboxStatus, _ error) {
		sb = s
		rt.CreateContainer(s.ID, cCfg, sbCfg, func(x string, _ error) {
			id = x
			rt.StartContainer(x, func(error) {})
		})
	})
	env.Run(time.Minute, func() bool { return rt.Running() == 1 })
	// A call in flight at the crash never answers.
	rt.StopContainer(id, time.Minute, func(error) { stopped = true })
	rt.Crash()
	env.Run(time.Hour, func() bool { return false })
	if stopped {
		t.Error("a call in flight at the crash answered")
	}
	for _, ev := range events {
		if ev.Type == cri.ContainerExitedEvent {
			t.Errorf("crash emitted an exit event: %+v", ev)
		}
	}
	var list []*cri.ContainerStatus
	rt.ListContainers(func(l []*cri.ContainerStatus, _ error) { list = l })
	var sbs []*cri.SandboxStatus
	rt.ListPodSandboxes(func(l []*cri.SandboxStatus, _ error) { sbs = l })
	env.Run(time.Second, func() bool { return list != nil && sbs != nil })
	if len(list) != 1 || list[0].State != cri.ContainerExited || list[0].ExitCode != 255 || list[0].Reason != cri.ReasonUnknown {
		t.Fatalf("containers after crash: %+v", list)
	}
	if len(sbs) != 1 || sbs[0].ID != sb.ID || sbs[0].State != cri.SandboxNotReady {
		t.Fatalf("sandboxes after crash: %+v", sbs)
	}
	if !rt.HasImage("nginx:1.27") {
		// The image was never pulled in this test, so only check Wipe below.
		t.Log("image not cached (never pulled)")
	}
	rt.Wipe()
	list = nil
	rt.ListContainers(func(l []*cri.ContainerStatus, _ error) { list = l })
	env.Run(time.Second, func() bool { return list != nil })
	if len(list) != 0 {
		t.Fatalf("containers after wipe: %+v", list)
	}
}

func TestIPsRoundRobin(t *testing.T) {
	clk := fakeclock.New(epoch)
	rt := memruntime.New(memruntime.Config{Clock: clk, PodCIDR: "10.1.2.0/29"})
	var ips []string
	var ids []string
	for i := 0; i < 5; i++ {
		rt.RunPodSandbox(&cri.SandboxConfig{Name: fmt.Sprint(i)}, func(s *cri.SandboxStatus, err error) {
			if err != nil {
				ips = append(ips, "err")
				return
			}
			ips = append(ips, s.IP)
			ids = append(ids, s.ID)
		})
	}
	clk.Settle()
	want := []string{"10.1.2.2", "10.1.2.3", "10.1.2.4", "10.1.2.5", "10.1.2.6"}
	if fmt.Sprint(ips) != fmt.Sprint(want) {
		t.Fatalf("ips %v, want %v", ips, want)
	}
	rt.RunPodSandbox(&cri.SandboxConfig{}, func(s *cri.SandboxStatus, err error) {
		if err == nil {
			t.Error("a full range handed out an address")
		}
	})
	rt.StopPodSandbox(ids[1], func(error) {})
	clk.Settle()
	rt.RunPodSandbox(&cri.SandboxConfig{}, func(s *cri.SandboxStatus, err error) {
		if err != nil || s.IP != "10.1.2.3" {
			t.Errorf("after a release got %v, %v; want 10.1.2.3", s, err)
		}
	})
	clk.Settle()
}
