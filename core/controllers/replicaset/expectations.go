package replicaset

import (
	"time"

	"github.com/drydock-sim/drydock/core/clock"
)

// ExpectationsTimeout is how long a controller waits for the watch to
// confirm its own creates and deletes before it syncs anyway, as
// kube-controller-manager's ControllerExpectations.
const ExpectationsTimeout = 5 * time.Minute

// Expectations remembers, per controller key, how many pod creations and
// which pod deletions the controller has issued but not yet seen through its
// watch. While any are outstanding the controller must not act on its cache,
// which would still miss those pods (or still show them) and so cause it to
// create or delete a second time. It is Kubernetes' ControllerExpectations
// combined with UIDTrackingControllerExpectations: deletions are tracked by
// pod key so a pod seen first as terminating and later as gone is counted once.
type Expectations struct {
	clock clock.Clock
	m     map[string]*expectation
}

type expectation struct {
	add, del int
	at       time.Time
	deleting map[string]bool // pod keys whose deletion is still expected
}

// NewExpectations returns an empty set of expectations timed by clk.
func NewExpectations(clk clock.Clock) *Expectations {
	return &Expectations{clock: clk, m: map[string]*expectation{}}
}

// Satisfied reports whether the controller may act for key: nothing is
// outstanding, nothing was ever recorded, or the record is older than
// ExpectationsTimeout (a lost watch event must not wedge the controller).
func (e *Expectations) Satisfied(key string) bool {
	x, ok := e.m[key]
	if !ok {
		return true
	}
	if x.add <= 0 && x.del <= 0 {
		return true
	}
	return e.clock.Now().Sub(x.at) > ExpectationsTimeout
}

// ExpectCreations records that n creations were issued for key, replacing
// any earlier record.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.m[key] = &expectation{add: n, at: e.clock.Now()}
}

// ExpectDeletions records that the pods with the given keys are being
// deleted for key, replacing any earlier record.
func (e *Expectations) ExpectDeletions(key string, podKeys []string) {
	x := &expectation{del: len(podKeys), at: e.clock.Now(), deleting: make(map[string]bool, len(podKeys))}
	for _, k := range podKeys {
		x.deleting[k] = true
	}
	e.m[key] = x
}

// CreationObserved lowers the creations expected for key by one.
func (e *Expectations) CreationObserved(key string) {
	if x, ok := e.m[key]; ok {
		x.add--
	}
}

// DeletionObserved lowers the deletions expected for key by one if podKey
// was one of them; seeing the same pod again does nothing.
func (e *Expectations) DeletionObserved(key, podKey string) {
	if x, ok := e.m[key]; ok && x.deleting[podKey] {
		delete(x.deleting, podKey)
		x.del--
	}
}

// Pending returns the outstanding creations and deletions for key.
func (e *Expectations) Pending(key string) (add, del int) {
	if x, ok := e.m[key]; ok {
		return x.add, x.del
	}
	return 0, 0
}

// Delete forgets key, for a controller object that is gone.
func (e *Expectations) Delete(key string) { delete(e.m, key) }
