package kubelet

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/drydock-sim/drydock/core/api"
)

// updateStatus writes the pod's status if it differs from what the API
// holds. The kubelet's fields are merged into the latest object it knows;
// on a conflict it reads the pod again and retries.
func (k *Kubelet) updateStatus(ps *podState) { k.updateStatusFrom(ps, nil) }

// updateStatusFrom is updateStatus with the status already computed for
// the pod as it stands (nil: compute it).
func (k *Kubelet) updateStatusFrom(ps *podState, st *corev1.PodStatus) {
	if ps.frozen || ps.removed {
		return
	}
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 || st == nil {
			st = k.podStatus(ps)
		}
		base := ps.pod
		if apiequality.Semantic.DeepEqual(&base.Status, st) {
			return
		}
		// The Pod sent lives in the kubelet and serves every write: the
		// client copies what it is given (client.Interface).
		p := &k.statusPod
		*p = *base
		p.Status = *st
		out, err := k.client.Update(k.ctx, p, "status")
		*p = corev1.Pod{} // keep nothing alive
		if err == nil {
			k.setPod(ps, out.(*corev1.Pod))
			return
		}
		if apierrors.IsNotFound(err) {
			return
		}
		k.fail(err)
		if !apierrors.IsConflict(err) {
			k.wakeAt(ps, k.clock.Now().Add(time.Second))
			return
		}
		cur, err := k.client.Get(k.ctx, api.Pods, base.Namespace, base.Name)
		if err != nil || cur.GetUID() != ps.uid {
			return
		}
		k.setPod(ps, cur.(*corev1.Pod))
	}
}

// podStatus is the status the kubelet reports for the pod now.
func (k *Kubelet) podStatus(ps *podState) *corev1.PodStatus {
	old := &ps.pod.Status
	st := &corev1.PodStatus{QOSClass: old.QOSClass, NominatedNodeName: old.NominatedNodeName,
		StartTime: ps.startTime, ObservedGeneration: ps.pod.Generation}
	if ps.rejected {
		st.Phase, st.Reason, st.Message = corev1.PodFailed, ps.failReason, ps.failMessage
		st.StartTime = old.StartTime
		st.Conditions = append([]corev1.PodCondition(nil), old.Conditions...)
		return st
	}
	defer func() {
		if ps.failReason != "" {
			st.Phase, st.Reason, st.Message = corev1.PodFailed, ps.failReason, ps.failMessage
		}
	}()
	if k.nodeIP != "" {
		st.HostIP = k.nodeIP
		st.HostIPs = []corev1.HostIP{{IP: k.nodeIP}}
	}
	if ps.pod.Spec.HostNetwork && k.nodeIP != "" {
		st.PodIP = k.nodeIP
		st.PodIPs = []corev1.PodIP{{IP: k.nodeIP}}
	} else if ip := ps.sb.ip; ip != "" {
		st.PodIP = ip
		st.PodIPs = []corev1.PodIP{{IP: ip}}
	} else {
		st.PodIP, st.PodIPs = old.PodIP, old.PodIPs
	}
	if len(ps.inits) > 0 || len(ps.pod.Spec.InitContainers) > 0 {
		// Init containers are reported in spec order, sidecars among them.
		for i := range ps.pod.Spec.InitContainers {
			if c := ps.ctr(ps.pod.Spec.InitContainers[i].Name); c != nil {
				st.InitContainerStatuses = append(st.InitContainerStatuses, k.containerStatus(c, ps.terminal))
			}
		}
	}
	for _, c := range ps.ctrs {
		if !c.initSpec {
			st.ContainerStatuses = append(st.ContainerStatuses, k.containerStatus(c, ps.terminal))
		}
	}
	sort.Slice(st.ContainerStatuses, func(i, j int) bool { return st.ContainerStatuses[i].Name < st.ContainerStatuses[j].Name })
	st.Phase = phaseOf(ps.pod.Spec.RestartPolicy, st.ContainerStatuses, ps.terminal)
	if !ps.initDone && !ps.terminal {
		st.Phase = corev1.PodPending
		for _, c := range ps.inits {
			if c.phase == cExited && c.exitCode != 0 && !c.shouldRestart() {
				st.Phase = corev1.PodFailed
			}
		}
	}
	if ps.finished && st.Phase != corev1.PodSucceeded && st.Phase != corev1.PodFailed {
		st.Phase = corev1.PodFailed // a finished pod never leaves its terminal phase
	}
	st.Conditions = k.podConditions(ps, st.Phase)
	return st
}

// containerStatus renders one container the way the kubelet does.
func (k *Kubelet) containerStatus(c *ctrState, terminal bool) corev1.ContainerStatus {
	running := c.phase == cRunning
	started := running && c.started
	ready := running && c.ready
	if c.init {
		ready = c.phase == cExited && c.exitCode == 0 && !c.rerun
	}
	cs := corev1.ContainerStatus{Name: c.spec.Name, Image: c.spec.Image, ImageID: c.imageRef,
		RestartCount: c.restartCount, Ready: ready, Started: &started}
	if c.id != "" && c.phase != cNone {
		cs.ContainerID = k.rtName + "://" + c.id
	}
	if c.prev != nil {
		cs.LastTerminationState.Terminated = c.prev
	}
	switch c.phase {
	case cRunning:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: apiTime(c.startedAt)}
	case cExited:
		t := c.terminated(k.rtName)
		if c.waitReason != "" && !terminal {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: c.waitReason, Message: c.waitMessage}
			cs.LastTerminationState.Terminated = t
		} else {
			cs.State.Terminated = t
		}
	default:
		if terminal {
			cs.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "ContainerStatusUnknown",
				Message: "The container could not be located when the pod was terminated"}
			break
		}
		reason := c.waitReason
		switch {
		case reason != "":
		case len(c.ps.inits) > 0:
			reason = "PodInitializing" // Kubernetes' default when a pod has init containers
		default:
			reason = "ContainerCreating"
		}
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: c.waitMessage}
	}
	return cs
}

