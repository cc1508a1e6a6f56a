package kubelet

import (
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/cri"
)

// cPhase is where a container's current instance is.
type cPhase uint8

const (
	cNone    cPhase = iota // no instance yet
	cCreated               // created, not yet started
	cRunning
	cExited
)

// ctrState is one container of a pod: its current runtime instance and the
// history the status shows (restart count, last termination, back-offs).
type ctrState struct {
	ps   *podState
	spec *corev1.Container
	// init: an init container (runs to completion before the app
	// containers); initSpec: declared in initContainers (also sidecars).
	init, initSpec bool
	rerun          bool // a completed init container must run again

	id       string // current instance ("" before the first)
	phase    cPhase
	imageRef string

	startedAt, finishedAt time.Time
	exitCode              int32
	reason                string

	hadInstance  bool // an instance ran before: the next start is a restart
	restartCount int32
	prev         *corev1.ContainerStateTerminated // termination shown as lastState

	// waitReason/waitMessage explain why the container is not running
	// (CrashLoopBackOff, ErrImagePull, ...); empty: the default for the phase.
	waitReason, waitMessage string
	retryAt                 time.Time // a failed start is retried then

	restartAnyway bool // killed by a probe or spec change: restart unless policy Never
	stopping      bool
	stopGrace     int64

	ready, started bool
	probes         [3]*prober // startup, readiness, liveness

	restartBackoff backoff
	pullBackoff    backoff
}

func (c *ctrState) setWaiting(reason, msg string) { c.waitReason, c.waitMessage = reason, msg }

// terminated is the current instance's exit as the API shows it.
func (c *ctrState) terminated(rtName string) *corev1.ContainerStateTerminated {
	t := &corev1.ContainerStateTerminated{ExitCode: c.exitCode, Reason: c.reason,
		StartedAt: apiTime(c.startedAt), FinishedAt: apiTime(c.finishedAt)}
	if c.id != "" {
		t.ContainerID = rtName + "://" + c.id
	}
	return t
}

func terminatedOf(rtName string, cs *cri.ContainerStatus) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{ExitCode: cs.ExitCode, Reason: cs.Reason, Message: cs.Message,
		StartedAt: apiTime(cs.StartedAt), FinishedAt: apiTime(cs.FinishedAt), ContainerID: rtName + "://" + cs.ID}
}

// apiTime is t as the API serialises it (whole seconds); zero stays zero.
func apiTime(t time.Time) metav1.Time {
	if t.IsZero() {
		return metav1.Time{}
	}
	return metav1.NewTime(t.Truncate(time.Second))
}

// shouldRestart applies the restart policy to an exited container.
func (c *ctrState) shouldRestart() bool {
	if c.restartAnyway {
		return true
	}
	if c.init {
		return c.exitCode != 0 && c.ps.pod.Spec.RestartPolicy != corev1.RestartPolicyNever
	}
	switch c.ps.pod.Spec.RestartPolicy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return c.exitCode != 0
	}
	return true
}

func (k *Kubelet) event(ps *podState, typ, reason, msg string) { k.rec.Event(ps.pod, typ, reason, msg) }

// sandboxConfig describes the pod's sandbox to the runtime.
func (k *Kubelet) sandboxConfig(ps *podState) *cri.SandboxConfig {
	pod := ps.pod
	labels := make(map[string]string, len(pod.Labels)+3)
	for key, v := range pod.Labels {
		labels[key] = v
	}
	labels[cri.LabelPodName] = pod.Name
	labels[cri.LabelPodNamespace] = pod.Namespace
	labels[cri.LabelPodUID] = string(pod.UID)
	host := pod.Spec.Hostname
	if host == "" {
		host = pod.Name
	}
	return &cri.SandboxConfig{Name: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID), Attempt: ps.sb.attempt,
		Hostname: host, Labels: labels, Annotations: pod.Annotations}
}

func (k *Kubelet) containerConfig(ps *podState, c *ctrState, ref string, attempt int32) *cri.ContainerConfig {
	s := c.spec
	cfg := &cri.ContainerConfig{Name: s.Name, Attempt: uint32(attempt), Image: s.Image, ImageRef: ref,
		Command: s.Command, Args: s.Args, WorkingDir: s.WorkingDir,
		Labels: map[string]string{cri.LabelPodName: ps.pod.Name, cri.LabelPodNamespace: ps.pod.Namespace,
			cri.LabelPodUID: string(ps.uid), cri.LabelContainerName: s.Name}}
	for _, e := range s.Env {
		if e.ValueFrom == nil {
			cfg.Env = append(cfg.Env, cri.KeyValue{Key: e.Name, Value: e.Value})
		}
	}
	if q, ok := s.Resources.Limits[corev1.ResourceCPU]; ok {
		cfg.CPUMillis = q.MilliValue()
	}
	if q, ok := s.Resources.Limits[corev1.ResourceMemory]; ok {
		cfg.MemoryBytes = q.Value()
	}
	return cfg
}

