// Package store defines the revisioned key-value port the API layer persists
// objects through. Two implementations satisfy it: an in-memory MVCC store
// (memstore, used by the simulator and tests) and etcd (real mode). Both must
// pass the conformance suite in storetest.
//
// Values are runtime.Objects that also implement metav1.Object. The store takes
// ownership of an object handed to Create or Update (it sets the object's
// resourceVersion to the revision of the write) and the objects it returns are
// shared: callers must deep-copy before changing them.
package store

import (
	"errors"

	"k8s.io/apimachinery/pkg/runtime"
)

// Sentinel errors for expected conditions. Implementations wrap them with
// the key (fmt.Errorf("%w: %s", ErrNotFound, key)) so errors.Is works and
// messages say which key.
var (
	ErrNotFound  = errors.New("key not found")
	ErrExists    = errors.New("key already exists")
	ErrConflict  = errors.New("revision conflict")
	ErrCompacted = errors.New("requested revision has been compacted")
)

// EventType is the kind of change a watch event reports.
type EventType string

const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
)

// Event is one committed change. For Deleted, Object is the last stored value
// with its resourceVersion set to the deletion's revision.
type Event struct {
	Type       EventType
	Key        string
	Object     runtime.Object
	PrevObject runtime.Object // nil for Added
	Revision   int64
}

// Store is a revisioned key-value store with one global revision that every
// write increments, compare-and-swap on the per-key modification revision, and
// ordered watches that can start from any revision still in history.
type Store interface {
	// Create stores obj under key if the key is absent (ErrExists otherwise) and
	// returns the new revision.
	Create(key string, obj runtime.Object) (int64, error)
	// Get returns the current object at key or ErrNotFound.
	Get(key string) (runtime.Object, error)
	// List returns every object whose key starts with prefix, ordered by key,
	// and the store's current revision.
	List(prefix string) ([]runtime.Object, int64, error)
	// Update replaces the object at key. If expectedRev is non-zero the key's
	// modification revision must equal it (ErrConflict otherwise). Missing keys
	// give ErrNotFound.
	Update(key string, obj runtime.Object, expectedRev int64) (int64, error)
	// Delete removes key, with the same expectedRev rule as Update, and returns
	// the deleted object and the revision of the deletion.
	Delete(key string, expectedRev int64) (runtime.Object, int64, error)
	// Watch calls fn, in revision order, for every change to a key under prefix
	// with a revision greater than fromRev (fromRev 0 means "from now"; a
	// fromRev ahead of the current revision skips the events up to it). If
	// fromRev is older than the compacted revision it returns ErrCompacted;
	// fromRev equal to the compacted revision is fine, since every event it
	// needs is newer. Events already in history are delivered before Watch
	// returns in synchronous implementations; cancel stops further calls
	// (none after it returns) and may be called more than once. fn must not
	// call back into the store synchronously: a caller that needs to react
	// with a write queues the reaction (the simulator schedules an event).
	Watch(prefix string, fromRev int64, fn func(Event)) (cancel func(), err error)
	// Compact discards history at and below rev, so watches from below rev
	// fail; current values are unaffected. Compacting at or below an earlier
	// compaction is a no-op, beyond the current revision an error.
	Compact(rev int64) error
	// Revision is the store's current revision.
	Revision() int64
}
