package expect

import (
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/sim/scenario"
)

// evaluator returns the predicate for a check: whether it holds in a sample,
// and a short description of what was seen.
func (c *Checker) evaluator(ck *scenario.Check) func(*sample) (bool, string) {
	switch ck.Kind {
	case scenario.CheckDeploymentReady:
		return func(s *sample) (bool, string) { return deploymentReady(ck, s.v.Deployment(ck.Namespace, ck.Name)) }
	case scenario.CheckRolloutComplete:
		return func(s *sample) (bool, string) { return rolloutComplete(ck, s.v.Deployment(ck.Namespace, ck.Name)) }
	case scenario.CheckPodsRunning:
		return c.countPods(ck, "running", running)
	case scenario.CheckPodsReady:
		return c.countPods(ck, "ready", ready)
	case scenario.CheckPodsPending:
		return c.countPods(ck, "pending", pending)
	case scenario.CheckPodsUnschedulable:
		return c.countPods(ck, "unschedulable", unschedulable)
	case scenario.CheckPodsOnNode:
		return c.countPods(ck, "on the node(s)", onNode)
	case scenario.CheckContainerWaiting:
		return c.countPods(ck, "waiting with reason "+ck.Reason, func(p *corev1.Pod) bool { return waitingWith(p, ck.Reason) })
	case scenario.CheckContainerRestarts:
		return c.containerRestarts(ck)
	case scenario.CheckNodeReady:
		return func(s *sample) (bool, string) { return nodeReady(ck, s.nodeMap()[ck.Node]) }
	case scenario.CheckEventSeen:
		return eventSeen(ck)
	case scenario.CheckTopologySpread:
		return c.topologySpread(ck)
	case scenario.CheckNoOvercommit:
		return c.noOvercommit
	case scenario.CheckNoPodOnNotReady:
		return c.noPodOnNotReady(ck)
	}
	panic(fmt.Sprintf("expect: unknown check %q", ck.Kind))
}

func (c *Checker) countPods(ck *scenario.Check, what string, pred func(*corev1.Pod) bool) func(*sample) (bool, string) {
	return func(s *sample) (bool, string) {
		n := 0
		for _, p := range s.allPods() {
			if pred(p) && c.podMatches(ck, p) {
				n++
			}
		}
		return ck.Count.Contains(n), fmt.Sprintf("%d pods %s (want %s)", n, what, ck.Count)
	}
}

func (c *Checker) containerRestarts(ck *scenario.Check) func(*sample) (bool, string) {
	return func(s *sample) (bool, string) {
		n := 0
		for _, p := range s.allPods() {
			if c.podMatches(ck, p) {
				n += restarts(p)
			}
		}
		return ck.Count.Contains(n), fmt.Sprintf("%d container restarts (want %s)", n, ck.Count)
	}
}

func wantReplicas(ck *scenario.Check, d *appsv1.Deployment) int32 {
	if ck.HasReplicas {
		return ck.Replicas
	}
	if d.Spec.Replicas != nil {
		return *d.Spec.Replicas
	}
	return 1
}

// deploymentReady: the controller has seen the latest spec and at least the
// wanted number of pods are ready.
func deploymentReady(ck *scenario.Check, d *appsv1.Deployment) (bool, string) {
	if d == nil {
		return false, fmt.Sprintf("deployment %s/%s not found", ck.Namespace, ck.Name)
	}
	want := wantReplicas(ck, d)
	detail := fmt.Sprintf("readyReplicas %d/%d", d.Status.ReadyReplicas, want)
	if d.Status.ObservedGeneration < d.Generation {
		return false, detail + fmt.Sprintf(" (generation %d not yet observed)", d.Generation)
	}
	return d.Status.ReadyReplicas >= want, detail
}

