package scheduler

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
	"github.com/drydock-sim/drydock/core/scheduler/queue"
)

// Sampling bounds, as in kube-scheduler.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// filterChunk bounds how many nodes one batched filter pass covers.
const filterChunk = 128

// ErrNoNodesAvailable is the failure when the cluster has no nodes.
var ErrNoNodesAvailable = errors.New("no nodes available to schedule pods")

// ScheduleOne pops one ready pod and runs a scheduling cycle for it. It
// returns false when no pod is ready (the active queue is empty).
func (s *Scheduler) ScheduleOne() bool {
	qpi := s.queue.Pop()
	if qpi == nil {
		return false
	}
	pod := qpi.Pod
	if pod.DeletionTimestamp != nil {
		return true // being deleted: not worth a node, as in kube-scheduler
	}
	if _, ok := s.assumed[pod.UID]; ok {
		return true
	}
	d := &s.decision
	d.reset()
	d.Cycle, d.Pod, d.Attempts = s.queue.SchedulingCycle(), pod, qpi.Attempts

	host, err := s.schedulePod(qpi.PodInfo)
	if err != nil {
		s.handleFailure(qpi, err)
	} else {
		s.assumeAndBind(qpi, host)
	}
	if s.cfg.DecisionSink != nil {
		d.Rejected = s.diag.NodeToStatus.Rejected
		s.cfg.DecisionSink(*d)
	}
	return true
}

// schedulePod finds the node for pod: filter, then score, then select.
func (s *Scheduler) schedulePod(pi *framework.PodInfo) (string, error) {
	s.state.Reset()
	s.diag.Reset()
	d := &s.decision
	if s.snapshot.NumNodes() == 0 {
		return "", ErrNoNodesAvailable
	}
	feasible, err := s.findNodesThatFitPod(pi)
	if err != nil {
		return "", err
	}
	d.Feasible = len(feasible)
	if len(feasible) == 0 {
		return "", &framework.FitError{Pod: pi.Pod, NumAllNodes: s.snapshot.NumNodes(), Diagnosis: &s.diag}
	}
	if len(feasible) == 1 || !s.fw.HasScorePlugins() {
		return feasible[0].Name, nil
	}
	if st := s.fw.RunPreScorePlugins(s.state, pi, feasible); !st.IsSuccess() {
		return "", st.AsError()
	}
	perPlugin, totals, st := s.fw.RunScorePlugins(s.state, pi, feasible)
	if !st.IsSuccess() {
		return "", st.AsError()
	}
	best := s.selectHost(totals)
	if s.cfg.DecisionSink != nil {
		for _, ni := range feasible {
			d.Scored = append(d.Scored, ni.Name)
		}
		d.Totals, d.PluginScores, d.ScorePlugins = totals, perPlugin, s.fw.ScorePluginNames()
	}
	return feasible[best].Name, nil
}

// selectHost returns the index of the highest total; ties are broken
// uniformly at random with one draw from the seeded stream (a first pass
// finds the maximum and counts ties, a second finds the drawn one).
func (s *Scheduler) selectHost(totals []int64) int {
	best, ties := totals[0], 0
	for _, t := range totals {
		switch {
		case t > best:
			best, ties = t, 1
		case t == best:
			ties++
		}
	}
	k := 0
	if ties > 1 {
		k = s.cfg.Rand.IntN(ties)
	}
	for i, t := range totals {
		if t == best {
			if k == 0 {
				return i
			}
			k--
		}
	}
	return 0
}

// numFeasibleNodesToFind is kube-scheduler's adaptive sample size.
func numFeasibleNodesToFind(percentage int32, numAllNodes int) int {
	if numAllNodes < minFeasibleNodesToFind {
		return numAllNodes
	}
	pct := int(percentage)
	if pct <= 0 {
		pct = 50 - numAllNodes/125
		if pct < minFeasibleNodesPercentageToFind {
			pct = minFeasibleNodesPercentageToFind
		}
	}
	if pct >= 100 {
		return numAllNodes
	}
	n := numAllNodes * pct / 100
	if n < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return n
}

