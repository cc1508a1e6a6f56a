package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"

	"github.com/drydock-sim/drydock/core/store"
)

// watch is one Store.Watch: an etcd watch and the goroutine that delivers its
// events to fn in revision order.
type watch struct {
	s      *Store
	prefix string // store-level prefix, for errors
	key    string // etcd key prefix
	fn     func(store.Event)

	// mu is held while fn runs; stopped (guarded by mu) tells the delivery
	// goroutine to call fn no more. Taking mu in stop is what guarantees
	// that no call is in progress or to come once cancel returns.
	mu      sync.Mutex
	stopped bool

	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
	done   chan struct{}

	// progress is the newest revision through which every event has been
	// delivered (or none exist): raised by events and by etcd's progress
	// notifications. Compact waits for it. dead is set once the watch will
	// deliver nothing more.
	progress atomic.Int64
	dead     atomic.Bool
}

// Watch implements store.Store. fromRev 0 means "from now": the etcd watch
// starts after the revision etcd reports at the call, so every write that
// completes after Watch returns is delivered, none from before it. Otherwise
// the etcd watch starts at fromRev+1. Watch returns once etcd has confirmed
// the watch; events (including those already in history) arrive on the
// watch's own goroutine. cancel waits for a callback in progress to return
// and must therefore not be called from inside fn (fn must not call back
// into the store anyway).
func (s *Store) Watch(prefix string, fromRev int64, fn func(store.Event)) (func(), error) {
	if fn == nil {
		return nil, fmt.Errorf("etcdstore: watch %s: nil callback", prefix)
	}
	if fromRev < 0 {
		return nil, fmt.Errorf("etcdstore: watch %s: negative revision %d", prefix, fromRev)
	}
	s.compactMu.RLock()
	defer s.compactMu.RUnlock()
	var start int64
	if fromRev == 0 {
		cur, err := s.currentRevision()
		if err != nil {
			return nil, fmt.Errorf("etcdstore: watch %s: %w", prefix, err)
		}
		start = cur + 1
	} else {
		if err := s.checkHistory(prefix, fromRev); err != nil {
			return nil, err
		}
		start = fromRev + 1
	}

	// Each watch has its own gRPC stream (the client groups watches by
	// their context's metadata), so that a progress request reaches just
	// this watch, and etcd answers it as soon as this watch is in sync.
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(s.cli.Ctx(),
		"drydock-watch", strconv.FormatUint(s.watchIDs.Add(1), 10)))
	w := &watch{s: s, prefix: prefix, key: s.rangeKey(prefix), fn: fn, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	wch, stopStream := s.open(w, start, true)
	// Wait for etcd to confirm: from then on the server holds the watcher,
	// and this Store's Compact waits for it to catch up (see Compact).
	wait, waitCancel := s.ctx()
	defer waitCancel()
	select {
	case resp, ok := <-wch:
		switch {
		case !ok:
			cancel()
			return nil, fmt.Errorf("etcdstore: watch %s: closed before etcd confirmed it", prefix)
		case resp.CompactRevision != 0:
			cancel()
			return nil, fmt.Errorf("%w: %s: watch from %d, etcd compacted at %d", store.ErrCompacted, prefix, fromRev, resp.CompactRevision)
		case resp.Err() != nil:
			cancel()
			return nil, fmt.Errorf("etcdstore: watch %s: %w", prefix, resp.Err())
		case !resp.Created:
			// The client sends the creation notice first; anything else
			// means the protocol changed under us.
			cancel()
			return nil, fmt.Errorf("etcdstore: watch %s: first response is not a creation notice", prefix)
		}
	case <-wait.Done():
		cancel()
		return nil, fmt.Errorf("etcdstore: watch %s: waiting for etcd: %w", prefix, wait.Err())
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return nil, fmt.Errorf("etcdstore: watch %s: store closed", prefix)
	}
	w.progress.Store(start - 1)
	s.watches[w] = struct{}{}
	s.mu.Unlock()
	go w.run(wch, stopStream, start)
	return w.stop, nil
}

// checkHistory returns ErrCompacted if etcd was compacted beyond fromRev: a
// read at fromRev fails exactly then (see Compact). A read in the future
// means there is nothing to miss.
func (s *Store) checkHistory(prefix string, fromRev int64) error {
	ctx, cancel := s.ctx()
	defer cancel()
	_, err := s.cli.Get(ctx, s.rangeKey(prefix), clientv3.WithRev(fromRev), clientv3.WithCountOnly())
	switch {
	case err == nil, errors.Is(err, rpctypes.ErrFutureRev):
		return nil
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("%w: %s: watch from %d", store.ErrCompacted, prefix, fromRev)
	default:
		return fmt.Errorf("etcdstore: watch %s: %w", prefix, err)
	}
}

// open starts an etcd watch from start under its own context, so that a
// reopened watch never runs alongside the one it replaces.
func (s *Store) open(w *watch, start int64, notify bool) (clientv3.WatchChan, context.CancelFunc) {
	ctx, cancel := context.WithCancel(w.ctx)
	opts := []clientv3.OpOption{clientv3.WithRev(start), clientv3.WithPrevKV()}
	if notify {
		opts = append(opts, clientv3.WithCreatedNotify())
	}
	if w.key == "" {
		return s.cli.Watch(ctx, "\x00", append(opts, clientv3.WithFromKey())...), cancel
	}
	return s.cli.Watch(ctx, w.key, append(opts, clientv3.WithPrefix())...), cancel
}

