// Package critest is the behaviour suite every cri.Runtime must pass: the
// simulated runtime and containerd alike. It pins down what the kubelet
// relies on: results arrive asynchronously, exits are reported with their
// code and reason, stops send SIGTERM and SIGKILL after the grace period,
// sandboxes hand out addresses, and probes answer from the container.
//
// A runtime's test calls Run with a constructor of an Env, which supplies the
// runtime, a way to drive its loop, and workloads that behave as asked.
package critest

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/drydock-sim/drydock/core/clock/fakeclock"
	"github.com/drydock-sim/drydock/core/cri"
)

// Workload is how a test container's process behaves.
type Workload struct {
	// Exits: the process exits by itself ExitAfter after it started, with ExitCode.
	Exits     bool
	ExitAfter time.Duration
	ExitCode  int32
	// IgnoreTERM: the process ignores SIGTERM, so only SIGKILL stops it.
	// Otherwise it exits promptly on SIGTERM.
	IgnoreTERM bool
	// ReadyAfter: readiness probes succeed from this long after start.
	ReadyAfter time.Duration
	// FailsLiveness: liveness probes fail from FailLivenessAfter after start.
	FailsLiveness     bool
	FailLivenessAfter time.Duration
}

// Env is one runtime under test.
type Env struct {
	Runtime cri.Runtime
	// Image is an image the runtime can pull; MissingImage one it cannot.
	Image, MissingImage string
	// Now reads the driver's clock.
	Now func() time.Time
	// Run drives the loop until cond holds or d has passed, and reports cond().
	Run func(d time.Duration, cond func() bool) bool
	// Pod returns configs for a pod with one container running w. The
	// suite fills in the container's Image and ImageRef after pulling.
	Pod func(w Workload) (*cri.SandboxConfig, *cri.ContainerConfig)
	// Readiness and Liveness are probe requests that test the workload's
	// readiness and liveness (e.g. exec of a file check, or HTTP).
	Readiness, Liveness cri.ProbeRequest
	// Slack is the timing tolerance: 0 for a virtual clock, about a second
	// for a real runtime.
	Slack time.Duration
}

// DefaultProbes are probe requests for runtimes that answer probes from a
// model and ignore the handler.
func DefaultProbes() (readiness, liveness cri.ProbeRequest) {
	h := corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}
	return cri.ProbeRequest{Kind: cri.ProbeReadiness, Handler: h, Port: 8080, Timeout: time.Second},
		cri.ProbeRequest{Kind: cri.ProbeLiveness, Handler: h, Port: 8080, Timeout: time.Second}
}

// ManualRun is Env.Run for a manual clock: it steps timers until cond
// holds, or moves time to the deadline when none is due before it.
func ManualRun(clk *fakeclock.Clock) func(d time.Duration, cond func() bool) bool {
	return func(d time.Duration, cond func() bool) bool {
		deadline := clk.Now().Add(d)
		for !cond() {
			next, ok := clk.Next()
			if !ok || next.After(deadline) {
				clk.RunUntil(deadline)
				return cond()
			}
			clk.Step()
		}
		return true
	}
}

// Run runs the suite; newEnv is called once per test case.
func Run(t *testing.T, newEnv func(t *testing.T) *Env) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"CallsAreAsynchronous", testAsync},
		{"SandboxLifecycle", testSandbox},
		{"Images", testImages},
		{"ExitCodeAndReason", testExit},
		{"StopGraceful", testStopGraceful},
		{"StopKillsAfterGrace", testStopKill},
		{"StopShortensGrace", testStopShorten},
		{"StopExitedAndUnknown", testStopExited},
		{"RemoveContainer", testRemove},
		{"StopSandboxKillsContainers", testStopSandbox},
		{"Probes", testProbes},
		{"ListContainers", testList},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			s := &suite{t: t, env: env, rt: env.Runtime}
			env.Runtime.SetEventHandler(func(ev cri.ContainerEvent) { s.events = append(s.events, ev) })
			defer env.Runtime.SetEventHandler(nil)
			tc.fn(t, s)
		})
	}
}

type suite struct {
	t      *testing.T
	env    *Env
	rt     cri.Runtime
	events []cri.ContainerEvent
	last   *cri.ContainerConfig // config of the last container started
}

