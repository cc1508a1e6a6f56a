// Package etcdstore implements drydock's store port (core/store.Store) over
// etcd v3: one etcd revision per write, compare-and-swap on a key's
// mod_revision, ordered watches from any revision etcd still holds. It also
// starts a single-member embedded etcd (StartEmbedded) for `drydock server`
// and dials external clusters (Dial).
//
// Storage keys are Config.Prefix followed by the store key, so several
// clusters (or test cases) can share one etcd under different prefixes;
// under a non-empty Prefix store keys must start with "/".
// Values are Kubernetes' protobuf storage encoding (see codec.go).
//
// Watch callbacks run on one goroutine per watch, not on the writer's
// goroutine: the store is asynchronous in the sense of the storetest suite.
//
// Wiring, as `drydock server` does it:
//
//	e, err := etcdstore.StartEmbedded(dataDir) // or cli, err := etcdstore.Dial(endpoints, tlsCfg)
//	st, err := etcdstore.New(etcdstore.Config{Client: e.Client(), Prefix: "/drydock"})
//	srv, err := apiserver.New(apiserver.Config{Store: st, Clock: loop, Rand: rnd})
//	...
//	srv.Close(); st.Close(); e.Close()
package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/drydock-sim/drydock/core/store"
)

// Config configures a Store.
type Config struct {
	// Client is the etcd client. The Store does not close it.
	Client *clientv3.Client
	// Prefix namespaces every key: the etcd key of store key k is Prefix+k
	// (for example "/drydock" gives "/drydock/registry/pods/default/web").
	// A trailing "/" is dropped. Empty means keys are stored as they are.
	Prefix string
	// RequestTimeout bounds each etcd request (default 30s). The Store
	// interface has no context, so this is the only deadline.
	RequestTimeout time.Duration
	// ListPageSize is how many keys one List range request fetches; a List
	// reads all its pages at one revision (default 5000).
	ListPageSize int64
	// OnWatchError is told when a watch stops for good for a reason the
	// Store interface cannot report to its callback: etcd compacted history
	// the watch had not yet read (a compaction by someone other than this
	// Store, whose own Compact waits for its watches), or a value that
	// cannot be decoded. The watch delivers nothing after that. Default:
	// log it.
	OnWatchError func(prefix string, err error)
}

// Store is a store.Store over etcd. It is safe for concurrent use.
type Store struct {
	cli     *clientv3.Client
	prefix  string
	timeout time.Duration
	page    int64
	onErr   func(string, error)
	codec   *codec

	// lastRev is the newest revision seen in any response header; Revision
	// falls back to it when etcd cannot be reached.
	lastRev atomic.Int64

	// compactMu keeps Compact out while a Watch checks its start revision
	// and registers with etcd, so a watch that Watch accepted was registered
	// on the server before any compaction that could remove its history.
	compactMu sync.RWMutex

	mu      sync.Mutex
	watches map[*watch]struct{}
	closed  bool
	// progressCh is closed and replaced whenever a watch's progress rises.
	progressCh chan struct{}
	compacting atomic.Bool // a Compact is waiting for progress
	watchIDs   atomic.Uint64
}

var _ store.Store = (*Store)(nil)

// New returns a Store over cfg.Client.
func New(cfg Config) (*Store, error) {
	if cfg.Client == nil {
		return nil, errors.New("etcdstore: Config.Client is nil")
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.ListPageSize <= 0 {
		cfg.ListPageSize = 5000
	}
	if cfg.OnWatchError == nil {
		cfg.OnWatchError = func(prefix string, err error) {
			log.Printf("etcdstore: watch %s stopped: %v", prefix, err)
		}
	}
	return &Store{
		cli:        cfg.Client,
		prefix:     strings.TrimSuffix(cfg.Prefix, "/"),
		timeout:    cfg.RequestTimeout,
		page:       cfg.ListPageSize,
		onErr:      cfg.OnWatchError,
		codec:      newCodec(),
		watches:    map[*watch]struct{}{},
		progressCh: make(chan struct{}),
	}, nil
}

// Close cancels every watch still open. It does not close the client.
func (s *Store) Close() {
	s.mu.Lock()
	s.closed = true
	ws := make([]*watch, 0, len(s.watches))
	for w := range s.watches {
		ws = append(ws, w)
	}
	s.mu.Unlock()
	for _, w := range ws {
		w.stop()
	}
}

// rangeKey is the etcd key prefix of the store prefix p. Under a non-empty
// Prefix, "" becomes Prefix+"/" so that "/a" never reaches into "/ab".
func (s *Store) rangeKey(p string) string {
	if s.prefix != "" && p == "" {
		return s.prefix + "/"
	}
	return s.prefix + p
}

func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.cli.Ctx(), s.timeout)
}

