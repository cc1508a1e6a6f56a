package kubelet_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/cri/memruntime"
	"github.com/drydock-sim/drydock/core/kubelet"
)

func TestPodToRunningAndReady(t *testing.T) {
	e := newEnv(t)
	e.createPod("web", withProbe(true, 10, 3), withAnn(annReadyAfter, "5s"))
	// The first pull takes 1s: meanwhile the pod is Pending, ContainerCreating.
	e.until("pending", time.Second, func() bool {
		p := e.pod("web")
		return p.Status.Phase == corev1.PodPending && len(p.Status.ContainerStatuses) == 1
	})
	p := e.pod("web")
	if w := p.Status.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "ContainerCreating" {
		t.Fatalf("while pulling: state %+v, want waiting ContainerCreating", p.Status.ContainerStatuses[0].State)
	}
	if p.Status.StartTime == nil || p.Status.HostIP != "192.168.0.11" {
		t.Errorf("startTime %v hostIP %q", p.Status.StartTime, p.Status.HostIP)
	}
	e.until("running", 5*time.Second, phaseIs(e, "web", corev1.PodRunning))
	running := e.elapsed()
	p = e.pod("web")
	cs := p.Status.ContainerStatuses[0]
	if cs.State.Running == nil || cs.Ready || !strings.HasPrefix(cs.ContainerID, "mem://") || cs.ImageID == "" ||
		p.Status.PodIP == "" || cond(p, corev1.PodReady) != corev1.ConditionFalse || cond(p, corev1.PodInitialized) != corev1.ConditionTrue ||
		cond(p, corev1.PodReadyToStartContainers) != corev1.ConditionTrue {
		t.Fatalf("running pod status %+v", p.Status)
	}
	// Probes run at start (fails: not ready for 5s) and every 10s after.
	e.until("ready", time.Minute, readyIs(e, "web"))
	if got := e.elapsed() - running; got < 9*time.Second || got > 11*time.Second {
		t.Errorf("ready %v after running, want the second probe, ~10s", got)
	}
	p = e.pod("web")
	if cond(p, corev1.ContainersReady) != corev1.ConditionTrue || !p.Status.ContainerStatuses[0].Ready {
		t.Errorf("ready pod status %+v", p.Status)
	}
	want := []string{"Pulling", "Pulled", "Created", "Started", "Unhealthy"}
	if got := e.reasons("web"); !reflect.DeepEqual(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	for _, ev := range e.h.Events {
		if ev.Reason == "Unhealthy" && !strings.HasPrefix(ev.Message, "Readiness probe failed: ") {
			t.Errorf("Unhealthy message %q", ev.Message)
		}
	}
}

func TestReadyWithoutProbeAndCachedImage(t *testing.T) {
	e := newEnv(t, func(_ *kubelet.Config, r *memruntime.Config) { r.Images = []string{"nginx:1.27"} })
	e.createPod("a")
	e.until("ready", 5*time.Second, readyIs(e, "a"))
	// sandbox 100ms + start 300ms, no pull.
	if got := e.elapsed(); got != 400*time.Millisecond {
		t.Errorf("ready after %v, want 400ms", got)
	}
	if got, want := e.reasons("a"), []string{"Pulled", "Created", "Started"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if msg := e.h.Events[len(e.h.Events)-3].Message; msg != `Container image "nginx:1.27" already present on machine` {
		t.Errorf("Pulled message %q", msg)
	}
}

// TestCrashLoopBackOff checks Kubernetes' restart delays: the first restart
// is immediate, then 10s doubling to the 5 minute cap.
func TestCrashLoopBackOff(t *testing.T) {
	e := newEnv(t, func(_ *kubelet.Config, r *memruntime.Config) { r.Latency = nil })
	e.createPod("crash", withAnn(annExitAfter, "1s"), withAnn(annExitCode, "1"))
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 300 * time.Second, 300 * time.Second}
	var starts []time.Duration
	seen := -1
	for len(starts) < len(want)+1 {
		e.until("next start", 10*time.Minute, func() bool {
			p := e.pod("crash")
			cs := p.Status.ContainerStatuses
			return len(cs) == 1 && cs[0].State.Running != nil && int(cs[0].RestartCount) > seen
		})
		seen = int(e.pod("crash").Status.ContainerStatuses[0].RestartCount)
		starts = append(starts, e.elapsed())
		if seen != len(starts)-1 {
			t.Fatalf("restartCount %d at start #%d", seen, len(starts))
		}
	}
	for i, w := range want {
		// Each instance runs 1s, then waits out the back-off.
		if got := starts[i+1] - starts[i] - time.Second; got != w {
			t.Errorf("restart %d: waited %v, want %v", i+1, got, w)
		}
	}
	// While waiting: CrashLoopBackOff with the exit as lastState.
	e.until("back-off", time.Minute, func() bool {
		w := e.pod("crash").Status.ContainerStatuses[0].State.Waiting
		return w != nil && w.Reason == "CrashLoopBackOff"
	})
	p := e.pod("crash")
	cs := p.Status.ContainerStatuses[0]
	wantMsg := fmt.Sprintf("back-off 5m0s restarting failed container=app pod=crash_default(%s)", p.UID)
	if cs.State.Waiting.Message != wantMsg {
		t.Errorf("waiting message %q, want %q", cs.State.Waiting.Message, wantMsg)
	}
	if lt := cs.LastTerminationState.Terminated; lt == nil || lt.ExitCode != 1 || lt.Reason != "Error" {
		t.Errorf("lastState %+v, want terminated exit 1 Error", cs.LastTerminationState)
	}
	if p.Status.Phase != corev1.PodRunning || cond(p, corev1.PodReady) != corev1.ConditionFalse {
		t.Errorf("phase %s ready %s, want Running and not ready", p.Status.Phase, cond(p, corev1.PodReady))
	}
	backoffs := 0
	for _, ev := range e.h.Events {
		if ev.Reason == "BackOff" && ev.Type == corev1.EventTypeWarning &&
			strings.HasPrefix(ev.Message, "Back-off restarting failed container app in pod crash_default") {
			backoffs++
		}
	}
	if backoffs == 0 {
		t.Error("no BackOff event")
	}
}

// TestBackOffResetsAfterLongRun: a container that ran more than twice the
// maximum back-off (10 minutes) since its last restart restarts at once.
func TestBackOffResetsAfterLongRun(t *testing.T) {
	e := newEnv(t, func(_ *kubelet.Config, r *memruntime.Config) { r.Latency = nil })
	e.createPod("slow", withAnn(annExitAfter, "11m"), withAnn(annExitCode, "1"))
	for n := 1; n <= 3; n++ {
		e.until("restart", 12*time.Minute, func() bool {
			cs := e.pod("slow").Status.ContainerStatuses
			return len(cs) == 1 && int(cs[0].RestartCount) == n && cs[0].State.Running != nil
		})
		if got, want := e.elapsed(), time.Duration(n)*11*time.Minute; got != want {
			t.Errorf("restart %d at %v, want %v (no back-off)", n, got, want)
		}
	}
}

func TestLivenessRestart(t *testing.T) {
	for _, tc := range []struct {
		policy   corev1.RestartPolicy
		restarts bool
	}{{corev1.RestartPolicyAlways, true}, {corev1.RestartPolicyOnFailure, true}, {corev1.RestartPolicyNever, false}} {
		t.Run(string(tc.policy), func(t *testing.T) {
			e := newEnv(t, func(_ *kubelet.Config, r *memruntime.Config) { r.Latency = nil })
			e.createPod("live", withProbe(false, 5, 3), withAnn(annFailLiveness, "20s"), withPolicy(tc.policy))
			e.until("running", time.Second, phaseIs(e, "live", corev1.PodRunning))
			// Probes at 0, 5, ..., failing from 20s: the third failure, at 30s, kills.
			e.until("killed", time.Minute, func() bool {
				for _, r := range e.reasons("live") {
					if r == "Killing" {
						return true
					}
				}
				return false
			})
			if got := e.elapsed(); got != 30*time.Second {
				t.Errorf("killed at %v, want 30s", got)
			}
			var kill string
			for _, ev := range e.h.Events {
				if ev.Reason == "Killing" {
					kill = ev.Message
				}
			}
			wantKill := "Container app failed liveness probe"
			if tc.restarts {
				wantKill += ", will be restarted"
			}
			if kill != wantKill {
				t.Errorf("Killing message %q, want %q", kill, wantKill)
			}
			e.run(time.Second, func() bool { return false })
			p := e.pod("live")
			cs := p.Status.ContainerStatuses[0]
			if tc.restarts {
				if cs.RestartCount != 1 || cs.State.Running == nil || cs.LastTerminationState.Terminated == nil {
					t.Errorf("after liveness kill: %+v", cs)
				}
				return
			}
			// Never: the process exited 0 on SIGTERM, so the pod succeeded.
			if cs.RestartCount != 0 || cs.State.Terminated == nil || p.Status.Phase != corev1.PodSucceeded {
				t.Errorf("after liveness kill with Never: phase %s %+v", p.Status.Phase, cs)
			}
		})
	}
}

func TestRestartPolicyPhases(t *testing.T) {
	for _, tc := range []struct {
		policy   corev1.RestartPolicy
		code     string
		phase    corev1.PodPhase
		restarts bool
	}{
		{corev1.RestartPolicyNever, "0", corev1.PodSucceeded, false},
		{corev1.RestartPolicyNever, "3", corev1.PodFailed, false},
		{corev1.RestartPolicyOnFailure, "0", corev1.PodSucceeded, false},
		{corev1.RestartPolicyOnFailure, "3", corev1.PodRunning, true},
		{corev1.RestartPolicyAlways, "0", corev1.PodRunning, true},
	} {
		t.Run(string(tc.policy)+"/exit"+tc.code, func(t *testing.T) {
			e := newEnv(t)
			e.createPod("job", withPolicy(tc.policy), withAnn(annExitAfter, "2s"), withAnn(annExitCode, tc.code))
			e.run(time.Minute, func() bool { return false })
			p := e.pod("job")
			cs := p.Status.ContainerStatuses[0]
			if p.Status.Phase != tc.phase || (cs.RestartCount > 0) != tc.restarts {
				t.Fatalf("phase %s restarts %d, want %s (restarts %v)", p.Status.Phase, cs.RestartCount, tc.phase, tc.restarts)
			}
			if tc.restarts {
				return
			}
			term := cs.State.Terminated
			if term == nil || fmt.Sprint(term.ExitCode) != tc.code || term.FinishedAt.Sub(term.StartedAt.Time) != 2*time.Second {
				t.Errorf("terminated state %+v", cs.State)
			}
			if cond(p, corev1.PodReady) != corev1.ConditionFalse {
				t.Errorf("terminal pod is Ready")
			}
			if e.rt.Running() != 0 {
				t.Errorf("%d containers still running", e.rt.Running())
			}
		})
	}
}

func TestGracefulDeletion(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stopAfter string
		grace     int64
		gone      time.Duration // after the delete
		phase     corev1.PodPhase
		exitCode  int32
	}{
		{"exits within grace", "5s", 30, 5 * time.Second, corev1.PodSucceeded, 0},
		{"killed at end of grace", "1m", 10, 10 * time.Second, corev1.PodFailed, 137},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.createPod("web", withAnn(annStopAfter, tc.stopAfter), withGrace(tc.grace))
			e.until("running", 5*time.Second, phaseIs(e, "web", corev1.PodRunning))
			var last *corev1.Pod
			inf := e.h.Informer(api.Pods)
			inf.AddHandler(informerDeleteHook(func(p *corev1.Pod) { last = p }))
			if _, _, err := e.h.Client.Delete(context.Background(), api.Pods, "default", "web", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			start := e.elapsed()
			e.until("deleted", 2*time.Minute, func() bool { return e.pod("web") == nil })
			if got := e.elapsed() - start; got != tc.gone {
				t.Errorf("pod gone %v after delete, want %v", got, tc.gone)
			}
			e.h.Settle()
			if last == nil {
				t.Fatal("no delete event seen")
			}
			cs := last.Status.ContainerStatuses[0]
			if last.Status.Phase != tc.phase || cs.State.Terminated == nil || cs.State.Terminated.ExitCode != tc.exitCode {
				t.Errorf("final status phase %s state %+v, want %s exit %d", last.Status.Phase, cs.State, tc.phase, tc.exitCode)
			}
			if got := e.reasons("web"); got[len(got)-1] != "Killing" {
				t.Errorf("events %v, want Killing last", got)
			}
			if e.rt.Running() != 0 {
				t.Error("containers still running")
			}
		})
	}
}