// rolloutComplete follows `kubectl rollout status`: the latest generation is
// observed, every replica is updated, no old replica is left, and every
// updated replica is available.
func rolloutComplete(ck *scenario.Check, d *appsv1.Deployment) (bool, string) {
	if d == nil {
		return false, fmt.Sprintf("deployment %s/%s not found", ck.Namespace, ck.Name)
	}
	st := d.Status
	if st.ObservedGeneration < d.Generation {
		return false, fmt.Sprintf("waiting for generation %d to be observed", d.Generation)
	}
	for _, cond := range st.Conditions {
		if cond.Type == appsv1.DeploymentProgressing && cond.Reason == "ProgressDeadlineExceeded" {
			return false, "progress deadline exceeded"
		}
	}
	want := wantReplicas(&scenario.Check{}, d)
	switch {
	case st.UpdatedReplicas < want:
		return false, fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, want)
	case st.Replicas > st.UpdatedReplicas:
		return false, fmt.Sprintf("%d old replicas pending termination", st.Replicas-st.UpdatedReplicas)
	case st.AvailableReplicas < st.UpdatedReplicas:
		return false, fmt.Sprintf("%d of %d updated replicas available", st.AvailableReplicas, st.UpdatedReplicas)
	}
	return true, fmt.Sprintf("%d replicas updated and available", st.UpdatedReplicas)
}

// nodeIsReady reads the NodeReady condition; a node without it is not ready.
func nodeIsReady(n *corev1.Node) (corev1.ConditionStatus, *corev1.NodeCondition) {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			return n.Status.Conditions[i].Status, &n.Status.Conditions[i]
		}
	}
	return corev1.ConditionUnknown, nil
}

func nodeReady(ck *scenario.Check, n *corev1.Node) (bool, string) {
	if n == nil {
		return !ck.Ready, fmt.Sprintf("node %s not found", ck.Node)
	}
	status, _ := nodeIsReady(n)
	isReady := status == corev1.ConditionTrue
	return isReady == ck.Ready, fmt.Sprintf("node %s Ready=%s", ck.Node, status)
}

func eventSeen(ck *scenario.Check) func(*sample) (bool, string) {
	return func(s *sample) (bool, string) {
		n := 0
		for _, e := range s.v.Events() {
			if e.Reason != ck.Reason ||
				(ck.Type != "" && e.Type != ck.Type) ||
				(ck.InvolvedKind != "" && e.InvolvedObject.Kind != ck.InvolvedKind) ||
				(ck.InvolvedName != "" && e.InvolvedObject.Name != ck.InvolvedName) ||
				(ck.Message != "" && !strings.Contains(e.Message, ck.Message)) {
				continue
			}
			ns := e.InvolvedObject.Namespace
			if ns == "" {
				ns = e.Namespace
			}
			if ck.Namespace != "" && ns != ck.Namespace {
				continue
			}
			n += max(int(e.Count), 1)
		}
		return ck.Count.Contains(n), fmt.Sprintf("%d matching events (want %s)", n, ck.Count)
	}
}

// topologySpread: among the nodes (of the pool, if given) that carry the
// topology label, count bound, live, matching pods per label value; the
// difference between the fullest and the emptiest domain is the skew.
func (c *Checker) topologySpread(ck *scenario.Check) func(*sample) (bool, string) {
	return func(s *sample) (bool, string) {
		domainOf := map[string]string{}
		counts := map[string]int{}
		for name, n := range s.nodeMap() {
			if ck.Pool != "" && c.poolOfNode(name) != ck.Pool {
				continue
			}
			if v, ok := n.Labels[ck.TopologyKey]; ok {
				domainOf[name] = v
				counts[v] += 0
			}
		}
		if len(counts) == 0 {
			return false, fmt.Sprintf("no node has label %s", ck.TopologyKey)
		}
		noPool := *ck
		noPool.Pool = ""
		for _, p := range s.allPods() {
			if !onNode(p) || terminating(p) || !c.podMatches(&noPool, p) {
				continue
			}
			if d, ok := domainOf[p.Spec.NodeName]; ok {
				counts[d]++
			}
		}
		domains := make([]string, 0, len(counts))
		lo, hi := -1, 0
		for d, n := range counts {
			domains = append(domains, d)
			if lo < 0 || n < lo {
				lo = n
			}
			hi = max(hi, n)
		}
		sort.Strings(domains)
		var parts []string
		for _, d := range domains {
			parts = append(parts, fmt.Sprintf("%s=%d", d, counts[d]))
		}
		return hi-lo <= ck.MaxSkew, fmt.Sprintf("skew %d (want <= %d): %s", hi-lo, ck.MaxSkew, strings.Join(parts, " "))
	}
}
