package kubelet

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
)

// sync brings one pod a step closer to what it needs and reports its status.
func (k *Kubelet) sync(ps *podState) {
	switch {
	case ps.deleting():
		k.syncTerminating(ps)
	case ps.finished:
		k.syncFinished(ps)
	case ps.admitted:
		k.syncRunning(ps)
	}
}

// syncRunning starts what is not running: the sandbox, then each container
// in spec order that has no instance or exited and may restart (after its
// CrashLoopBackOff delay). One start is in flight per pod at a time.
func (k *Kubelet) syncRunning(ps *podState) {
	if ps.op != opNone {
		if !ps.holdStatus {
			k.updateStatus(ps)
		}
		return
	}
	now := k.clock.Now()
	if k.pastDeadline(ps, now) {
		return
	}
	if err := k.networkErrors(); err != nil && !ps.pod.Spec.HostNetwork && !ps.sb.ready {
		// As the kubelet's SyncPod: no pod network yet, so no sandbox;
		// the pod waits in ContainerCreating and is synced again when
		// the runtime reports its network ready.
		k.event(ps, corev1.EventTypeWarning, "NetworkNotReady", networkNotReadyMsg+": "+err.Error())
		k.updateStatus(ps)
		return
	}
	if !ps.sb.ready {
		if !now.Before(ps.sb.retryAt) {
			k.startSandbox(ps)
		}
		return
	}
	if !ps.initDone {
		if start := k.nextInit(ps, now); start != nil {
			k.startContainer(ps, start)
			return
		}
		if !ps.initDone {
			if k.podStatus(ps).Phase == corev1.PodFailed {
				ps.finished = true
				k.syncFinished(ps)
				return
			}
			k.updateStatus(ps)
			return
		}
	}
	for _, c := range ps.ctrs {
		switch c.phase {
		case cRunning, cCreated:
			continue
		case cExited:
			if !c.shouldRestart() || now.Before(c.retryAt) || k.inCrashLoop(ps, c, now) {
				continue
			}
		case cNone:
			if now.Before(c.retryAt) {
				continue
			}
		}
		k.startContainer(ps, c)
		return
	}
	st := k.podStatus(ps)
	if phase := st.Phase; phase == corev1.PodSucceeded || phase == corev1.PodFailed {
		ps.finished = true
		k.syncFinished(ps)
		return
	}
	k.updateStatusFrom(ps, st) // nothing changed since st was computed
}

// pastDeadline fails a pod that has been active longer than its
// activeDeadlineSeconds, as the kubelet's active deadline handler does, and
// otherwise makes sure the pod is woken at its deadline.
func (k *Kubelet) pastDeadline(ps *podState, now time.Time) bool {
	d := ps.pod.Spec.ActiveDeadlineSeconds
	if d == nil || ps.startTime == nil {
		return false
	}
	deadline := ps.startTime.Add(time.Duration(*d) * time.Second)
	if now.Before(deadline) {
		k.wakeAt(ps, deadline)
		return false
	}
	msg := "Pod was active on the node longer than the specified deadline"
	k.event(ps, corev1.EventTypeNormal, "DeadlineExceeded", msg)
	ps.failReason, ps.failMessage = "DeadlineExceeded", msg
	ps.finished = true
	k.syncFinished(ps)
	return true
}

// nextInit returns the init container to start next, or nil while one
// runs or waits; it sets initDone once all have completed.
func (k *Kubelet) nextInit(ps *podState, now time.Time) *ctrState {
	for _, c := range ps.inits {
		switch c.phase {
		case cRunning, cCreated:
			return nil
		case cExited:
			if c.exitCode == 0 && !c.rerun {
				continue
			}
			if c.rerun {
				return c
			}
			if !c.shouldRestart() || now.Before(c.retryAt) || k.inCrashLoop(ps, c, now) {
				return nil
			}
		case cNone:
			if now.Before(c.retryAt) {
				return nil
			}
		}
		return c
	}
	ps.initDone = true
	return nil
}

// inCrashLoop applies the restart back-off to an exited container that
// should restart: within the delay it shows CrashLoopBackOff and the pod is
// woken when the delay ends; otherwise the delay advances for this restart.
func (k *Kubelet) inCrashLoop(ps *podState, c *ctrState, now time.Time) bool {
	b := &c.restartBackoff
	if b.inBackOffSince(c.finishedAt, now, k.cfg.MaxBackOff) {
		msg := fmt.Sprintf("back-off %v restarting failed container=%s pod=%s", b.d, c.spec.Name, ps.fullName())
		if c.waitReason != "CrashLoopBackOff" || c.waitMessage != msg {
			c.setWaiting("CrashLoopBackOff", msg)
			k.event(ps, corev1.EventTypeWarning, "BackOff",
				fmt.Sprintf("Back-off restarting failed container %s in pod %s", c.spec.Name, ps.fullName()))
		}
		k.wakeAt(ps, c.finishedAt.Add(b.d))
		return true
	}
	b.next(c.finishedAt, now, k.cfg.BackOff, k.cfg.MaxBackOff)
	return false
}