// TestDeletionShortensGrace: a second delete with a shorter grace period
// cuts the stop short.
func TestDeletionShortensGrace(t *testing.T) {
	e := newEnv(t)
	e.createPod("web", withAnn(annStopAfter, "1h"), withGrace(60))
	e.until("running", 5*time.Second, phaseIs(e, "web", corev1.PodRunning))
	ctx := context.Background()
	e.h.Client.Delete(ctx, api.Pods, "default", "web", metav1.DeleteOptions{})
	start := e.elapsed()
	e.run(5*time.Second, func() bool { return false })
	three := int64(3)
	e.h.Client.Delete(ctx, api.Pods, "default", "web", metav1.DeleteOptions{GracePeriodSeconds: &three})
	e.until("deleted", 2*time.Minute, func() bool { return e.pod("web") == nil })
	if got := e.elapsed() - start; got != 8*time.Second {
		t.Errorf("gone %v after the first delete, want 8s (5s, then a 3s grace)", got)
	}
}

func TestAdmissionRejectsWhatDoesNotFit(t *testing.T) {
	e := newEnv(t, func(k *kubelet.Config, _ *memruntime.Config) { k.Node = nodeTemplate("1", "1Gi") })
	e.createPod("a", withCPU("600m"))
	e.h.Settle()
	e.createPod("b", withCPU("600m"))
	e.until("rejected", time.Second, phaseIs(e, "b", corev1.PodFailed))
	p := e.pod("b")
	wantMsg := "Pod was rejected: Node didn't have enough resource: cpu, requested: 600, used: 600, capacity: 1000"
	if p.Status.Reason != "OutOfcpu" || p.Status.Message != wantMsg {
		t.Errorf("rejection %q %q", p.Status.Reason, p.Status.Message)
	}
	if got := e.reasons("b"); !reflect.DeepEqual(got, []string{"OutOfcpu"}) {
		t.Errorf("events %v", got)
	}
	e.until("a runs", 5*time.Second, phaseIs(e, "a", corev1.PodRunning))
	// Once a is gone its cpu is free again.
	e.h.Client.Delete(context.Background(), api.Pods, "default", "a", metav1.DeleteOptions{})
	e.until("a gone", time.Minute, func() bool { return e.pod("a") == nil })
	e.createPod("c", withCPU("600m"))
	e.until("c runs", 5*time.Second, phaseIs(e, "c", corev1.PodRunning))
}