// findNodesThatFitPod runs PreFilter, tries the pod's nominated node first,
// then filters nodes from a start index that rotates across cycles and
// stops once enough feasible nodes are found.
func (s *Scheduler) findNodesThatFitPod(pi *framework.PodInfo) ([]*framework.NodeInfo, error) {
	d := &s.decision
	all := s.snapshot.List()
	d.NumAllNodes = len(all)
	res, st, plugin := s.fw.RunPreFilterPlugins(s.state, pi)
	if !st.IsSuccess() {
		if !st.IsRejected() {
			return nil, st.AsError()
		}
		s.diag.NodeToStatus.Absent, s.diag.NodeToStatus.AbsentPlugin = st, plugin
		s.diag.PreFilterMsg = st.Message()
		s.diag.AddPlugin(plugin)
		return nil, nil
	}

	// A pod nominated by an earlier preemption goes to its node if it fits.
	nom := s.nominator.NodeFor(pi.Pod.UID)
	if nom == "" {
		nom = pi.Pod.Status.NominatedNodeName
	}
	if nom != "" {
		if ni := s.snapshot.Get(nom); ni != nil {
			st, _ := s.fw.RunFilterPluginsWithNominatedPods(s.state, pi, ni)
			if st.Code() == framework.Error {
				return nil, st.AsError()
			}
			if st.IsSuccess() {
				d.Evaluated = 1
				s.feasible = append(s.feasible[:0], ni)
				return s.feasible, nil
			}
		}
	}

	nodes := all
	if res != nil {
		nodes = make([]*framework.NodeInfo, 0, len(res.NodeNames))
		for _, n := range res.NodeNames {
			if ni := s.snapshot.Get(n); ni != nil {
				nodes = append(nodes, ni)
			}
		}
		s.diag.NodeToStatus.Absent = framework.NewStatus(framework.UnschedulableAndUnresolvable,
			fmt.Sprintf("node(s) didn't satisfy plugin(s) %v", res.By))
		// The narrowing plugins rejected the other nodes: their events
		// (a matching node appearing) requeue the pod.
		for _, pl := range res.By {
			s.diag.AddPlugin(pl)
		}
	}
	return s.findNodesThatPassFilters(pi, nodes, len(all))
}

func (s *Scheduler) findNodesThatPassFilters(pi *framework.PodInfo, nodes []*framework.NodeInfo, numAll int) ([]*framework.NodeInfo, error) {
	d := &s.decision
	n := len(nodes)
	want := numFeasibleNodesToFind(s.cfg.PercentageOfNodesToScore, n)
	d.NumToFind = want
	feasible := s.feasible[:0]
	if n == 0 {
		s.feasible = feasible
		return feasible, nil
	}
	i := s.nextStartNodeIndex % n
	m := &s.diag.NodeToStatus
	processed := 0
	if !s.fw.HasFilterPlugins() {
		for processed < n && len(feasible) < want {
			feasible = append(feasible, nodes[i])
			processed++
			if i++; i == n {
				i = 0
			}
		}
	} else {
		withNominated := s.fw.NeedsNominatedPods()
		for !withNominated && processed < n && len(feasible) < want {
			// Filter a contiguous chunk no larger than the number of feasible
			// nodes still wanted, so the batch never overshoots the sample.
			size := min(filterChunk, want-len(feasible), n-i)
			seg := nodes[i : i+size]
			sts, pls := s.filterStatuses[:size], s.filterPlugins[:size]
			clear(sts)
			clear(pls)
			s.fw.RunFilterPluginsBatch(s.state, pi, seg, sts, pls)
			for j, ni := range seg {
				switch st := sts[j]; {
				case st == nil:
					feasible = append(feasible, ni)
				case !st.IsRejected():
					s.feasible = feasible
					return nil, st.AsError()
				default:
					m.AddInfo(ni, pls[j], st)
					s.diag.AddPlugin(pls[j])
				}
			}
			processed += size
			if i += size; i == n {
				i = 0
			}
		}
		// With nominated pods in the cluster, filter node by node.
		for withNominated && processed < n && len(feasible) < want {
			ni := nodes[i]
			processed++
			if i++; i == n {
				i = 0
			}
			st, plugin := s.fw.RunFilterPluginsWithNominatedPods(s.state, pi, ni)
			if st.IsSuccess() {
				feasible = append(feasible, ni)
				continue
			}
			if !st.IsRejected() {
				s.feasible = feasible
				return nil, st.AsError()
			}
			m.AddInfo(ni, plugin, st)
			s.diag.AddPlugin(plugin)
		}
	}
	s.feasible = feasible
	d.Evaluated = processed
	s.nextStartNodeIndex = (s.nextStartNodeIndex + processed) % numAll
	return feasible, nil
}

