package expect

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/sim/scenario"
)

// podRequests is a pod's effective request per resource, in milli-units.
type podRequests map[corev1.ResourceName]int64

type podKey struct {
	uid types.UID
	rv  string
}

// requestsOf returns the pod's effective requests the way the scheduler
// computes them: the sum over containers and restartable (sidecar) init
// containers, or the largest init container step if that is more, plus the
// pod overhead. A resource with a limit but no request requests its limit,
// as API defaulting makes it. Results are cached by UID and resourceVersion.
func (c *Checker) requestsOf(p *corev1.Pod) podRequests {
	key := podKey{p.UID, p.ResourceVersion}
	if key.uid != "" {
		if r, ok := c.podReqs[key]; ok {
			return r
		}
	}
	reqs := podRequests{}
	sidecars := podRequests{}
	initMax := podRequests{}
	for _, ctr := range p.Spec.Containers {
		addTo(reqs, containerRequests(&ctr))
	}
	for _, ctr := range p.Spec.InitContainers {
		r := containerRequests(&ctr)
		step := podRequests{}
		if ctr.RestartPolicy != nil && *ctr.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			addTo(reqs, r)
			addTo(sidecars, r)
			addTo(step, sidecars)
		} else {
			addTo(step, r)
			addTo(step, sidecars)
		}
		for k, v := range step {
			initMax[k] = max(initMax[k], v)
		}
	}
	for k, v := range initMax {
		reqs[k] = max(reqs[k], v)
	}
	for k, q := range p.Spec.Overhead {
		reqs[k] += q.MilliValue()
	}
	if key.uid != "" {
		c.podReqs[key] = reqs
	}
	return reqs
}

func containerRequests(ctr *corev1.Container) podRequests {
	out := podRequests{}
	for k, q := range ctr.Resources.Limits {
		out[k] = q.MilliValue()
	}
	for k, q := range ctr.Resources.Requests {
		out[k] = q.MilliValue()
	}
	return out
}

func addTo(dst, src podRequests) {
	for k, v := range src {
		dst[k] += v
	}
}

// noOvercommit: on every node, the requests of the pods bound to it that
// have not finished (terminating ones included: they still hold their
// resources) fit its allocatable resources, and so does their number.
func (c *Checker) noOvercommit(s *sample) (bool, string) {
	used := map[string]podRequests{}
	live := map[podKey]bool{}
	for _, p := range s.allPods() {
		if !onNode(p) {
			continue
		}
		u := used[p.Spec.NodeName]
		if u == nil {
			u = podRequests{}
			used[p.Spec.NodeName] = u
		}
		addTo(u, c.requestsOf(p))
		u[corev1.ResourcePods] += 1000
		live[podKey{p.UID, p.ResourceVersion}] = true
	}
	// Drop cache entries of pods that are gone or changed, so the cache stays
	// as large as the live pod set.
	if len(c.podReqs) > 2*len(live)+64 {
		for k := range c.podReqs {
			if !live[k] {
				delete(c.podReqs, k)
			}
		}
	}
	nodes := s.nodeMap()
	var bad []string
	for _, name := range sortedNames(used) {
		n := nodes[name]
		if n == nil {
			// Bound to a deleted node: pod GC's business, not overcommit.
			continue
		}
		alloc := n.Status.Allocatable
		if len(alloc) == 0 {
			alloc = n.Status.Capacity
		}
		u := used[name]
		for _, r := range sortedResources(u) {
			if u[r] == 0 {
				continue
			}
			var have int64
			if q, ok := alloc[r]; ok {
				have = q.MilliValue()
			}
			if u[r] > have {
				bad = append(bad, fmt.Sprintf("node %s %s: requests %s > allocatable %s", name, r, milli(r, u[r]), milli(r, have)))
			}
		}
	}
	if len(bad) == 0 {
		return true, "all nodes within allocatable"
	}
	if len(bad) > 3 {
		bad = append(bad[:3], fmt.Sprintf("and %d more", len(bad)-3))
	}
	return false, strings.Join(bad, "; ")
}