func TestImagePullBackOff(t *testing.T) {
	e := newEnv(t)
	e.createPod("bad", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "missing:1" })
	waiting := func(reason string) func() bool {
		return func() bool {
			cs := e.pod("bad").Status.ContainerStatuses
			return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == reason
		}
	}
	e.until("ErrImagePull", 5*time.Second, waiting("ErrImagePull"))
	e.until("ImagePullBackOff", time.Minute, waiting("ImagePullBackOff"))
	p := e.pod("bad")
	if p.Status.Phase != corev1.PodPending {
		t.Errorf("phase %s, want Pending", p.Status.Phase)
	}
	if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; msg != `Back-off pulling image "missing:1"` {
		t.Errorf("waiting message %q", msg)
	}
	got := map[string]bool{}
	for _, ev := range e.h.Events {
		got[ev.Reason+"/"+ev.Message] = true
	}
	for _, want := range []string{`Pulling/Pulling image "missing:1"`, "Failed/Error: ErrImagePull", "Failed/Error: ImagePullBackOff",
		`BackOff/Back-off pulling image "missing:1"`} {
		if !got[want] {
			t.Errorf("missing event %s", want)
		}
	}
}

func withInit(name, exitAfter, code string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: name, Image: "busybox:1.36"})
		// Behaviour annotations apply pod-wide in these tests, so init
		// containers get theirs through per-container keys.
		withAnn(annExitAfter+"."+name, exitAfter)(p)
		withAnn(annExitCode+"."+name, code)(p)
	}
}