// seen records a response header's revision.
func (s *Store) seen(rev int64) {
	for {
		cur := s.lastRev.Load()
		if rev <= cur || s.lastRev.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// Create implements store.Store: a transaction that puts the value only if
// the key's create_revision is 0 (the key does not exist).
func (s *Store) Create(key string, obj runtime.Object) (int64, error) {
	if s.prefix != "" && !strings.HasPrefix(key, "/") {
		return 0, fmt.Errorf("etcdstore: create %s: keys must start with / under prefix %s", key, s.prefix)
	}
	val, err := s.codec.encode(obj)
	if err != nil {
		return 0, fmt.Errorf("etcdstore: create %s: %w", key, err)
	}
	k := s.prefix + key
	ctx, cancel := s.ctx()
	defer cancel()
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, string(val))).
		Commit()
	if err != nil {
		return 0, fmt.Errorf("etcdstore: create %s: %w", key, err)
	}
	rev := resp.Header.Revision
	s.seen(rev)
	if !resp.Succeeded {
		return 0, fmt.Errorf("%w: %s", store.ErrExists, key)
	}
	setRV(obj, rev)
	return rev, nil
}

// Get implements store.Store.
func (s *Store) Get(key string) (runtime.Object, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	resp, err := s.cli.Get(ctx, s.prefix+key)
	if err != nil {
		return nil, fmt.Errorf("etcdstore: get %s: %w", key, err)
	}
	s.seen(resp.Header.Revision)
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("%w: %s", store.ErrNotFound, key)
	}
	kv := resp.Kvs[0]
	obj, err := s.codec.decode(kv.Value, kv.ModRevision)
	if err != nil {
		return nil, fmt.Errorf("etcdstore: get %s: decode: %w", key, err)
	}
	return obj, nil
}

// List implements store.Store. It reads in pages of ListPageSize keys, all at
// the revision of the first page, so the result is one consistent snapshot;
// if etcd compacts that revision midway, the List starts over.
func (s *Store) List(prefix string) ([]runtime.Object, int64, error) {
	for {
		objs, rev, err := s.list(prefix)
		if errors.Is(err, rpctypes.ErrCompacted) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("etcdstore: list %s: %w", prefix, err)
		}
		return objs, rev, nil
	}
}

