package memstore

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/drydock-sim/drydock/core/store"
)

type watcher struct {
	id     uint64 // registration order; ties between watchers break on it
	prefix string
	// after is the newest revision this watcher must not receive live:
	// events up to it were either before fromRev or handed over as replay.
	after     int64
	fn        func(store.Event)
	cancelled atomic.Bool
}

// watchIndex groups watchers by prefix. To find the watchers of a key it
// looks up key[:L] for each distinct prefix length L, so dispatch costs a few
// map lookups however many watchers share a prefix.
type watchIndex struct {
	byPrefix map[string][]*watcher // each slice in registration order
	lenCount map[int]int           // prefix length -> number of prefixes
	lens     []int                 // distinct prefix lengths, ascending
}

func newWatchIndex() watchIndex {
	return watchIndex{byPrefix: map[string][]*watcher{}, lenCount: map[int]int{}}
}

func (x *watchIndex) add(w *watcher) {
	ws, ok := x.byPrefix[w.prefix]
	x.byPrefix[w.prefix] = append(ws, w)
	if ok {
		return
	}
	l := len(w.prefix)
	x.lenCount[l]++
	if x.lenCount[l] == 1 {
		i, _ := slices.BinarySearch(x.lens, l)
		x.lens = slices.Insert(x.lens, i, l)
	}
}

func (x *watchIndex) remove(w *watcher) {
	ws := x.byPrefix[w.prefix]
	i := slices.Index(ws, w)
	if i < 0 {
		return
	}
	ws = slices.Delete(ws, i, i+1)
	if len(ws) > 0 {
		x.byPrefix[w.prefix] = ws
		return
	}
	delete(x.byPrefix, w.prefix)
	l := len(w.prefix)
	x.lenCount[l]--
	if x.lenCount[l] == 0 {
		delete(x.lenCount, l)
		i, _ := slices.BinarySearch(x.lens, l)
		x.lens = slices.Delete(x.lens, i, i+1)
	}
}

// match appends to dst the watchers of key that should see an event at rev,
// in registration order.
func (x *watchIndex) match(key string, rev int64, dst []*watcher) []*watcher {
	groups := 0
	for _, l := range x.lens {
		if l > len(key) {
			break
		}
		ws, ok := x.byPrefix[key[:l]]
		if !ok {
			continue
		}
		groups++
		for _, w := range ws {
			if rev > w.after {
				dst = append(dst, w)
			}
		}
	}
	if groups > 1 {
		// Several prefixes match (say "/registry/" and "/registry/pods/"):
		// restore global registration order so delivery order never
		// depends on prefix lengths.
		slices.SortFunc(dst, func(a, b *watcher) int { return cmpUint(a.id, b.id) })
	}
	return dst
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// delivery is one queued callback: a live event for every matching watcher,
// or (only != nil) a replayed event for one new watcher.
type delivery struct {
	ev   store.Event
	only *watcher
}

// Watch implements store.Store. fromRev 0 means "from now"; a fromRev ahead
// of the current revision skips events up to it. Watching from exactly the
// compacted revision is allowed because every event after it is retained;
// anything older returns ErrCompacted.
//
// Replayed events are delivered before Watch returns unless another
// goroutine is delivering at that moment, in which case that goroutine
// delivers them, still ahead of any newer live event.
func (s *Store) Watch(prefix string, fromRev int64, fn func(store.Event)) (func(), error) {
	if fn == nil {
		return nil, fmt.Errorf("memstore: watch %s: nil callback", prefix)
	}
	if fromRev < 0 {
		return nil, fmt.Errorf("memstore: watch %s: negative revision %d", prefix, fromRev)
	}
	s.mu.Lock()
	if fromRev != 0 && fromRev < s.history.compacted {
		compacted := s.history.compacted
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %s: watch from %d, compacted at %d", store.ErrCompacted, prefix, fromRev, compacted)
	}
	s.nextWatchID++
	w := &watcher{id: s.nextWatchID, prefix: prefix, after: max(fromRev, s.rev), fn: fn}
	if fromRev != 0 {
		for _, ev := range s.history.since(fromRev) {
			if strings.HasPrefix(ev.Key, prefix) {
				if ev.Type == store.Deleted && ev.Object == nil {
					ev.Object = deletedObject(ev)
				}
				s.queue = append(s.queue, delivery{ev: ev, only: w})
			}
		}
	}
	s.watchers.add(w)
	s.deliverAndUnlock()
	return func() { s.cancel(w) }, nil
}

func (s *Store) cancel(w *watcher) {
	if w.cancelled.Swap(true) {
		return
	}
	s.mu.Lock()
	s.watchers.remove(w)
	s.mu.Unlock()
}

// Compact implements store.Store: it discards the history at and below rev
// (the current objects are kept). Compacting at or below an earlier
// compaction is a no-op; compacting past the current revision is an error.
func (s *Store) Compact(rev int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev > s.rev {
		return fmt.Errorf("memstore: compact %d: beyond current revision %d", rev, s.rev)
	}
	s.history.compact(rev)
	return nil
}

// CompactedRevision is the newest revision whose history is gone, through
// Compact or the history limit. Watches from below it fail.
func (s *Store) CompactedRevision() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.history.compacted
}