func TestInitContainers(t *testing.T) {
	e := newEnv(t, func(_ *kubelet.Config, r *memruntime.Config) { r.Latency = nil })
	e.createPod("app", withInit("migrate", "5s", "0"), withInit("warm", "3s", "0"))
	e.until("first init running", time.Second, func() bool {
		p := e.pod("app")
		return len(p.Status.InitContainerStatuses) == 2 && p.Status.InitContainerStatuses[0].State.Running != nil
	})
	p := e.pod("app")
	if p.Status.Phase != corev1.PodPending || cond(p, corev1.PodInitialized) != corev1.ConditionFalse {
		t.Fatalf("initializing pod: phase %s initialized %s", p.Status.Phase, cond(p, corev1.PodInitialized))
	}
	if w := p.Status.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "PodInitializing" {
		t.Errorf("app container while initializing: %+v", p.Status.ContainerStatuses[0].State)
	}
	e.until("running", time.Minute, phaseIs(e, "app", corev1.PodRunning))
	if got := e.elapsed(); got != 8*time.Second {
		t.Errorf("running after %v, want 8s (5s + 3s of init)", got)
	}
	p = e.pod("app")
	for _, s := range p.Status.InitContainerStatuses {
		if s.State.Terminated == nil || s.State.Terminated.Reason != "Completed" || !s.Ready {
			t.Errorf("init status %+v", s)
		}
	}
	if cond(p, corev1.PodInitialized) != corev1.ConditionTrue {
		t.Error("not Initialized")
	}
}

