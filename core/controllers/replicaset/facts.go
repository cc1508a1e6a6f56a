package replicaset

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
)

// podFacts is what a sync needs to know about one pod. Every pod event
// syncs the pod's ReplicaSet, which looks at all of its pods; reading those
// from scattered pod objects (labels maps, condition slices) was most of the
// controller's cost, while between two syncs usually one pod has changed.
type podFacts struct {
	active   bool // IsPodActive
	selected bool // the ReplicaSet's selector matches the labels
	labeled  bool // the template's labels match (FullyLabeledReplicas)
	ready    bool // Ready condition True
	// readySince is the Ready condition's lastTransitionTime when ready.
	readySince time.Time
}

func (f *podFacts) available(minReadySeconds int32, now time.Time) bool {
	if !f.ready {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	return !f.readySince.IsZero() && f.readySince.Add(time.Duration(minReadySeconds)*time.Second).Before(now)
}

// availableAt mirrors availableAt(pod, minReadySeconds).
func (f *podFacts) availableAt(minReadySeconds int32) time.Time {
	if !f.ready || f.readySince.IsZero() {
		return time.Time{}
	}
	return f.readySince.Add(time.Duration(minReadySeconds) * time.Second)
}

// factsMemo remembers the facts of one ReplicaSet's pods from its last sync.
// A fact is reused only for the very same pod object (cached objects are
// immutable and replaced on every change), and only while the ReplicaSet's
// selector and template are the ones the facts were computed against, so
// reuse can never change a result; how many are reused is a heuristic.
type factsMemo struct {
	uid  types.UID
	gen  int64
	sel  *metav1.LabelSelector
	tmpl labels.Selector // lazily built from the template labels
	// The parsed selector, lazily (parsing showed up in profiles).
	parsed    labels.Selector
	parsedErr error
	pods      []*corev1.Pod
	facts     []podFacts
	// Spare buffers, swapped with pods/facts on every sync.
	nextPods  []*corev1.Pod
	nextFacts []podFacts
	// claimPods' result buffers.
	claimedPods  []*corev1.Pod
	claimedFacts []podFacts
	// The last status write's result, and the resourceVersions the cache
	// may still show that the controller's writes have replaced since (see
	// updateStatus).
	written  *appsv1.ReplicaSet
	replaced []string
}

// memoFor returns the memo of key, reset if rs's identity, generation or
// selector object differ from what it was built for.
func (c *Controller) memoFor(key string, rs *appsv1.ReplicaSet) *factsMemo {
	m := c.memos[key]
	if m == nil {
		m = &factsMemo{}
		c.memos[key] = m
	}
	if m.uid != rs.UID || m.gen != rs.Generation || m.sel != rs.Spec.Selector {
		*m = factsMemo{uid: rs.UID, gen: rs.Generation, sel: rs.Spec.Selector,
			nextPods: m.nextPods[:0], nextFacts: m.nextFacts[:0],
			claimedPods: m.claimedPods[:0], claimedFacts: m.claimedFacts[:0]}
	}
	return m
}

// selector is metav1.LabelSelectorAsSelector of the memo's selector, parsed once.
func (m *factsMemo) selector() (labels.Selector, error) {
	if m.parsed == nil && m.parsedErr == nil {
		m.parsed, m.parsedErr = metav1.LabelSelectorAsSelector(m.sel)
	}
	return m.parsed, m.parsedErr
}

// factsOf computes the facts of pods (sorted by key, as ByIndex returns
// them), reusing the previous sync's facts for unchanged pod objects. The
// returned slice is valid until the next call for the same ReplicaSet.
func (m *factsMemo) factsOf(rs *appsv1.ReplicaSet, sel labels.Selector, pods []api.Object) []podFacts {
	outPods, out := m.nextPods[:0], m.nextFacts[:0]
	old, oldFacts := m.pods, m.facts
	j := 0
	for i, o := range pods {
		p := o.(*corev1.Pod)
		// Both lists are in key order, so walk them together. The usual
		// differences are one pod replaced, added or removed; anything
		// else only costs recomputation, never a stale fact.
		if j+1 < len(old) && old[j] != p && old[j+1] == p {
			j++ // old[j] is gone
		}
		var f podFacts
		if j < len(old) && old[j] == p {
			f = oldFacts[j]
			j++
		} else {
			f = m.compute(rs, sel, p)
			// p replaces old[j] unless old[j] is still to come (p is new).
			if j < len(old) && (i+1 >= len(pods) || pods[i+1] != api.Object(old[j])) {
				j++
			}
		}
		outPods = append(outPods, p)
		out = append(out, f)
	}
	clear(old) // drop references to pods no longer needed
	m.nextPods, m.nextFacts = old[:0], oldFacts[:0]
	m.pods, m.facts = outPods, out
	return out
}

func (m *factsMemo) compute(rs *appsv1.ReplicaSet, sel labels.Selector, p *corev1.Pod) podFacts {
	if m.tmpl == nil {
		m.tmpl = labels.SelectorFromSet(rs.Spec.Template.Labels)
	}
	set := labels.Set(p.Labels)
	f := podFacts{active: IsPodActive(p), selected: sel.Matches(set), labeled: m.tmpl.Matches(set)}
	if c := readyCondition(p); c != nil && c.Status == corev1.ConditionTrue {
		f.ready, f.readySince = true, c.LastTransitionTime.Time
	}
	return f
}
