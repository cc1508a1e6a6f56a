// Package memstore is the in-memory MVCC implementation of store.Store used
// by the simulator and by tests.
//
// It keeps only the latest value of each key plus a bounded history of
// events (one per revision) for watches. Reads and writes take one
// sync.Mutex, so it is safe to share between goroutines in real mode, but it
// starts none itself: watch callbacks run on the goroutine that made the
// write, after the write has committed and with the mutex released.
//
// Costs: Get and Update are O(1) map operations, Create and Delete add an
// O(log n) B-tree update, List(prefix) is O(log n + k), and dispatching an
// event costs one map lookup per distinct watched prefix length rather than
// a string comparison per watcher.
package memstore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/drydock-sim/drydock/core/store"
)

// DefaultHistoryLimit is how many events a Store keeps for watches that
// start from an older revision unless WithHistoryLimit says otherwise.
const DefaultHistoryLimit = 100_000

// Option configures a Store.
type Option func(*Store)

// WithHistoryLimit bounds the watch history to the newest n events; older
// events are compacted automatically as new ones arrive, so memory stays
// bounded over long simulations. n <= 0 keeps history until Compact is
// called.
func WithHistoryLimit(n int) Option {
	return func(s *Store) { s.historyLimit = n }
}

// entry is one live key. Entries are mutated in place on Update (under the
// mutex); the B-tree and the map point at the same entry.
type entry struct {
	key       string
	obj       runtime.Object
	createRev int64
	modRev    int64
}

// Store is an in-memory store.Store. The zero value is not usable; call New.
type Store struct {
	mu sync.Mutex

	rev     int64
	entries entryMap
	index   btree

	historyLimit int
	history      history

	watchers    watchIndex
	nextWatchID uint64

	// Delivery queue; see deliverAndUnlock.
	queue       []delivery
	qhead       int
	dispatching bool
	scratch     []*watcher
}

var _ store.Store = (*Store)(nil)

// New returns an empty store at revision 0.
func New(opts ...Option) *Store {
	s := &Store{
		entries:      newEntryMap(),
		historyLimit: DefaultHistoryLimit,
		watchers:     newWatchIndex(),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Revision implements store.Store.
func (s *Store) Revision() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev
}

// Len is the number of live keys.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entries.len()
}

// Get implements store.Store.
func (s *Store) Get(key string) (runtime.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries.get(key)
	if !ok {
		return nil, fmt.Errorf("%w: %s", store.ErrNotFound, key)
	}
	return e.obj, nil
}

// List implements store.Store.
func (s *Store) List(prefix string) ([]runtime.Object, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Count first and allocate once: listing all 150,000 pods by appending
	// would create several times the result's size in garbage, and the GC
	// cost of that dwarfs a second walk over the same (now cached) nodes.
	n := 0
	s.index.Ascend(prefix, func(e *entry) bool {
		if !strings.HasPrefix(e.key, prefix) {
			return false // keys are sorted: past the prefix range
		}
		n++
		return true
	})
	if n == 0 {
		return nil, s.rev, nil
	}
	out := make([]runtime.Object, 0, n)
	s.index.Ascend(prefix, func(e *entry) bool {
		if len(out) == n {
			return false
		}
		out = append(out, e.obj)
		return true
	})
	return out, s.rev, nil
}

// Create implements store.Store.
func (s *Store) Create(key string, obj runtime.Object) (int64, error) {
	s.mu.Lock()
	if _, ok := s.entries.get(key); ok {
		s.mu.Unlock()
		return 0, fmt.Errorf("%w: %s", store.ErrExists, key)
	}
	rev := s.rev + 1
	if err := setRevision(key, obj, rev); err != nil {
		s.mu.Unlock()
		return 0, err
	}
	s.rev = rev
	e := &entry{key: key, obj: obj, createRev: rev, modRev: rev}
	s.entries.put(key, e)
	s.index.Insert(e)
	s.commitAndUnlock(store.Event{Type: store.Added, Key: key, Object: obj, Revision: rev})
	return rev, nil
}

// Update implements store.Store.
func (s *Store) Update(key string, obj runtime.Object, expectedRev int64) (int64, error) {
	s.mu.Lock()
	e, err := s.lookupForWrite(key, expectedRev)
	if err != nil {
		s.mu.Unlock()
		return 0, err
	}
	rev := s.rev + 1
	if err := setRevision(key, obj, rev); err != nil {
		s.mu.Unlock()
		return 0, err
	}
	s.rev = rev
	prev := e.obj
	e.obj, e.modRev = obj, rev
	s.commitAndUnlock(store.Event{Type: store.Modified, Key: key, Object: obj, PrevObject: prev, Revision: rev})
	return rev, nil
}

// Delete implements store.Store. The returned object (also the Deleted
// event's Object) is a copy of the last stored value whose resourceVersion
// is the deletion's revision, as Kubernetes reports deletions.
func (s *Store) Delete(key string, expectedRev int64) (runtime.Object, int64, error) {
	s.mu.Lock()
	e, err := s.lookupForWrite(key, expectedRev)
	if err != nil {
		s.mu.Unlock()
		return nil, 0, err
	}
	rev := s.rev + 1
	last, err := withRevision(e.obj, strconv.FormatInt(rev, 10))
	if err != nil {
		s.mu.Unlock()
		return nil, 0, fmt.Errorf("memstore: delete %s: %w", key, err)
	}
	s.rev = rev
	s.entries.del(key)
	s.index.Delete(key)
	s.commitAndUnlock(store.Event{Type: store.Deleted, Key: key, Object: last, PrevObject: e.obj, Revision: rev})
	return last, rev, nil
}

// lookupForWrite finds key and checks the compare-and-swap precondition.
func (s *Store) lookupForWrite(key string, expectedRev int64) (*entry, error) {
	e, ok := s.entries.get(key)
	if !ok {
		return nil, fmt.Errorf("%w: %s", store.ErrNotFound, key)
	}
	if expectedRev != 0 && e.modRev != expectedRev {
		return nil, fmt.Errorf("%w: %s: expected revision %d, have %d", store.ErrConflict, key, expectedRev, e.modRev)
	}
	return e, nil
}

var errNilObject = errors.New("nil object")

// setRevision stamps obj with rev. The store owns obj from here on.
func setRevision(key string, obj runtime.Object, rev int64) error {
	if obj == nil {
		return fmt.Errorf("memstore: %s: %w", key, errNilObject)
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return fmt.Errorf("memstore: %s: %w", key, err)
	}
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	return nil
}