// wait drives the loop until *flag is set, failing the test after d.
func (s *suite) wait(what string, d time.Duration, flag *bool) {
	s.t.Helper()
	if !s.env.Run(d, func() bool { return *flag }) {
		s.t.Fatalf("%s: no result within %v", what, d)
	}
}

const callTimeout = 2 * time.Minute

func (s *suite) runSandbox(cfg *cri.SandboxConfig) *cri.SandboxStatus {
	s.t.Helper()
	var st *cri.SandboxStatus
	var err error
	got := false
	s.rt.RunPodSandbox(cfg, func(x *cri.SandboxStatus, e error) { st, err, got = x, e, true })
	s.wait("RunPodSandbox", callTimeout, &got)
	if err != nil {
		s.t.Fatalf("RunPodSandbox: %v", err)
	}
	return st
}

func (s *suite) pull(image string) (*cri.Image, error) {
	s.t.Helper()
	var img *cri.Image
	var err error
	got := false
	s.rt.PullImage(image, nil, func(x *cri.Image, e error) { img, err, got = x, e, true })
	s.wait("PullImage", callTimeout, &got)
	return img, err
}

// start runs a sandbox and a started container for w and returns the
// container ID and the time it was started.
func (s *suite) start(w Workload) (sandboxID, id string, started time.Time) {
	s.t.Helper()
	sbCfg, cCfg := s.env.Pod(w)
	sb := s.runSandbox(sbCfg)
	img, err := s.pull(s.env.Image)
	if err != nil {
		s.t.Fatalf("PullImage(%s): %v", s.env.Image, err)
	}
	cCfg.Image, cCfg.ImageRef = s.env.Image, img.Ref
	s.last = cCfg
	got := false
	s.rt.CreateContainer(sb.ID, cCfg, sbCfg, func(x string, e error) { id, err, got = x, e, true })
	s.wait("CreateContainer", callTimeout, &got)
	if err != nil {
		s.t.Fatalf("CreateContainer: %v", err)
	}
	got = false
	s.rt.StartContainer(id, func(e error) { err, got = e, true })
	s.wait("StartContainer", callTimeout, &got)
	if err != nil {
		s.t.Fatalf("StartContainer: %v", err)
	}
	return sb.ID, id, s.env.Now()
}

func (s *suite) status(id string) (*cri.ContainerStatus, error) {
	s.t.Helper()
	var st *cri.ContainerStatus
	var err error
	got := false
	s.rt.ContainerStatus(id, func(x *cri.ContainerStatus, e error) { st, err, got = x, e, true })
	s.wait("ContainerStatus", callTimeout, &got)
	return st, err
}

func (s *suite) exitEvent(id string) (cri.ContainerEvent, bool) {
	for _, ev := range s.events {
		if ev.ContainerID == id && ev.Type == cri.ContainerExitedEvent {
			return ev, true
		}
	}
	return cri.ContainerEvent{}, false
}

// waitExit drives the loop until id's exit event arrives.
func (s *suite) waitExit(id string, d time.Duration) cri.ContainerEvent {
	s.t.Helper()
	if !s.env.Run(d, func() bool { _, ok := s.exitEvent(id); return ok }) {
		s.t.Fatalf("no exit event for %s within %v", id, d)
	}
	ev, _ := s.exitEvent(id)
	return ev
}

// within checks that got lies in [want-slack, want+slack].
func (s *suite) within(what string, got, want time.Duration) {
	s.t.Helper()
	if got < want-s.env.Slack || got > want+s.env.Slack {
		s.t.Errorf("%s took %v, want %v (±%v)", what, got, want, s.env.Slack)
	}
}

func (s *suite) stop(id string, timeout time.Duration, done *bool, err *error) {
	s.rt.StopContainer(id, timeout, func(e error) { *err, *done = e, true })
}

