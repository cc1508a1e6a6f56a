// Package expect judges a simulation run by a scenario's expectations. The
// simulator hands a Checker a read-only View of the cluster whenever the
// Checker asks for it (Next), and at the end gets one Result per expectation.
//
// Sampling, not tracing: every check is a predicate over the state at one
// moment, evaluated at the moments the Checker chooses: every
// Settings.CheckInterval of simulated time (aligned to multiples of it) while
// an expectation is open, plus exactly at every by, at, from and until time.
// A "by" expectation passes at the first sample in [from, by] where its check
// holds; an "at" expectation is decided by the sample at that time; an
// "always" expectation fails at the first sample in [from, until] where its
// check does not hold. Between samples the Checker does nothing, so calling
// Observe after every simulator event costs one comparison. A violation that
// starts and ends between two samples is not seen; for the invariants this is
// acceptable because the states they catch (a pod bound to a full node, a pod
// left on a dead node) persist until something repairs them.
//
// serviceAnswered is the exception: it counts the requests of a simulated
// traffic entry over a window of time (read through TrafficView), so no
// request between samples is missed; its always part is judged once, over
// the whole [from, until) window, and by and at look at the requests of the
// last check interval (see traffic.go).
//
// Cost of one sample: O(pods) per open pod check, O(nodes + pods) for the
// invariants (pod request sums are cached by UID and resourceVersion),
// O(events) per open eventSeen check. Expectations that are decided (a "by"
// that passed, an "at" that was taken) are not evaluated again.
package expect

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// View is the cluster state the checks read. The simulator implements it
// over its API state. Returned objects are read, never modified, and must
// not be modified by the simulator afterwards either (replace, don't mutate).
type View interface {
	// Now is the current simulated time, on the clock that object
	// timestamps (conditions, taints, deletionTimestamp) use.
	Now() time.Time
	// Pods returns every pod in every namespace, in any order.
	Pods() []*corev1.Pod
	// Nodes returns every node, in any order.
	Nodes() []*corev1.Node
	// Deployment returns the named deployment, or nil.
	Deployment(namespace, name string) *appsv1.Deployment
	// Events returns every stored core/v1 Event, in any order.
	Events() []*corev1.Event
}

// Result is the verdict on one expectation.
type Result struct {
	Name   string
	Passed bool
	// Detail says why, with the simulated times involved, e.g.
	// "held at 1m12s" or "not by 6m: readyReplicas 27/30 (last sample 6m)".
	Detail string
}
