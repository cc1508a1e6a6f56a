package etcdstore

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// One embedded etcd serves the whole test binary; each test gets its own key
// prefix. Tests that compact, or depend on "every write advances the revision
// by one", must not run in parallel with others (none uses t.Parallel).
var (
	testEtcd   *Embedded
	testPrefix atomic.Int64
	closers    []func() // run by TestMain after the tests (benchmark etcds)
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "drydock-etcdstore-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEtcd, err = StartEmbedded(dir, WithUnsafeNoFsync())
	if err != nil {
		os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	for _, c := range closers {
		c()
	}
	if err := testEtcd.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close embedded etcd:", err)
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// newTestStore returns a Store over the shared etcd under a fresh prefix,
// closed when the test ends.
func newTestStore(t testing.TB) *Store {
	t.Helper()
	return newTestStoreWith(t, testEtcd.Client(), nil)
}

func newTestStoreWith(t testing.TB, cli *clientv3.Client, onErr func(string, error)) *Store {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	s, err := New(Config{
		Client:       cli,
		Prefix:       fmt.Sprintf("/drydock-test/%d-%s", testPrefix.Add(1), name),
		OnWatchError: onErr,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