func testAsync(t *testing.T, s *suite) {
	called := false
	s.rt.ListPodSandboxes(func([]*cri.SandboxStatus, error) { called = true })
	if called {
		t.Fatal("ListPodSandboxes called done synchronously")
	}
	s.wait("ListPodSandboxes", callTimeout, &called)
	sbCfg, _ := s.env.Pod(Workload{})
	called = false
	s.rt.RunPodSandbox(sbCfg, func(*cri.SandboxStatus, error) { called = true })
	if called {
		t.Fatal("RunPodSandbox called done synchronously")
	}
	s.wait("RunPodSandbox", callTimeout, &called)
	called = false
	s.rt.StopContainer("no-such-container", time.Second, func(error) { called = true })
	if called {
		t.Fatal("StopContainer called done synchronously")
	}
	s.wait("StopContainer", callTimeout, &called)
}

func (s *suite) sandboxes() []*cri.SandboxStatus {
	s.t.Helper()
	var list []*cri.SandboxStatus
	var err error
	got := false
	s.rt.ListPodSandboxes(func(x []*cri.SandboxStatus, e error) { list, err, got = x, e, true })
	s.wait("ListPodSandboxes", callTimeout, &got)
	if err != nil {
		s.t.Fatalf("ListPodSandboxes: %v", err)
	}
	return list
}

func findSandbox(list []*cri.SandboxStatus, id string) *cri.SandboxStatus {
	for _, sb := range list {
		if sb.ID == id {
			return sb
		}
	}
	return nil
}

func testSandbox(t *testing.T, s *suite) {
	cfgA, _ := s.env.Pod(Workload{})
	cfgB, _ := s.env.Pod(Workload{})
	a, b := s.runSandbox(cfgA), s.runSandbox(cfgB)
	if a.ID == "" || a.IP == "" || a.State != cri.SandboxReady {
		t.Fatalf("sandbox status %+v: want an ID, an IP and state ready", a)
	}
	if a.ID == b.ID || a.IP == b.IP {
		t.Fatalf("two sandboxes share ID or IP: %s/%s and %s/%s", a.ID, a.IP, b.ID, b.IP)
	}
	got := findSandbox(s.sandboxes(), a.ID)
	if got == nil {
		t.Fatal("ListPodSandboxes lacks a running sandbox")
	}
	if got.UID != cfgA.UID || got.Name != cfgA.Name || got.Labels[cri.LabelPodUID] != cfgA.Labels[cri.LabelPodUID] {
		t.Errorf("listed sandbox lost its metadata: %+v", got)
	}
	var err error
	done := false
	s.rt.StopPodSandbox(a.ID, func(e error) { err, done = e, true })
	s.wait("StopPodSandbox", callTimeout, &done)
	if err != nil {
		t.Fatalf("StopPodSandbox: %v", err)
	}
	if got := findSandbox(s.sandboxes(), a.ID); got == nil || got.State != cri.SandboxNotReady {
		t.Fatalf("stopped sandbox listed as %+v, want not ready", got)
	}
	for i := 0; i < 2; i++ { // removing twice succeeds, as in CRI
		done = false
		s.rt.RemovePodSandbox(a.ID, func(e error) { err, done = e, true })
		s.wait("RemovePodSandbox", callTimeout, &done)
		if err != nil {
			t.Fatalf("RemovePodSandbox #%d: %v", i+1, err)
		}
	}
	if findSandbox(s.sandboxes(), a.ID) != nil {
		t.Fatal("removed sandbox still listed")
	}
}

func testImages(t *testing.T, s *suite) {
	img, err := s.pull(s.env.Image)
	if err != nil || img == nil || img.Ref == "" {
		t.Fatalf("PullImage(%s) = %+v, %v; want an image with a ref", s.env.Image, img, err)
	}
	var st *cri.Image
	got := false
	s.rt.ImageStatus(s.env.Image, func(x *cri.Image, e error) { st, err, got = x, e, true })
	s.wait("ImageStatus", callTimeout, &got)
	if err != nil || st == nil || st.Ref != img.Ref {
		t.Fatalf("ImageStatus after pull = %+v, %v; want ref %s", st, err, img.Ref)
	}
	got = false
	s.rt.ImageStatus(s.env.MissingImage, func(x *cri.Image, e error) { st, err, got = x, e, true })
	s.wait("ImageStatus", callTimeout, &got)
	if err != nil || st != nil {
		t.Fatalf("ImageStatus of an absent image = %+v, %v; want nil, nil", st, err)
	}
	if _, err := s.pull(s.env.MissingImage); !errors.Is(err, cri.ErrImageNotFound) {
		t.Fatalf("PullImage(%s) error %v, want one wrapping cri.ErrImageNotFound", s.env.MissingImage, err)
	}
}