// stop is the cancel function Watch returns.
func (w *watch) stop() {
	w.once.Do(func() {
		w.dead.Store(true)
		w.mu.Lock()
		w.stopped = true
		w.mu.Unlock()
		w.cancel()
		<-w.done
		w.s.mu.Lock()
		delete(w.s.watches, w)
		w.s.mu.Unlock()
	})
}

// run delivers events until the watch is cancelled or fails for good. The
// etcd client resumes a broken stream by itself; if etcd cancels the watch
// (for example on a leader change with no quorum), run opens it again from
// the revision after the last event delivered.
func (w *watch) run(wch clientv3.WatchChan, stopStream context.CancelFunc, next int64) {
	defer close(w.done)
	defer func() { stopStream() }()
	defer w.dead.Store(true)
	backoff := 50 * time.Millisecond
	for {
		for resp := range wch {
			if resp.CompactRevision != 0 {
				w.fail(fmt.Errorf("%w: %s: etcd compacted at %d before the watch read revision %d",
					store.ErrCompacted, w.prefix, resp.CompactRevision, next))
				return
			}
			if resp.Canceled || resp.Err() != nil {
				break
			}
			if resp.IsProgressNotify() {
				w.progressed(resp.Header.Revision)
				continue
			}
			for _, ev := range resp.Events {
				e, err := w.s.event(ev)
				if err != nil {
					w.fail(err)
					return
				}
				if !w.deliver(e) {
					return
				}
				next = e.Revision + 1
				backoff = 50 * time.Millisecond
				w.progressed(e.Revision)
			}
		}
		if w.ctx.Err() != nil {
			return
		}
		select {
		case <-w.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
		stopStream()
		wch, stopStream = w.s.open(w, next, false)
	}
}

// progressed records that everything through rev was delivered.
func (w *watch) progressed(rev int64) {
	for {
		cur := w.progress.Load()
		if rev <= cur {
			return
		}
		if w.progress.CompareAndSwap(cur, rev) {
			break
		}
	}
	if w.s.compacting.Load() {
		w.s.mu.Lock()
		close(w.s.progressCh)
		w.s.progressCh = make(chan struct{})
		w.s.mu.Unlock()
	}
}

// waitWatches waits until every open watch has delivered everything
// through rev, asking etcd for progress notifications for the quiet ones,
// so that compacting at rev takes no event from a watch that is behind.
func (s *Store) waitWatches(rev int64) error {
	s.compacting.Store(true) // Compact holds compactMu: one waiter at a time
	defer s.compacting.Store(false)
	deadline := time.NewTimer(s.timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		var lagging []*watch
		for w := range s.watches {
			if !w.dead.Load() && w.progress.Load() < rev {
				lagging = append(lagging, w)
			}
		}
		ch := s.progressCh
		s.mu.Unlock()
		if len(lagging) == 0 {
			return nil
		}
		for _, w := range lagging {
			// An error means the watch is going away; the next round
			// sees it dead.
			_ = s.cli.RequestProgress(w.ctx)
		}
		select {
		case <-ch:
		case <-time.After(100 * time.Millisecond): // ask again: etcd answers only when the watch is in sync
		case <-deadline.C:
			return fmt.Errorf("%d watches (%s first) have not delivered revision %d after %v",
				len(lagging), lagging[0].prefix, rev, s.timeout)
		}
	}
}

// deliver calls fn unless the watch was stopped; false means stopped.
func (w *watch) deliver(ev store.Event) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return false
	}
	w.fn(ev)
	return true
}

func (w *watch) fail(err error) {
	w.mu.Lock()
	stopped := w.stopped
	w.mu.Unlock()
	if !stopped {
		w.s.onErr(w.prefix, err)
	}
}

// event converts an etcd watch event.
func (s *Store) event(ev *clientv3.Event) (store.Event, error) {
	key := strings.TrimPrefix(string(ev.Kv.Key), s.prefix)
	rev := ev.Kv.ModRevision
	out := store.Event{Key: key, Revision: rev}
	switch ev.Type {
	case mvccpb.PUT:
		obj, err := s.codec.decode(ev.Kv.Value, rev)
		if err != nil {
			return out, fmt.Errorf("etcdstore: watch event %s@%d: decode: %w", key, rev, err)
		}
		out.Object = obj
		if ev.IsCreate() {
			out.Type = store.Added
			return out, nil
		}
		out.Type = store.Modified
		if ev.PrevKv == nil {
			// etcd no longer has the previous value (compacted by someone
			// else): deliver without it rather than stop the watch.
			return out, nil
		}
		prev, err := s.codec.decode(ev.PrevKv.Value, ev.PrevKv.ModRevision)
		if err != nil {
			return out, fmt.Errorf("etcdstore: watch event %s@%d: decode previous value: %w", key, rev, err)
		}
		out.PrevObject = prev
		return out, nil
	default: // mvccpb.DELETE
		if ev.PrevKv == nil {
			return out, fmt.Errorf("etcdstore: watch event %s@%d: deletion without the deleted value (history compacted)", key, rev)
		}
		out.Type = store.Deleted
		obj, err := s.codec.decode(ev.PrevKv.Value, rev)
		if err != nil {
			return out, fmt.Errorf("etcdstore: watch event %s@%d: decode deleted value: %w", key, rev, err)
		}
		prev, err := s.codec.decode(ev.PrevKv.Value, ev.PrevKv.ModRevision)
		if err != nil {
			return out, err
		}
		out.Object, out.PrevObject = obj, prev
		return out, nil
	}
}