func (s *Store) list(prefix string) ([]runtime.Object, int64, error) {
	full := s.rangeKey(prefix)
	end := clientv3.GetPrefixRangeEnd(full)
	if full == "" {
		full, end = "\x00", "\x00"
	}
	var (
		objs []runtime.Object
		rev  int64
		from = full
	)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(s.page)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		ctx, cancel := s.ctx()
		resp, err := s.cli.Get(ctx, from, opts...)
		cancel()
		if err != nil {
			return nil, 0, err
		}
		if rev == 0 {
			rev = resp.Header.Revision
			s.seen(rev)
			if objs == nil && resp.More {
				objs = make([]runtime.Object, 0, resp.Count)
			}
		}
		for _, kv := range resp.Kvs {
			obj, err := s.codec.decode(kv.Value, kv.ModRevision)
			if err != nil {
				return nil, 0, fmt.Errorf("decode %s: %w", strings.TrimPrefix(string(kv.Key), s.prefix), err)
			}
			objs = append(objs, obj)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return objs, rev, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// Update implements store.Store. With expectedRev the put is conditional on
// the key's mod_revision; without, on the key existing.
func (s *Store) Update(key string, obj runtime.Object, expectedRev int64) (int64, error) {
	val, err := s.codec.encode(obj)
	if err != nil {
		return 0, fmt.Errorf("etcdstore: update %s: %w", key, err)
	}
	k := s.prefix + key
	cond := clientv3.Compare(clientv3.CreateRevision(k), ">", 0)
	if expectedRev != 0 {
		cond = clientv3.Compare(clientv3.ModRevision(k), "=", expectedRev)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	resp, err := s.cli.Txn(ctx).If(cond).
		Then(clientv3.OpPut(k, string(val))).
		Else(clientv3.OpGet(k, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return 0, fmt.Errorf("etcdstore: update %s: %w", key, err)
	}
	rev := resp.Header.Revision
	s.seen(rev)
	if !resp.Succeeded {
		return 0, s.condError(key, expectedRev, resp)
	}
	setRV(obj, rev)
	return rev, nil
}

// condError explains a failed conditional write from the Else branch's get.
func (s *Store) condError(key string, expectedRev int64, resp *clientv3.TxnResponse) error {
	var kvs []*mvccpb.KeyValue
	if len(resp.Responses) > 0 {
		if r := resp.Responses[0].GetResponseRange(); r != nil {
			kvs = r.Kvs
		}
	}
	if len(kvs) == 0 {
		return fmt.Errorf("%w: %s", store.ErrNotFound, key)
	}
	return fmt.Errorf("%w: %s: expected revision %d, have %d", store.ErrConflict, key, expectedRev, kvs[0].ModRevision)
}

// Delete implements store.Store.
func (s *Store) Delete(key string, expectedRev int64) (runtime.Object, int64, error) {
	k := s.prefix + key
	cond := clientv3.Compare(clientv3.CreateRevision(k), ">", 0)
	if expectedRev != 0 {
		cond = clientv3.Compare(clientv3.ModRevision(k), "=", expectedRev)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	resp, err := s.cli.Txn(ctx).If(cond).
		Then(clientv3.OpDelete(k, clientv3.WithPrevKV())).
		Else(clientv3.OpGet(k, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return nil, 0, fmt.Errorf("etcdstore: delete %s: %w", key, err)
	}
	rev := resp.Header.Revision
	s.seen(rev)
	if !resp.Succeeded {
		return nil, 0, s.condError(key, expectedRev, resp)
	}
	dr := resp.Responses[0].GetResponseDeleteRange()
	if dr == nil || len(dr.PrevKvs) == 0 {
		// Cannot happen: the condition held inside the transaction.
		return nil, 0, fmt.Errorf("etcdstore: delete %s: etcd returned no previous value", key)
	}
	obj, err := s.codec.decode(dr.PrevKvs[0].Value, rev)
	if err != nil {
		return nil, 0, fmt.Errorf("etcdstore: delete %s: decode: %w", key, err)
	}
	return obj, rev, nil
}

// currentRevision asks etcd for its revision (a linearizable read).
func (s *Store) currentRevision() (int64, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	resp, err := s.cli.Get(ctx, s.prefix+"/", clientv3.WithCountOnly())
	if err != nil {
		return 0, err
	}
	s.seen(resp.Header.Revision)
	return resp.Header.Revision, nil
}

// Revision implements store.Store: etcd's current revision from a
// response header. If etcd cannot be reached it returns the newest revision
// this Store has seen.
func (s *Store) Revision() int64 {
	rev, err := s.currentRevision()
	if err != nil {
		log.Printf("etcdstore: revision: %v (using the last one seen)", err)
		return s.lastRev.Load()
	}
	return rev
}

// Compact implements store.Store by compacting etcd at rev. etcd keeps,
// for every key, its newest revision at or below the compaction revision,
// which is exactly the previous value the first event after rev needs
// (PrevObject, and the Object of a deletion); compacting at rev+1 would lose
// it. etcd itself would then still accept a watch from rev-1 (it refuses
// only start revisions below rev), so Watch checks the history with a read
// at fromRev, which etcd refuses exactly when fromRev < rev.
//
// Watches open on this Store keep every event, as they do over memstore:
// Compact first waits until each has delivered everything through rev (a
// watch still reading history, or whose callback is slow, would otherwise
// be cut off by etcd), and fails if one has not within RequestTimeout.
// Compaction by anyone else (another Store, etcdctl, etcd's own compactor)
// can still cut a lagging watch off; that is reported to OnWatchError.
func (s *Store) Compact(rev int64) error {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	cur, err := s.currentRevision()
	if err != nil {
		return fmt.Errorf("etcdstore: compact %d: %w", rev, err)
	}
	if rev > cur {
		return fmt.Errorf("etcdstore: compact %d: beyond current revision %d", rev, cur)
	}
	if rev <= 0 {
		return nil
	}
	if err := s.waitWatches(rev); err != nil {
		return fmt.Errorf("etcdstore: compact %d: %w", rev, err)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if _, err := s.cli.Compact(ctx, rev); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return fmt.Errorf("etcdstore: compact %d: %w", rev, err)
	}
	return nil
}