// milli renders a milli-unit amount as a quantity of the resource.
func milli(r corev1.ResourceName, v int64) string {
	if r == corev1.ResourcePods {
		return fmt.Sprint(v / 1000)
	}
	format := resource.DecimalSI
	if r == corev1.ResourceMemory || r == corev1.ResourceEphemeralStorage {
		format = resource.BinarySI
	}
	return resource.NewMilliQuantity(v, format).String()
}

func sortedNames(m map[string]podRequests) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedResources(m podRequests) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// notReadyNode is a node whose Ready condition is not True.
type notReadyNode struct {
	since time.Time
	taint string // the NoExecute taint Kubernetes puts on it
}

// noPodOnNotReady: no live pod (not finished, not being deleted) stays bound
// to a node that has been NotReady for longer than the pod tolerates that
// node's NoExecute taint, plus the margin. Ready=Unknown (the node stopped
// reporting) means node.kubernetes.io/unreachable, Ready=False means
// node.kubernetes.io/not-ready. The NotReady time is the Ready condition's
// lastTransitionTime, or the first sample that saw it if that is unset.
// Pods that do not tolerate the taint at all are judged with the
// DefaultTolerationSeconds that admission would have given them.
func (c *Checker) noPodOnNotReady(ck *scenario.Check) func(*sample) (bool, string) {
	return func(s *sample) (bool, string) {
		now := c.start.Add(s.now)
		down := map[string]notReadyNode{}
		for name, n := range s.nodeMap() {
			status, cond := nodeIsReady(n)
			if status == corev1.ConditionTrue {
				delete(c.seenSince, name)
				continue
			}
			first, ok := c.seenSince[name]
			if !ok {
				first = s.now
				c.seenSince[name] = first
			}
			nr := notReadyNode{since: c.start.Add(first), taint: corev1.TaintNodeUnreachable}
			if cond != nil && !cond.LastTransitionTime.IsZero() {
				nr.since = cond.LastTransitionTime.Time
			}
			if status == corev1.ConditionFalse {
				nr.taint = corev1.TaintNodeNotReady
			}
			down[name] = nr
		}
		if len(down) == 0 {
			return true, "all nodes ready"
		}
		var bad []string
		for _, p := range s.allPods() {
			nr, ok := down[p.Spec.NodeName]
			if !ok || terminal(p) || terminating(p) {
				continue
			}
			secs, forever := tolerationSeconds(p, nr.taint, c.sc.Settings.DefaultTolerationSeconds)
			if forever {
				continue
			}
			deadline := nr.since.Add(time.Duration(secs)*time.Second + ck.Margin)
			if now.After(deadline) {
				bad = append(bad, fmt.Sprintf("pod %s/%s on node %s (NotReady since %s, tolerates %s for %ds)",
					p.Namespace, p.Name, p.Spec.NodeName, c.at(nr.since), nr.taint, secs))
			}
		}
		if len(bad) == 0 {
			return true, fmt.Sprintf("%d nodes not ready, no pod past its toleration", len(down))
		}
		// Sorted before trimming so the detail never depends on pod order.
		sort.Strings(bad)
		if len(bad) > 3 {
			bad = append(bad[:3], fmt.Sprintf("and %d more", len(bad)-3))
		}
		return false, strings.Join(bad, "; ")
	}
}

// tolerationSeconds returns how long the pod tolerates a NoExecute taint with
// the given key and no value, as Kubernetes' taint eviction computes it: the
// smallest tolerationSeconds among matching tolerations; forever if they all
// leave it unset; def if none matches.
func tolerationSeconds(p *corev1.Pod, key string, def int64) (secs int64, forever bool) {
	matched := false
	least := int64(math.MaxInt64)
	for _, t := range p.Spec.Tolerations {
		if t.Effect != "" && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if t.Key != key && !(t.Key == "" && t.Operator == corev1.TolerationOpExists) {
			continue
		}
		if t.Operator != corev1.TolerationOpExists && t.Value != "" {
			continue
		}
		matched = true
		if t.TolerationSeconds != nil {
			least = min(least, max(*t.TolerationSeconds, 0))
		}
	}
	switch {
	case !matched:
		return def, false
	case least == math.MaxInt64:
		return 0, true
	}
	return least, false
}