func testExit(t *testing.T, s *suite) {
	for _, tc := range []struct {
		code   int32
		reason string
	}{{0, cri.ReasonCompleted}, {3, cri.ReasonError}} {
		_, id, started := s.start(Workload{Exits: true, ExitAfter: 2 * time.Second, ExitCode: tc.code})
		ev := s.waitExit(id, time.Minute)
		s.within("exit", ev.FinishedAt.Sub(started), 2*time.Second)
		if ev.ExitCode != tc.code || ev.Reason != tc.reason {
			t.Errorf("exit event code %d reason %q, want %d %q", ev.ExitCode, ev.Reason, tc.code, tc.reason)
		}
		st, err := s.status(id)
		if err != nil {
			t.Fatalf("ContainerStatus: %v", err)
		}
		if st.State != cri.ContainerExited || st.ExitCode != tc.code || st.Reason != tc.reason ||
			st.StartedAt.IsZero() || st.FinishedAt.Before(st.StartedAt) {
			t.Errorf("status after exit %+v", st)
		}
	}
}

func testStopGraceful(t *testing.T, s *suite) {
	_, id, _ := s.start(Workload{})
	if st, err := s.status(id); err != nil || st.State != cri.ContainerRunning {
		t.Fatalf("status of started container: %+v, %v", st, err)
	}
	if _, ok := s.exitEvent(id); ok {
		t.Fatal("a running container reported an exit")
	}
	var err error
	done := false
	eventFirst := false
	begin := s.env.Now()
	s.rt.StopContainer(id, 30*time.Second, func(e error) {
		_, eventFirst = s.exitEvent(id)
		err, done = e, true
	})
	s.wait("StopContainer", time.Minute, &done)
	if err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	s.within("graceful stop", s.env.Now().Sub(begin), 0)
	if !eventFirst {
		t.Error("StopContainer finished before the exit event was delivered")
	}
	if st, _ := s.status(id); st == nil || st.State != cri.ContainerExited {
		t.Errorf("status after stop: %+v", st)
	}
}

func testStopKill(t *testing.T, s *suite) {
	_, id, _ := s.start(Workload{IgnoreTERM: true})
	var err error
	done := false
	begin := s.env.Now()
	s.stop(id, 2*time.Second, &done, &err)
	s.wait("StopContainer", time.Minute, &done)
	if err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	s.within("stop of a process ignoring SIGTERM", s.env.Now().Sub(begin), 2*time.Second)
	ev, ok := s.exitEvent(id)
	if !ok || ev.ExitCode != 137 {
		t.Errorf("exit event %+v (found %v), want exit code 137 (SIGKILL)", ev, ok)
	}
}

func testStopShorten(t *testing.T, s *suite) {
	_, id, _ := s.start(Workload{IgnoreTERM: true})
	var err1, err2 error
	done1, done2 := false, false
	begin := s.env.Now()
	s.stop(id, time.Hour, &done1, &err1)
	s.env.Run(time.Second, func() bool { return false })
	s.stop(id, time.Second, &done2, &err2)
	s.wait("second StopContainer", time.Minute, &done2)
	s.wait("first StopContainer", time.Minute, &done1)
	if err1 != nil || err2 != nil {
		t.Fatalf("StopContainer errors: %v, %v", err1, err2)
	}
	s.within("stop shortened to 1s after 1s", s.env.Now().Sub(begin), 2*time.Second)
}

func testStopExited(t *testing.T, s *suite) {
	_, id, _ := s.start(Workload{Exits: true, ExitAfter: time.Second})
	s.waitExit(id, time.Minute)
	var err error
	done := false
	s.stop(id, time.Minute, &done, &err)
	s.wait("StopContainer of an exited container", 10*time.Second+s.env.Slack, &done)
	if err != nil {
		t.Errorf("StopContainer of an exited container: %v", err)
	}
	done = false
	s.stop("no-such-container", time.Second, &done, &err)
	s.wait("StopContainer of an unknown container", time.Minute, &done)
	if !errors.Is(err, cri.ErrNotFound) {
		t.Errorf("StopContainer of an unknown container: %v, want cri.ErrNotFound", err)
	}
}