func TestInitContainerFailure(t *testing.T) {
	for _, tc := range []struct {
		policy corev1.RestartPolicy
		phase  corev1.PodPhase
	}{{corev1.RestartPolicyNever, corev1.PodFailed}, {corev1.RestartPolicyAlways, corev1.PodPending}} {
		t.Run(string(tc.policy), func(t *testing.T) {
			e := newEnv(t, func(_ *kubelet.Config, r *memruntime.Config) { r.Latency = nil })
			e.createPod("app", withInit("migrate", "1s", "2"), withPolicy(tc.policy))
			e.run(time.Minute, func() bool { return false })
			p := e.pod("app")
			if p.Status.Phase != tc.phase {
				t.Fatalf("phase %s, want %s", p.Status.Phase, tc.phase)
			}
			ics := p.Status.InitContainerStatuses[0]
			if tc.policy == corev1.RestartPolicyAlways && (ics.RestartCount < 2 || p.Status.ContainerStatuses[0].State.Waiting == nil) {
				t.Errorf("failing init container: %+v, app %+v", ics, p.Status.ContainerStatuses[0])
			}
			if e.rt.Running() != 0 {
				t.Error("app container started although init failed")
			}
		})
	}
}

func TestActiveDeadline(t *testing.T) {
	e := newEnv(t, func(_ *kubelet.Config, r *memruntime.Config) { r.Latency = nil })
	e.createPod("job", withPolicy(corev1.RestartPolicyNever), func(p *corev1.Pod) {
		d := int64(30)
		p.Spec.ActiveDeadlineSeconds = &d
	})
	e.until("failed", time.Minute, phaseIs(e, "job", corev1.PodFailed))
	p := e.pod("job")
	if got := e.elapsed(); got != 30*time.Second {
		t.Errorf("failed at %v, want 30s", got)
	}
	if p.Status.Reason != "DeadlineExceeded" || p.Status.ContainerStatuses[0].State.Terminated == nil {
		t.Errorf("status %+v", p.Status)
	}
	if e.rt.Running() != 0 {
		t.Error("container still running")
	}
}