// commitAndUnlock records ev in the history, queues it for the watchers and
// delivers. Called with s.mu held; returns with it released.
func (s *Store) commitAndUnlock(ev store.Event) {
	if ev.Type == store.Deleted {
		// The history keeps a deletion without its Object, the last value
		// stamped with the deletion's revision: a replay rebuilds it from
		// PrevObject (deletedObject). Kept, it doubled the memory of every
		// deleted object still in the history (a simulated hour ends by
		// expiring 96,000 Events at once).
		h := ev
		h.Object = nil
		s.history.append(h)
	} else {
		s.history.append(ev)
	}
	s.history.trim(s.historyLimit)
	if len(s.watchers.lens) > 0 {
		s.queue = append(s.queue, delivery{ev: ev})
	}
	s.deliverAndUnlock()
}

// deliverAndUnlock drains the delivery queue, calling each callback with the
// mutex released. Called with s.mu held; returns with it released.
//
// Only one caller drains at a time (the dispatching flag). A write made while
// another goroutine is draining, or from inside a callback, just queues its
// event for the drainer, so callbacks always see events in revision order
// and a callback can never deadlock the store.
func (s *Store) deliverAndUnlock() {
	if s.dispatching || s.qhead == len(s.queue) {
		s.mu.Unlock()
		return
	}
	s.dispatching = true
	locked, done := true, false
	defer func() {
		// Only reached without done if a callback panicked: reset so the
		// store stays usable by whoever recovers.
		if !done {
			if !locked {
				s.mu.Lock()
			}
			s.dispatching = false
			clear(s.queue)
			s.queue, s.qhead = s.queue[:0], 0
			s.mu.Unlock()
		}
	}()
	for s.qhead < len(s.queue) {
		d := s.queue[s.qhead]
		s.queue[s.qhead] = delivery{}
		s.qhead++
		targets := s.scratch[:0]
		if d.only != nil {
			targets = append(targets, d.only)
		} else {
			targets = s.watchers.match(d.ev.Key, d.ev.Revision, targets)
		}
		s.mu.Unlock()
		locked = false
		for _, w := range targets {
			if !w.cancelled.Load() {
				w.fn(d.ev)
			}
		}
		clear(targets)
		s.mu.Lock()
		locked = true
		s.scratch = targets[:0]
	}
	s.queue, s.qhead = s.queue[:0], 0
	s.dispatching = false
	done = true
	s.mu.Unlock()
}

// deletedObject is a Deleted event's Object as Delete made it: the last
// value (PrevObject) with the deletion's revision.
func deletedObject(ev store.Event) runtime.Object {
	obj, err := withRevision(ev.PrevObject, strconv.FormatInt(ev.Revision, 10))
	if err != nil {
		// Delete made the same copy of the same object without error.
		panic(fmt.Sprintf("memstore: replay of deletion %s: %v", ev.Key, err))
	}
	return obj
}
