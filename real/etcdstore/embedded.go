package etcdstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Embedded is a single-member etcd running inside this process, serving
// plain gRPC on loopback, with a client connected to it.
type Embedded struct {
	etcd     *embed.Etcd
	client   *clientv3.Client
	endpoint string
	dir      string
	closing  *atomic.Bool
}

type embedOptions struct {
	clientPort, peerPort int
	logLevel             string
	noFsync              bool
	quotaBytes           int64
	startTimeout         time.Duration
}

// Option configures StartEmbedded.
type Option func(*embedOptions)

// WithClientPort makes etcd serve clients on 127.0.0.1:port (default 0: a
// free port chosen at start; see Endpoints).
func WithClientPort(port int) Option { return func(o *embedOptions) { o.clientPort = port } }

// WithPeerPort makes etcd listen for peers on 127.0.0.1:port (default 0: a
// free port). A single member has no peers, but etcd always listens.
func WithPeerPort(port int) Option { return func(o *embedOptions) { o.peerPort = port } }

// WithLogLevel sets etcd's log level: debug, info, warn, error (default),
// panic or fatal.
func WithLogLevel(level string) Option { return func(o *embedOptions) { o.logLevel = level } }

// WithUnsafeNoFsync disables fsync (etcd's --unsafe-no-fsync): data written
// just before a machine crash can be lost. For tests and benchmarks only.
func WithUnsafeNoFsync() Option { return func(o *embedOptions) { o.noFsync = true } }

// WithQuotaBackendBytes sets etcd's backend size quota (default etcd's 2 GiB).
func WithQuotaBackendBytes(n int64) Option { return func(o *embedOptions) { o.quotaBytes = n } }

// WithStartTimeout bounds how long StartEmbedded waits for etcd to be ready
// (default 60s).
func WithStartTimeout(d time.Duration) Option { return func(o *embedOptions) { o.startTimeout = d } }

// StartEmbedded starts a single-member etcd with its data in dir (created if
// missing; an existing data dir is reopened with its data and revision) and
// connects a client to it.
//
// Metrics: etcd registers its collectors in Prometheus' default registry
// when its packages are initialised; it serves them on its client port at
// /metrics. drydock's own metrics must use their own prometheus.Registry, so
// nothing else registers there and etcd's collectors never collide.
func StartEmbedded(dir string, opts ...Option) (*Embedded, error) {
	o := embedOptions{logLevel: "error", startTimeout: 60 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if dir == "" {
		return nil, errors.New("etcdstore: embedded etcd: empty data dir")
	}
	lvl, err := zapcore.ParseLevel(o.logLevel)
	if err != nil {
		return nil, fmt.Errorf("etcdstore: embedded etcd log level %q: %w", o.logLevel, err)
	}
	closing := &atomic.Bool{}
	var e *embed.Etcd
	// A free port found by pickPort can be taken by someone else before
	// etcd binds it: try again with new ones.
	for attempt := 1; ; attempt++ {
		e, err = startEtcd(dir, o, lvl, closing)
		random := o.clientPort == 0 || o.peerPort == 0
		if err == nil || !random || attempt == 3 || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("etcdstore: start embedded etcd in %s: %w", dir, err)
	}
	timer := time.NewTimer(o.startTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		closing.Store(true)
		e.Close()
		return nil, fmt.Errorf("etcdstore: embedded etcd in %s: %w", dir, err)
	case <-timer.C:
		closing.Store(true)
		e.Close()
		return nil, fmt.Errorf("etcdstore: embedded etcd in %s: not ready after %v", dir, o.startTimeout)
	}
	endpoint := e.Clients[0].Addr().String()
	cli, err := Dial([]string{endpoint}, nil)
	if err != nil {
		e.Close()
		return nil, err
	}
	return &Embedded{etcd: e, client: cli, endpoint: endpoint, dir: dir, closing: closing}, nil
}

// startEtcd starts etcd on the configured or fresh free ports.
func startEtcd(dir string, o embedOptions, lvl zapcore.Level, closing *atomic.Bool) (*embed.Etcd, error) {
	clientPort, err := pickPort(o.clientPort)
	if err != nil {
		return nil, fmt.Errorf("client port: %w", err)
	}
	peerPort, err := pickPort(o.peerPort)
	if err != nil {
		return nil, fmt.Errorf("peer port: %w", err)
	}
	clientURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPort))}
	peerURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(peerPort))}

	cfg := embed.NewConfig()
	cfg.Name = "drydock"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.InitialClusterToken = "drydock"
	cfg.Logger = "zap"
	cfg.LogLevel = o.logLevel
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(newEtcdLogger(lvl, closing))
	cfg.UnsafeNoFsync = o.noFsync
	if o.quotaBytes > 0 {
		cfg.QuotaBackendBytes = o.quotaBytes
	}
	// Compaction is the store user's business (store.Store.Compact): etcd's
	// own periodic compactor stays off, as in kube-apiserver setups.
	cfg.AutoCompactionRetention = "0"
	return embed.StartEtcd(cfg)
}