func TestHostNetworkPodIP(t *testing.T) {
	e := newEnv(t)
	e.createPod("proxy", func(p *corev1.Pod) { p.Spec.HostNetwork = true })
	e.until("running", 5*time.Second, phaseIs(e, "proxy", corev1.PodRunning))
	if ip := e.pod("proxy").Status.PodIP; ip != "192.168.0.11" {
		t.Errorf("hostNetwork pod IP %q, want the node's", ip)
	}
}

func withImage(img string) podOpt { return func(p *corev1.Pod) { p.Spec.Containers[0].Image = img } }

// TestImagePullsSerialized: one pull at a time per node by default.
func TestImagePullsSerialized(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		t.Run(fmt.Sprint("parallel=", parallel), func(t *testing.T) {
			e := newEnv(t, func(k *kubelet.Config, _ *memruntime.Config) { k.ParallelImagePulls = parallel })
			e.createPod("a", withImage("a:1"))
			e.createPod("b", withImage("b:1"))
			running := map[string]time.Duration{}
			e.until("both running", time.Minute, func() bool {
				for _, n := range []string{"a", "b"} {
					if _, ok := running[n]; !ok && e.pod(n).Status.Phase == corev1.PodRunning {
						running[n] = e.elapsed()
					}
				}
				return len(running) == 2
			})
			// sandbox 100ms, pull 1s, start 300ms.
			want := map[string]time.Duration{"a": 1400 * time.Millisecond, "b": 2400 * time.Millisecond}
			wantMsg := `Successfully pulled image "b:1" in 1s (2s including waiting). Image size: `
			if parallel {
				want["b"] = want["a"]
				wantMsg = `Successfully pulled image "b:1" in 1s (1s including waiting). Image size: `
			}
			if !reflect.DeepEqual(running, want) {
				t.Errorf("running at %v, want %v", running, want)
			}
			found := false
			for _, ev := range e.h.Events {
				found = found || strings.HasPrefix(ev.Message, wantMsg)
			}
			if !found {
				t.Errorf("no Pulled event %q...", wantMsg)
			}
		})
	}
}

// TestDeletedWhilePulling: a pod deleted while its pull waits in the queue
// never starts.
func TestDeletedWhilePulling(t *testing.T) {
	e := newEnv(t)
	e.createPod("a", withImage("a:1"))
	e.createPod("b", withImage("b:1"))
	e.run(500*time.Millisecond, func() bool { return false })
	e.h.Client.Delete(context.Background(), api.Pods, "default", "b", metav1.DeleteOptions{})
	e.until("b gone", time.Minute, func() bool { return e.pod("b") == nil })
	e.until("a running", time.Minute, phaseIs(e, "a", corev1.PodRunning))
	e.run(5*time.Second, func() bool { return false })
	if e.rt.HasImage("b:1") || e.rt.Running() != 1 {
		t.Errorf("b's image pulled %v, %d running", e.rt.HasImage("b:1"), e.rt.Running())
	}
}

// TestStatusWrittenByOthersIsPutRight: the node lifecycle controller marks
// the pods of an unreachable node not ready; once the kubelet hears of it
// (after a partition heals, say) it writes its own view back, as
// Kubernetes' status manager does, keeping conditions that are not its own.
func TestStatusWrittenByOthersIsPutRight(t *testing.T) {
	e := newEnv(t, func(_ *kubelet.Config, r *memruntime.Config) { r.Images = []string{"nginx:1.27"} })
	e.createPod("a")
	e.until("ready", 5*time.Second, readyIs(e, "a"))

	p := e.pod("a").DeepCopy()
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			p.Status.Conditions[i].Status = corev1.ConditionFalse
			p.Status.Conditions[i].Reason = "NodeNotReady"
		}
	}
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: "example.com/Other", Status: corev1.ConditionTrue})
	if _, err := e.h.Client.Update(context.Background(), p, "status"); err != nil {
		t.Fatal(err)
	}
	e.until("ready again", 5*time.Second, readyIs(e, "a"))
	if got := cond(e.pod("a"), "example.com/Other"); got != corev1.ConditionTrue {
		t.Errorf("another writer's condition is %q after the kubelet's write, want kept True", got)
	}
}