// phaseOf is the kubelet's pod phase rule: Pending while a container has not
// run yet, Running while one runs or will be restarted, and Succeeded or
// Failed once all have stopped for good (terminal: the pod was stopped).
func phaseOf(policy corev1.RestartPolicy, statuses []corev1.ContainerStatus, terminal bool) corev1.PodPhase {
	var running, waiting, stopped, succeeded int
	for i := range statuses {
		s := &statuses[i]
		switch {
		case s.State.Running != nil:
			running++
		case s.State.Terminated != nil:
			stopped++
			if s.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case s.LastTerminationState.Terminated != nil:
			stopped++
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case stopped > 0:
		switch {
		case terminal && stopped == succeeded:
			return corev1.PodSucceeded
		case terminal:
			return corev1.PodFailed
		case policy == corev1.RestartPolicyAlways:
			return corev1.PodRunning
		case stopped == succeeded:
			return corev1.PodSucceeded
		case policy == corev1.RestartPolicyNever:
			return corev1.PodFailed
		}
		return corev1.PodRunning
	}
	return corev1.PodPending
}

// podConditions computes the conditions the kubelet owns and keeps the
// others (PodScheduled, DisruptionTarget, readiness gates) as they are.
func (k *Kubelet) podConditions(ps *podState, phase corev1.PodPhase) []corev1.PodCondition {
	old := ps.pod.Status.Conditions
	now := k.now()
	gen := ps.pod.Generation
	mk := func(t corev1.PodConditionType, ok bool, reason, msg string) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: msg, ObservedGeneration: gen}
		if ok {
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, "", ""
		}
		c.LastTransitionTime = now
		for _, o := range old {
			if o.Type == t && o.Status == c.Status {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		return c
	}
	var unready, uninit []string
	for _, c := range ps.inits {
		if !(c.phase == cExited && c.exitCode == 0 && !c.rerun) {
			uninit = append(uninit, c.spec.Name)
		}
	}
	initReason, initMsg := "", ""
	if !ps.initDone && len(uninit) > 0 {
		initReason, initMsg = "ContainersNotInitialized", fmt.Sprintf("containers with incomplete status: %v", uninit)
	}
	for _, c := range ps.ctrs {
		if !(c.phase == cRunning && c.ready) {
			unready = append(unready, c.spec.Name)
		}
	}
	ctrReason, ctrMsg := "", ""
	switch {
	case phase == corev1.PodSucceeded:
		ctrReason = "PodCompleted"
	case len(unready) > 0:
		ctrReason, ctrMsg = "ContainersNotReady", fmt.Sprintf("containers with unready status: %v", unready)
	}
	readyReason, readyMsg := ctrReason, ctrMsg
	gatesOK := true
	if ctrReason == "" {
		for _, g := range ps.pod.Spec.ReadinessGates {
			status := corev1.ConditionFalse
			found := false
			for _, o := range old {
				if o.Type == g.ConditionType {
					status, found = o.Status, true
				}
			}
			if status != corev1.ConditionTrue {
				gatesOK = false
				readyReason = "ReadinessGatesNotReady"
				if found {
					readyMsg = fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %s", g.ConditionType, status)
				} else {
					readyMsg = fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", g.ConditionType)
				}
				break
			}
		}
	}
	mine := [4]corev1.PodCondition{
		mk(corev1.PodReadyToStartContainers, ps.sb.ready, "", ""),
		mk(corev1.PodInitialized, initReason == "", initReason, initMsg),
		mk(corev1.PodReady, ctrReason == "" && gatesOK, readyReason, readyMsg),
		mk(corev1.ContainersReady, ctrReason == "", ctrReason, ctrMsg),
	}
	if sameConditions(old, &mine) {
		// What the pod already holds (shared, never modified): most syncs
		// of a running pod change nothing here.
		return old[:len(old):len(old)]
	}
	out := append(make([]corev1.PodCondition, 0, len(old)+len(mine)), mine[:]...)
	for _, o := range old {
		switch o.Type {
		case corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady:
		default:
			out = append(out, o)
		}
	}
	return out
}

// sameConditions reports whether old is exactly what podConditions would
// build from mine: mine first, in order, then old's other conditions (those
// are copied from old in order, so old must hold none of mine's types past
// the first four).
func sameConditions(old []corev1.PodCondition, mine *[4]corev1.PodCondition) bool {
	if len(old) < len(mine) {
		return false
	}
	for i := range mine {
		if old[i] != mine[i] {
			return false
		}
	}
	for _, o := range old[len(mine):] {
		switch o.Type {
		case corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady:
			return false
		}
	}
	return true
}