// pickPort returns port, or a free loopback port if it is 0. etcd needs the
// port before it starts (it advertises it), so a free one is found by
// binding and releasing it.
func pickPort(port int) (int, error) {
	if port != 0 {
		return port, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Client is the client connected to the embedded etcd; Close closes it.
func (e *Embedded) Client() *clientv3.Client { return e.client }

// Endpoints are the client URLs' host:port pairs.
func (e *Embedded) Endpoints() []string { return []string{e.endpoint} }

// Dir is the data directory.
func (e *Embedded) Dir() string { return e.dir }

// Close closes the client and stops etcd, waiting until it has released the
// data dir and its ports.
func (e *Embedded) Close() error {
	err := e.client.Close()
	e.closing.Store(true)
	e.etcd.Close()
	<-e.etcd.Server.StopNotify()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// dialCheckTimeout bounds Dial's first request (a variable for tests).
var dialCheckTimeout = 10 * time.Second

// Dial connects to etcd at endpoints (host:port or URLs), over TLS when
// tlsCfg is not nil, and checks that it answers within 10 seconds.
func Dial(endpoints []string, tlsCfg *tls.Config) (*clientv3.Client, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("etcdstore: dial: no endpoints")
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		TLS:         tlsCfg,
		DialTimeout: 10 * time.Second,
		Logger:      quietLogger(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcdstore: dial %v: %w", endpoints, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialCheckTimeout)
	defer cancel()
	if _, err := cli.Get(ctx, "/", clientv3.WithCountOnly()); err != nil {
		cli.Close()
		return nil, fmt.Errorf("etcdstore: dial %v: etcd does not answer: %w", endpoints, err)
	}
	return cli, nil
}

// newEtcdLogger logs etcd's messages at lvl and above to stderr, and
// nothing once closing is set: a clean shutdown makes etcd log its closed
// listeners ("http: Server closed", "use of closed network connection") as
// errors.
func newEtcdLogger(lvl zapcore.Level, closing *atomic.Bool) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	core := zapcore.NewCore(enc, zapcore.Lock(os.Stderr), lvl)
	return zap.New(&closingCore{Core: core, closing: closing})
}

type closingCore struct {
	zapcore.Core
	closing *atomic.Bool
}

func (c *closingCore) With(fields []zapcore.Field) zapcore.Core {
	return &closingCore{Core: c.Core.With(fields), closing: c.closing}
}

func (c *closingCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.closing.Load() {
		return ce
	}
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

// quietLogger logs the etcd client's errors only.
func quietLogger() *zap.Logger {
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(zapcore.ErrorLevel)
	cfg.Sampling = nil
	l, err := cfg.Build()
	if err != nil {
		return zap.NewNop()
	}
	return l
}