// startSandbox creates the pod's sandbox (again, if the previous one died).
func (k *Kubelet) startSandbox(ps *podState) {
	if ps.sb.id != "" {
		ps.oldSandboxes = append(ps.oldSandboxes, ps.sb.id)
		ps.sb = sandboxState{attempt: ps.sb.attempt + 1, changed: true}
	}
	if ps.sb.changed {
		k.event(ps, corev1.EventTypeNormal, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
		ps.rerunInits()
	}
	ps.op, ps.holdStatus = opSandbox, true
	live := k.live()
	k.rt.RunPodSandbox(k.sandboxConfig(ps), func(st *cri.SandboxStatus, err error) {
		if !live() {
			return
		}
		ps.op = opNone
		if err != nil {
			k.fail(err)
			k.event(ps, corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: "+err.Error())
			ps.sb.retryAt = k.clock.Now().Add(k.cfg.BackOff)
			k.wakeAt(ps, ps.sb.retryAt)
			return
		}
		ps.sb = sandboxState{id: st.ID, ip: st.IP, ready: true, attempt: st.Attempt}
		for _, id := range ps.oldSandboxes {
			k.rt.RemovePodSandbox(id, k.fail)
		}
		ps.oldSandboxes = nil
		k.enqueue(ps)
	})
}

// startContainer runs the start of one container instance: image, create,
// start. It is the pod's one operation until it ends.
func (k *Kubelet) startContainer(ps *podState, c *ctrState) {
	ps.op, ps.holdStatus = opStart, true
	c.retryAt = time.Time{}
	k.ensureImage(ps, c, func(ref string) {
		if ps.deleting() {
			// Deleted while the image came: do not create the container.
			ps.op = opNone
			k.enqueue(ps)
			return
		}
		k.createContainer(ps, c, ref)
	})
}

// startFailed ends a start attempt that will be retried after the kubelet's
// pod worker back-off.
func (k *Kubelet) startFailed(ps *podState, c *ctrState, reason, msg string) {
	c.setWaiting(reason, msg)
	c.retryAt = k.clock.Now().Add(k.cfg.BackOff)
	ps.op = opNone
	k.wakeAt(ps, c.retryAt)
	k.enqueue(ps)
}

// ensureImage follows the container's imagePullPolicy and calls next with
// the image reference once the node has the image.
func (k *Kubelet) ensureImage(ps *podState, c *ctrState, next func(ref string)) {
	image := c.spec.Image
	if c.spec.ImagePullPolicy == corev1.PullAlways {
		k.pullImage(ps, c, next)
		return
	}
	live := k.live()
	k.rt.ImageStatus(image, func(img *cri.Image, err error) {
		if !live() {
			return
		}
		if err == nil && img != nil {
			k.event(ps, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine", image))
			next(img.Ref)
			return
		}
		if c.spec.ImagePullPolicy == corev1.PullNever {
			msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", image)
			k.event(ps, corev1.EventTypeWarning, "ErrImageNeverPull", msg)
			k.startFailed(ps, c, "ErrImageNeverPull", msg)
			return
		}
		k.pullImage(ps, c, next)
	})
}

func (k *Kubelet) pullImage(ps *podState, c *ctrState, next func(ref string)) {
	image := c.spec.Image
	now := k.clock.Now()
	if c.pullBackoff.inBackOffSinceUpdate(now, k.cfg.MaxBackOff) {
		msg := fmt.Sprintf("Back-off pulling image %q", image)
		k.event(ps, corev1.EventTypeNormal, "BackOff", msg)
		k.event(ps, corev1.EventTypeWarning, "Failed", "Error: ImagePullBackOff")
		c.setWaiting("ImagePullBackOff", msg)
		c.retryAt = c.pullBackoff.last.Add(c.pullBackoff.d)
		ps.op = opNone
		k.wakeAt(ps, c.retryAt)
		k.enqueue(ps)
		return
	}
	k.event(ps, corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", image))
	// A pull can take long: let the status (ContainerCreating) go out meanwhile.
	ps.holdStatus = false
	k.enqueue(ps)
	live := k.live()
	k.pulls.add(k, &pullReq{ps: ps, image: image, sandbox: k.sandboxConfig(ps), queued: now,
		done: func(img *cri.Image, err error, pulling, total time.Duration) {
			if !live() {
				return
			}
			ps.pull = nil
			ps.holdStatus = true
			if err != nil {
				k.event(ps, corev1.EventTypeWarning, "Failed", fmt.Sprintf("Failed to pull image %q: %v", image, err))
				c.pullBackoff.next(k.clock.Now(), k.clock.Now(), k.cfg.BackOff, k.cfg.MaxBackOff)
				k.event(ps, corev1.EventTypeWarning, "Failed", "Error: ErrImagePull")
				k.startFailed(ps, c, "ErrImagePull", err.Error())
				return
			}
			k.event(ps, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes.",
				image, pulling.Truncate(time.Millisecond), total.Truncate(time.Millisecond), img.Size))
			next(img.Ref)
		}})
}

func (k *Kubelet) createContainer(ps *podState, c *ctrState, ref string) {
	attempt := int32(0)
	if c.hadInstance {
		attempt = c.restartCount + 1
	}
	live := k.live()
	k.rt.CreateContainer(ps.sb.id, k.containerConfig(ps, c, ref, attempt), k.sandboxConfig(ps), func(id string, err error) {
		if !live() {
			return
		}
		if err != nil {
			k.fail(err)
			msg := err.Error()
			k.event(ps, corev1.EventTypeWarning, "Failed", "Error: "+msg)
			k.startFailed(ps, c, "CreateContainerError", msg)
			return
		}
		// The new instance replaces the previous one, whose exit becomes lastState.
		if c.id != "" {
			if c.phase == cExited {
				c.prev = c.terminated(k.rtName)
			}
			delete(k.byContainer, c.id)
			k.rt.RemoveContainer(c.id, k.fail)
		}
		c.id, c.phase, c.imageRef = id, cCreated, ref
		c.hadInstance, c.restartCount = true, attempt
		c.setWaiting("", "")
		c.restartAnyway, c.stopping, c.rerun = false, false, false
		c.startedAt, c.finishedAt, c.exitCode, c.reason = time.Time{}, time.Time{}, 0, ""
		k.byContainer[id] = c
		k.event(ps, corev1.EventTypeNormal, "Created", "Created container: "+c.spec.Name)
		if ps.deleting() {
			ps.op = opNone
			k.enqueue(ps)
			return
		}
		k.rt.StartContainer(id, func(err error) {
			if !live() {
				return
			}
			ps.op = opNone
			now := k.clock.Now()
			switch {
			case err != nil:
				k.fail(err)
				k.event(ps, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
				if c.phase == cCreated {
					c.phase, c.exitCode, c.reason, c.finishedAt = cExited, 128, "StartError", now
				}
			case c.phase == cCreated:
				c.phase, c.startedAt = cRunning, now
				k.event(ps, corev1.EventTypeNormal, "Started", "Started container "+c.spec.Name)
				k.startProbes(ps, c)
			}
			k.enqueue(ps)
		})
	})
}

// killContainer stops a running container outside pod termination (a
// failed probe, a changed spec); the sync restarts it per restart policy
// (restart: even OnFailure restarts it after a clean exit).
func (k *Kubelet) killContainer(ps *podState, c *ctrState, msg string, probeGrace *int64, restart bool) {
	k.event(ps, corev1.EventTypeNormal, "Killing", msg)
	c.restartAnyway = restart
	c.stopProbes()
	c.ready = false
	grace := int64(2) // the kubelet's minimum shutdown window
	if g := ps.pod.Spec.TerminationGracePeriodSeconds; g != nil && *g > grace {
		grace = *g
	}
	if probeGrace != nil {
		grace = max(*probeGrace, 2)
	}
	c.stopping, c.stopGrace = true, grace
	live := k.live()
	k.rt.StopContainer(c.id, time.Duration(grace)*time.Second, func(err error) {
		if live() {
			k.fail(err)
			k.enqueue(ps)
		}
	})
}

// onRuntimeEvent records container exits reported by the runtime.
func (k *Kubelet) onRuntimeEvent(ev cri.ContainerEvent) {
	if !k.running || ev.Type != cri.ContainerExitedEvent {
		return
	}
	c := k.byContainer[ev.ContainerID]
	if c == nil || c.id != ev.ContainerID || c.phase == cExited {
		return
	}
	k.markExited(c, ev.ExitCode, ev.Reason, ev.FinishedAt)
}

func (k *Kubelet) markExited(c *ctrState, code int32, reason string, at time.Time) {
	if c.startedAt.IsZero() {
		c.startedAt = at
	}
	c.phase, c.exitCode, c.reason, c.finishedAt = cExited, code, reason, at
	c.ready, c.started, c.stopping = false, false, false
	c.stopProbes()
	k.enqueue(c.ps)
}

// isNotFound reports a runtime "no such object" error.
func isNotFound(err error) bool { return errors.Is(err, cri.ErrNotFound) }