// assumeAndBind counts the pod on host at once (so the next cycle sees it)
// and binds it; a failed bind undoes the assumption and retries later.
func (s *Scheduler) assumeAndBind(qpi *queue.QueuedPodInfo, host string) {
	pod := qpi.Pod
	s.snapshot.AddPod(qpi.PodInfo, host)
	s.assumed[pod.UID] = host
	s.nominator.Delete(pod.UID)
	if err := s.cfg.Binder.Bind(pod, host); err != nil {
		s.snapshot.RemovePod(pod.UID)
		delete(s.assumed, pod.UID)
		// The space reserved for this pod is free again.
		s.queue.MoveAllToActiveOrBackoff(framework.EventAssignedPodDelete)
		s.handleFailure(qpi, fmt.Errorf("binding rejected: %w", err))
		return
	}
	s.decision.Winner = host
	s.cfg.Recorder.Event(pod, corev1.EventTypeNormal, "Scheduled",
		fmt.Sprintf("Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, host))
}

// handleFailure runs preemption for a pod that fits nowhere, reports the
// failure, and requeues the pod.
func (s *Scheduler) handleFailure(qpi *queue.QueuedPodInfo, err error) {
	pod := qpi.Pod
	d := &s.decision
	reason := corev1.PodReasonSchedulerError
	qpi.UnschedulablePlugins = nil
	if errors.Is(err, ErrNoNodesAvailable) {
		reason = corev1.PodReasonUnschedulable
	}
	var fitErr *framework.FitError
	if errors.As(err, &fitErr) {
		reason = corev1.PodReasonUnschedulable
		qpi.UnschedulablePlugins = append([]string(nil), s.diag.UnschedulablePlugins...)
		res, st := s.fw.RunPostFilterPlugins(s.state, qpi.PodInfo, &s.diag.NodeToStatus)
		s.diag.PostFilterMsg = st.Message()
		if st.Code() == framework.Error {
			s.diag.PostFilterMsg = ""
		}
		if res != nil {
			s.applyPreemption(qpi, res)
		}
	}
	msg := err.Error()
	d.Message = msg
	s.queue.AddUnschedulableIfNotPresent(qpi, d.Cycle)
	s.cfg.Recorder.Event(pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	cond := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: reason, Message: msg}
	if conditionChanged(pod, &cond) {
		_ = s.cfg.Binder.UpdatePodCondition(pod, cond) // best effort, as in kube-scheduler
	}
}

func conditionChanged(pod *corev1.Pod, c *corev1.PodCondition) bool {
	for i := range pod.Status.Conditions {
		o := &pod.Status.Conditions[i]
		if o.Type == c.Type {
			return o.Status != c.Status || o.Reason != c.Reason || o.Message != c.Message
		}
	}
	return true
}

// applyPreemption carries out a PostFilter decision through the ports:
// delete the victims, drop lower-priority nominations on the node, and
// nominate the preemptor. The victims stay counted until their deletion is
// observed; the nomination keeps others off the space meanwhile.
func (s *Scheduler) applyPreemption(qpi *queue.QueuedPodInfo, res *framework.PostFilterResult) {
	pod := qpi.Pod
	d := &s.decision
	for _, v := range res.Victims {
		if v.Pod.DeletionTimestamp != nil {
			d.Victims = append(d.Victims, v.Pod) // already going
			continue
		}
		if err := s.cfg.Binder.DeletePod(v.Pod); err != nil {
			continue // best effort; the next attempt reconsiders
		}
		d.Victims = append(d.Victims, v.Pod)
		s.cfg.Recorder.Event(v.Pod, corev1.EventTypeNormal, "Preempted",
			fmt.Sprintf("Preempted by pod %s on node %s", pod.UID, res.NominatedNodeName))
	}
	for _, p := range res.ClearNominations {
		s.nominator.Delete(p.Pod.UID)
		_ = s.cfg.Binder.SetNominatedNode(p.Pod, "")
	}
	if !res.Override {
		return
	}
	prev := s.nominator.NodeFor(pod.UID)
	if prev == "" {
		prev = pod.Status.NominatedNodeName
	}
	s.nominator.Add(qpi.PodInfo, res.NominatedNodeName)
	d.NominatedNode = res.NominatedNodeName
	if prev != res.NominatedNodeName {
		_ = s.cfg.Binder.SetNominatedNode(pod, res.NominatedNodeName)
	}
}