func testRemove(t *testing.T, s *suite) {
	_, id, _ := s.start(Workload{})
	var err error
	done := false
	s.rt.RemoveContainer(id, func(e error) { err, done = e, true })
	s.wait("RemoveContainer", time.Minute, &done)
	if err != nil {
		t.Fatalf("RemoveContainer of a running container: %v", err)
	}
	if _, err := s.status(id); !errors.Is(err, cri.ErrNotFound) {
		t.Fatalf("ContainerStatus after remove: %v, want cri.ErrNotFound", err)
	}
	for _, c := range s.containers() {
		if c.ID == id {
			t.Fatal("removed container still listed")
		}
	}
}

func testStopSandbox(t *testing.T, s *suite) {
	sbID, id, _ := s.start(Workload{IgnoreTERM: true})
	var err error
	done := false
	s.rt.StopPodSandbox(sbID, func(e error) { err, done = e, true })
	s.wait("StopPodSandbox", time.Minute, &done)
	if err != nil {
		t.Fatalf("StopPodSandbox: %v", err)
	}
	if _, ok := s.exitEvent(id); !ok {
		t.Error("StopPodSandbox left its container running (no exit event)")
	}
	sbCfg, cCfg := s.env.Pod(Workload{})
	cCfg.Image = s.env.Image
	done = false
	s.rt.CreateContainer(sbID, cCfg, sbCfg, func(_ string, e error) { err, done = e, true })
	s.wait("CreateContainer", time.Minute, &done)
	if err == nil {
		t.Error("CreateContainer in a stopped sandbox succeeded")
	}
}

func (s *suite) probe(id string, req cri.ProbeRequest) cri.ProbeResult {
	s.t.Helper()
	var res cri.ProbeResult
	got := false
	s.rt.Probe(id, &req, func(r cri.ProbeResult) { res, got = r, true })
	s.wait("Probe", time.Minute, &got)
	return res
}

func testProbes(t *testing.T, s *suite) {
	_, id, started := s.start(Workload{ReadyAfter: 3 * time.Second, FailsLiveness: true, FailLivenessAfter: 3 * time.Second})
	at := func(d time.Duration) {
		s.env.Run(d-s.env.Now().Sub(started), func() bool { return false })
	}
	at(time.Second)
	if r := s.probe(id, s.env.Readiness); r.Success {
		t.Error("readiness probe succeeded before the workload was ready")
	} else if r.Output == "" {
		t.Error("failed probe has no output")
	}
	if r := s.probe(id, s.env.Liveness); !r.Success {
		t.Errorf("liveness probe failed early: %s", r.Output)
	}
	at(5*time.Second + s.env.Slack)
	if r := s.probe(id, s.env.Readiness); !r.Success {
		t.Errorf("readiness probe failed after the workload was ready: %s", r.Output)
	}
	if r := s.probe(id, s.env.Liveness); r.Success {
		t.Error("liveness probe succeeded after the workload went unhealthy")
	}
	if r := s.probe("no-such-container", s.env.Readiness); r.Success {
		t.Error("probe of an unknown container succeeded")
	}
}

func (s *suite) containers() []*cri.ContainerStatus {
	s.t.Helper()
	var list []*cri.ContainerStatus
	var err error
	got := false
	s.rt.ListContainers(func(x []*cri.ContainerStatus, e error) { list, err, got = x, e, true })
	s.wait("ListContainers", time.Minute, &got)
	if err != nil {
		s.t.Fatalf("ListContainers: %v", err)
	}
	return list
}

func testList(t *testing.T, s *suite) {
	sbID, id, _ := s.start(Workload{})
	cCfg := s.last
	var found *cri.ContainerStatus
	for _, c := range s.containers() {
		if c.ID == id {
			found = c
		}
	}
	if found == nil {
		t.Fatal("ListContainers lacks a running container")
	}
	if found.SandboxID != sbID || found.Name != cCfg.Name || found.State != cri.ContainerRunning ||
		found.Labels[cri.LabelContainerName] != cCfg.Labels[cri.LabelContainerName] {
		t.Errorf("listed container %+v lost its metadata", found)
	}
}