// syncFinished winds down a pod that reached Succeeded or Failed (or was
// rejected): anything still running is stopped, then the sandbox, and the
// final status is reported. The pod object stays until someone deletes it.
func (k *Kubelet) syncFinished(ps *podState) {
	if ps.op != opNone {
		return
	}
	ps.stopTimers()
	grace := int64(api.DefaultTerminationGracePeriodSeconds)
	if g := ps.pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = max(*g, 1)
	}
	if k.stopContainers(ps, grace) || k.stopSandbox(ps) {
		return
	}
	k.release(ps)
	k.updateStatus(ps)
}

// syncTerminating stops a deleted pod: containers get SIGTERM and the grace
// period, then the sandbox stops, the final status is written and the pod
// object is deleted for good (grace period 0), as the kubelet does. If the
// object is already gone, the runtime's leftovers are removed.
func (k *Kubelet) syncTerminating(ps *podState) {
	if ps.pull != nil && k.pulls.cancel(ps.pull) {
		ps.pull = nil
		ps.op = opNone
	}
	if ps.op != opNone {
		return
	}
	if k.stopContainers(ps, k.terminationGrace(ps)) || k.stopSandbox(ps) {
		return
	}
	k.release(ps)
	if ps.removed {
		k.cleanup(ps)
		return
	}
	if !ps.deleteSent {
		k.finishDeletion(ps)
	}
}

// terminationGrace is the grace period for a deleted pod, following the
// kubelet: the API's deletionGracePeriodSeconds, which may only shrink,
// else the pod's terminationGracePeriodSeconds, and at least one second.
func (k *Kubelet) terminationGrace(ps *podState) int64 {
	g := ps.grace
	if d := ps.pod.DeletionGracePeriodSeconds; d != nil && (g == 0 || *d < g) {
		g = *d
	}
	if g == 0 {
		g = api.DefaultTerminationGracePeriodSeconds
		if t := ps.pod.Spec.TerminationGracePeriodSeconds; t != nil {
			g = *t
		}
	}
	if g < 1 {
		g = 1
	}
	ps.grace = g
	return g
}

// stopContainers stops every container instance that still runs, with grace
// seconds (again, if grace is shorter than the stop in progress). It reports
// whether any is still running.
func (k *Kubelet) stopContainers(ps *podState, grace int64) bool {
	pending := false
	for _, c := range ps.all {
		if c.id == "" || c.phase == cExited || c.phase == cNone {
			continue
		}
		pending = true
		if c.stopping && grace >= c.stopGrace {
			continue
		}
		if !c.stopping {
			k.event(ps, corev1.EventTypeNormal, "Killing", "Stopping container "+c.spec.Name)
		}
		c.stopProbes()
		c.ready = false
		c.stopping, c.stopGrace = true, grace
		live := k.live()
		id := c.id
		k.rt.StopContainer(id, time.Duration(grace)*time.Second, func(err error) {
			if !live() || c.id != id {
				return
			}
			switch {
			case err != nil && isNotFound(err):
				k.markExited(c, 137, "ContainerStatusUnknown", k.clock.Now())
			case err != nil:
				k.fail(err)
				c.stopping = false // try again at the next sync
				k.wakeAt(ps, k.clock.Now().Add(time.Second))
			case c.phase == cCreated:
				// Never started: nothing ran, so nothing to report.
				c.phase, c.stopping = cNone, false
				k.enqueue(ps)
			}
		})
	}
	return pending
}

// stopSandbox stops the pod's sandbox once; it reports whether that is in flight.
func (k *Kubelet) stopSandbox(ps *podState) bool {
	if ps.sb.id == "" || ps.sbStopped {
		return false
	}
	ps.op, ps.holdStatus = opStopSandbox, true
	live := k.live()
	k.rt.StopPodSandbox(ps.sb.id, func(err error) {
		if !live() {
			return
		}
		if err != nil && !isNotFound(err) {
			k.fail(err)
		}
		ps.op = opNone
		ps.sbStopped = true
		ps.sb.ready = false
		k.enqueue(ps)
	})
	return true
}

// finishDeletion writes the pod's terminal status and deletes it with grace
// period 0 (guarded by its UID, so a successor of the same name is safe).
func (k *Kubelet) finishDeletion(ps *podState) {
	ps.terminal = true
	k.updateStatus(ps)
	ps.deleteSent = true
	zero := int64(0)
	uid := ps.uid
	_, gone, err := k.client.Delete(k.ctx, api.Pods, ps.pod.Namespace, ps.pod.Name,
		metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
	switch {
	case err == nil && gone, apierrors.IsNotFound(err):
		k.markRemoved(ps)
	case err != nil:
		k.fail(err)
		ps.deleteSent = false
		k.wakeAt(ps, k.clock.Now().Add(time.Second))
	}
}

// cleanup forgets a pod that is gone from the API and removes its sandboxes
// (and with them its containers) from the runtime.
func (k *Kubelet) cleanup(ps *podState) {
	ps.stopTimers()
	for _, c := range ps.all {
		if c.id != "" && k.byContainer[c.id] == c {
			delete(k.byContainer, c.id)
		}
	}
	ids := ps.oldSandboxes
	if ps.sb.id != "" {
		ids = append(ids, ps.sb.id)
	}
	for _, id := range ids {
		k.rt.RemovePodSandbox(id, k.fail)
	}
	k.release(ps)
	delete(k.pods, ps.uid)
	if k.byKey[ps.key] == ps {
		delete(k.byKey, ps.key)
	}
}
