// Package server assembles `drydock server`: etcd (embedded or external),
// the API server over it, its PKI, admin kubeconfig and bootstrap tokens,
// the HTTPS front with authentication and authorisation, and the control
// plane (scheduler and controllers) on a real/loop over the in-process
// client.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/drydock-sim/drydock/core/apiserver"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/controllers/nodeipam"
	"github.com/drydock-sim/drydock/core/controlplane"
	"github.com/drydock-sim/drydock/core/rng"
	"github.com/drydock-sim/drydock/real/apihttp"
	"github.com/drydock-sim/drydock/real/apihttp/discovery"
	"github.com/drydock-sim/drydock/real/apihttp/tables"
	"github.com/drydock-sim/drydock/real/auth"
	"github.com/drydock-sim/drydock/real/etcdstore"
	"github.com/drydock-sim/drydock/real/hostinfo"
	"github.com/drydock-sim/drydock/real/loop"
)

// Defaults, as kube-apiserver and kube-controller-manager have them.
const (
	DefaultDataDir     = "/var/lib/drydock/server"
	DefaultSecurePort  = 6443
	DefaultServiceCIDR = "10.96.0.0/12"
	DefaultClusterCIDR = "10.244.0.0/16"
	// DefaultCompactionInterval is kube-apiserver's --etcd-compaction-interval.
	DefaultCompactionInterval = 5 * time.Minute
	// AdminKubeconfigFile is the admin kubeconfig's name in the data dir.
	AdminKubeconfigFile = "admin.kubeconfig"
	// PKIDir is the PKI directory's name in the data dir.
	PKIDir = "pki"
)

// Config is what `drydock server` is told.
type Config struct {
	// DataDir holds etcd's data (when embedded), the PKI, the bootstrap
	// token file and the admin kubeconfig (created 0700).
	DataDir string
	// EtcdEndpoints: an external etcd cluster; empty runs etcd embedded in
	// DataDir/etcd.
	EtcdEndpoints []string
	// EtcdCAFile, EtcdCertFile, EtcdKeyFile: TLS towards external etcd.
	EtcdCAFile, EtcdCertFile, EtcdKeyFile string
	// EtcdPrefix prefixes every key in external etcd (default "/drydock").
	EtcdPrefix string
	// BindAddress and SecurePort: where HTTPS is served (default 0.0.0.0:6443;
	// port 0 picks a free one, see Server.SecureAddr).
	BindAddress string
	SecurePort  int
	// InsecurePort, if non-zero, also serves plain HTTP without
	// authentication, on 127.0.0.1 only (-1: a free port, for tests).
	InsecurePort int
	// AdvertiseAddress is the address nodes and kubeconfigs reach the
	// server at (default: the bind address if specific, else the address of
	// the default-route interface, else 127.0.0.1).
	AdvertiseAddress string
	// TLSSANs are extra names and addresses for the serving certificate
	// (the advertise address and this host's names are always included).
	TLSSANs []string
	// ServiceCIDR (default 10.96.0.0/12) and ClusterCIDR (pod CIDRs, default
	// 10.244.0.0/16, a /24 per node).
	ServiceCIDR string
	ClusterCIDR string
	// NodeMonitorPeriod and NodeMonitorGracePeriod are kube-controller-
	// manager's flags of the same names: how often node health is checked,
	// and how long a node may go without renewing its Lease before it is
	// NotReady (zero: Kubernetes' 5s and 40s).
	NodeMonitorPeriod      time.Duration
	NodeMonitorGracePeriod time.Duration
	// TerminatedPodGCThreshold is kube-controller-manager's
	// --terminated-pod-gc-threshold: how many terminated (Succeeded or
	// Failed) pods may exist before the pod garbage collector deletes the
	// oldest (nil: 12500; 0 or less: never by count; orphaned and
	// out-of-service pods are collected either way).
	TerminatedPodGCThreshold *int32
	// CompactionInterval: how often etcd history older than one interval
	// is compacted (default 5m; negative: never).
	CompactionInterval time.Duration
	// Seed seeds the API server's and scheduler's random streams (0: from
	// crypto/rand; logged either way).
	Seed uint64
	// Logger receives the server's logs (default: text to stderr).
	Logger *slog.Logger
	// LogRequests logs every API request at Info (default: Debug).
	LogRequests bool
	// EtcdUnsafeNoFsync is for tests only.
	EtcdUnsafeNoFsync bool
}

// Server is a running `drydock server`.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ready  chan struct{}
	mu     sync.Mutex
	secure net.Addr
	plain  net.Addr
	pki    *auth.ServerPKI
	token  string
	api    *apiserver.Server
	loop   *loop.Loop
	// watchFailed hears the first etcd watch that stopped for good.
	watchFailed chan error
}

// New checks cfg and fills defaults. Nothing starts before Run.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.BindAddress == "" {
		cfg.BindAddress = "0.0.0.0"
	}
	if net.ParseIP(cfg.BindAddress) == nil {
		return nil, fmt.Errorf("--bind-address %q is not an IP address", cfg.BindAddress)
	}
	if cfg.SecurePort < 0 || cfg.SecurePort > 65535 {
		return nil, fmt.Errorf("--secure-port %d is out of range", cfg.SecurePort)
	}
	if cfg.InsecurePort < -1 || cfg.InsecurePort > 65535 {
		return nil, fmt.Errorf("--insecure-port %d is out of range", cfg.InsecurePort)
	}
	if cfg.ServiceCIDR == "" {
		cfg.ServiceCIDR = DefaultServiceCIDR
	}
	if _, _, err := net.ParseCIDR(cfg.ServiceCIDR); err != nil {
		return nil, fmt.Errorf("--service-cluster-ip-range %q: %v", cfg.ServiceCIDR, err)
	}
	if cfg.ClusterCIDR == "" {
		cfg.ClusterCIDR = DefaultClusterCIDR
	}
	if _, err := nodeipam.ParseCIDRs("--cluster-cidr", cfg.ClusterCIDR); err != nil {
		return nil, err
	}
	if cfg.NodeMonitorPeriod < 0 {
		return nil, fmt.Errorf("--node-monitor-period %v: must not be negative", cfg.NodeMonitorPeriod)
	}
	if cfg.NodeMonitorGracePeriod < 0 {
		return nil, fmt.Errorf("--node-monitor-grace-period %v: must not be negative", cfg.NodeMonitorGracePeriod)
	}
	if cfg.AdvertiseAddress == "" {
		// As kube-apiserver and kubeadm: the bind address if specific,
		// else the address of the default-route interface.
		if ip := net.ParseIP(cfg.BindAddress); !ip.IsUnspecified() {
			cfg.AdvertiseAddress = cfg.BindAddress
		} else if ip, err := hostinfo.InternalIP(hostinfo.Options{}); err == nil {
			cfg.AdvertiseAddress = ip.String()
		} else {
			cfg.AdvertiseAddress = "127.0.0.1"
		}
	}
	if net.ParseIP(cfg.AdvertiseAddress) == nil {
		return nil, fmt.Errorf("--advertise-address %q is not an IP address", cfg.AdvertiseAddress)
	}
	if len(cfg.EtcdEndpoints) == 0 && (cfg.EtcdCAFile != "" || cfg.EtcdCertFile != "" || cfg.EtcdKeyFile != "") {
		return nil, errors.New("--etcd-cafile, --etcd-certfile and --etcd-keyfile need --etcd-servers")
	}
	if (cfg.EtcdCertFile == "") != (cfg.EtcdKeyFile == "") {
		return nil, errors.New("--etcd-certfile and --etcd-keyfile go together")
	}
	if cfg.EtcdPrefix == "" {
		cfg.EtcdPrefix = "/drydock"
	}
	if cfg.CompactionInterval == 0 {
		cfg.CompactionInterval = DefaultCompactionInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return &Server{cfg: cfg, log: cfg.Logger, ready: make(chan struct{}), watchFailed: make(chan error, 1)}, nil
}

// Ready is closed once the server serves requests.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// SecureAddr is the HTTPS listener's address (after Ready).
func (s *Server) SecureAddr() net.Addr { s.mu.Lock(); defer s.mu.Unlock(); return s.secure }

// InsecureAddr is the plain HTTP listener's address, if any (after Ready).
func (s *Server) InsecureAddr() net.Addr { s.mu.Lock(); defer s.mu.Unlock(); return s.plain }

// URL is the server URL nodes and kubeconfigs use (after Ready).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	port := s.cfg.SecurePort
	if s.secure != nil {
		port = s.secure.(*net.TCPAddr).Port
	}
	return "https://" + net.JoinHostPort(s.cfg.AdvertiseAddress, strconv.Itoa(port))
}

// AdminKubeconfig is the admin kubeconfig's path.
func (s *Server) AdminKubeconfig() string { return filepath.Join(s.cfg.DataDir, AdminKubeconfigFile) }

// CACertHash is the cluster CA's pin for `drydock node --ca-cert-hash`
// (after Ready).
func (s *Server) CACertHash() string { return s.pki.CA.Hash() }

// BootstrapToken is the token created on first start ("" on later starts).
func (s *Server) BootstrapToken() string { return s.token }

// API is the in-process API server (after Ready).
func (s *Server) API() *apiserver.Server { return s.api }

// Loop is the control plane's loop (after Ready).
func (s *Server) Loop() *loop.Loop { return s.loop }

// Run starts everything, serves until ctx ends, then shuts down in order.
// It returns an error if something failed to start or stopped on its own.
func (s *Server) Run(ctx context.Context) (err error) {
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	seed := s.cfg.Seed
	if seed == 0 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		seed = binary.LittleEndian.Uint64(b[:])
	}
	s.log.Info("starting drydock server", "dataDir", s.cfg.DataDir, "seed", seed)

	// Store.
	st, closeStore, err := s.openStore()
	if err != nil {
		return err
	}
	cleanups = append(cleanups, closeStore)

	// PKI, admin kubeconfig, first bootstrap token.
	sans := append([]string{s.cfg.AdvertiseAddress}, s.cfg.TLSSANs...)
	if ip := net.ParseIP(s.cfg.BindAddress); !ip.IsUnspecified() {
		sans = append(sans, s.cfg.BindAddress)
	}
	sans = append(sans, auth.DefaultServingHosts()...)
	pki, err := auth.LoadOrCreateServerPKI(filepath.Join(s.cfg.DataDir, PKIDir), auth.ServingOptions{Hosts: sans, ServiceCIDR: s.cfg.ServiceCIDR})
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	s.pki = pki
	tokens := auth.NewTokenStore(s.cfg.DataDir)
	if _, err := os.Stat(tokens.Path); errors.Is(err, os.ErrNotExist) {
		t, err := tokens.Create(auth.DefaultTokenTTL, "created by drydock server on first start")
		if err != nil {
			return fmt.Errorf("bootstrap token: %w", err)
		}
		s.token = t.String()
	}

	// API server.
	l := loop.New()
	l.OnPanic = func(p *loop.PanicError) {
		s.log.Error("control loop panic", "panic", fmt.Sprint(p.Value), "stack", string(p.Stack))
	}
	s.loop = l
	api, err := apiserver.New(apiserver.Config{Store: st, Clock: l, Rand: rng.Stream(seed, "apiserver"), ServiceCIDR: s.cfg.ServiceCIDR})
	if err != nil {
		return fmt.Errorf("api server: %w", err)
	}
	s.api = api
	cleanups = append(cleanups, api.Close)

	authn := auth.NewAuthenticator(auth.AuthenticatorConfig{ClientCAs: pki.CA.Pool(), Tokens: tokens})
	// NodePatchesAdmitted: apihttp applies NodeRestriction to node patches.
	authz, err := auth.NewAuthorizer(auth.AuthorizerConfig{Get: api.Get, NodePatchesAdmitted: true})
	if err != nil {
		return err
	}
	join, err := auth.NewJoinHandler(auth.JoinHandlerConfig{CA: pki.CA, KubeletServingCA: pki.KubeletServingCA, Authenticator: authn})
	if err != nil {
		return err
	}
	// The kubelet client checks that a kubelet's serving certificate is the
	// node's own (join issues them for any address a node asks for).
	kubeletClient := pki.KubeletHTTPClient()
	disc := discovery.Handler(discovery.Options{})
	logReq := s.logRequest
	// stopStreams ends open watches and followed logs at shutdown:
	// http.Server.Shutdown waits for handlers, and those never finish on
	// their own.
	stopStreams := make(chan struct{})
	secureHandler, err := apihttp.New(apihttp.Config{Server: api, Authenticator: authn, Authorizer: authz,
		KubeletClient: kubeletClient, Discovery: disc, Table: tables.Table,
		Extra: map[string]http.Handler{auth.JoinPath: join}, Log: logReq, Stop: stopStreams})
	if err != nil {
		return err
	}

	// Listeners.
	secureLn, err := net.Listen("tcp", net.JoinHostPort(s.cfg.BindAddress, strconv.Itoa(s.cfg.SecurePort)))
	if err != nil {
		return fmt.Errorf("listen on --bind-address/--secure-port: %w", err)
	}
	tlsLn := tls.NewListener(secureLn, pki.ServerTLSConfig())
	var plainLn net.Listener
	if s.cfg.InsecurePort != 0 {
		port := s.cfg.InsecurePort
		if port < 0 {
			port = 0
		}
		plainLn, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			secureLn.Close()
			return fmt.Errorf("listen on --insecure-port: %w", err)
		}
	}
	s.mu.Lock()
	s.secure = secureLn.Addr()
	if plainLn != nil {
		s.plain = plainLn.Addr()
	}
	s.mu.Unlock()

	// Admin kubeconfig, once the URL is known.
	if _, err := os.Stat(s.AdminKubeconfig()); errors.Is(err, os.ErrNotExist) {
		if err := auth.WriteAdminKubeconfig(s.AdminKubeconfig(), s.URL(), pki.CA, 0); err != nil {
			secureLn.Close()
			return fmt.Errorf("admin kubeconfig: %w", err)
		}
		s.log.Info("wrote admin kubeconfig", "path", s.AdminKubeconfig())
	}

	errc := make(chan error, 4)
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	srv := &http.Server{Handler: secureHandler, ErrorLog: errLog, ReadHeaderTimeout: 30 * time.Second}
	go func() { errc <- serveErr("https", srv.Serve(tlsLn)) }()
	servers := []*http.Server{srv}
	if plainLn != nil {
		plainHandler, err := apihttp.New(apihttp.Config{Server: api, KubeletClient: kubeletClient, Discovery: disc,
			Table: tables.Table, Log: logReq, Stop: stopStreams})
		if err != nil {
			return err
		}
		psrv := &http.Server{Handler: plainHandler, ErrorLog: errLog, ReadHeaderTimeout: 30 * time.Second}
		go func() { errc <- serveErr("http", psrv.Serve(plainLn)) }()
		servers = append(servers, psrv)
		s.log.Warn("serving plain HTTP without authentication on loopback", "addr", plainLn.Addr().String())
	}
	cleanups = append(cleanups, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		close(stopStreams)
		for _, hs := range servers {
			if err := hs.Shutdown(sctx); err != nil {
				hs.Close() // a handler still busy after the timeout: cut it
			}
		}
	})

	// Control plane on the loop.
	loopCtx, stopLoop := context.WithCancel(context.Background())
	go func() {
		if err := l.Run(loopCtx); err != nil && !errors.Is(err, context.Canceled) {
			errc <- fmt.Errorf("control loop: %w", err)
		}
	}()
	cleanups = append(cleanups, func() { stopLoop(); <-l.Done() })
	cp := controlplane.New(controlplane.Config{
		Client:      &client.Loopback{Server: api, Clock: l},
		Clock:       l,
		Rand:        rng.Stream(seed, "scheduler"),
		ClusterCIDR: s.cfg.ClusterCIDR,
		ServiceCIDR: s.cfg.ServiceCIDR,

		NodeMonitorPeriod:        s.cfg.NodeMonitorPeriod,
		NodeMonitorGracePeriod:   s.cfg.NodeMonitorGracePeriod,
		TerminatedPodGCThreshold: s.cfg.TerminatedPodGCThreshold,
		Log: func(component, msg string, kv ...any) {
			s.log.Info(msg, append([]any{"component", component}, kv...)...)
		},
		OnError: func(component string, err error) {
			// Conflicts and races with deletions are routine for
			// level-based controllers: they retry.
			lvl := slog.LevelWarn
			if apierrors.IsConflict(err) || apierrors.IsNotFound(err) || apierrors.IsAlreadyExists(err) {
				lvl = slog.LevelDebug
			}
			s.log.Log(context.Background(), lvl, "control plane", "component", component, "err", err)
		},
	})
	cpCtx, stopCP := context.WithCancel(ctx)
	defer stopCP()
	if err := l.Do(func() { cp.Start(cpCtx) }); err != nil {
		return fmt.Errorf("control plane: %w", err)
	}
	if s.cfg.CompactionInterval > 0 {
		go s.compact(cpCtx, st)
	}

	s.log.Info("drydock server is ready", "url", s.URL(), "secureAddr", secureLn.Addr().String(),
		"adminKubeconfig", s.AdminKubeconfig(), "caCertHash", pki.CA.Hash())
	if s.token != "" {
		s.log.Info("created a bootstrap token (valid 24h); join nodes with",
			"command", fmt.Sprintf("drydock-node --server %s --token %s --ca-cert-hash %s --name NODE", s.URL(), s.token, pki.CA.Hash()))
	}
	close(s.ready)

	select {
	case <-ctx.Done():
		s.log.Info("shutting down")
		return nil
	case err := <-errc:
		return err
	case err := <-s.watchFailed:
		return err
	}
}

// logRequest logs one served request: at Debug, at Info with
// --log-requests or for a 5xx answer, and at Error with the stack when the
// handler panicked.
func (s *Server) logRequest(r apihttp.RequestLog) {
	lvl := slog.LevelDebug
	if s.cfg.LogRequests || r.Code >= 500 {
		lvl = slog.LevelInfo
	}
	attrs := []any{"method", r.Method, "uri", r.URI, "user", r.User, "code", r.Code,
		"remote", r.RemoteAddr, "duration", r.Duration.Round(time.Microsecond)}
	if r.Panic != "" {
		lvl = slog.LevelError
		attrs = append(attrs, "panic", r.Panic)
	}
	s.log.Log(context.Background(), lvl, "request", attrs...)
}

func serveErr(what string, err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("%s server: %w", what, err)
}

// openStore connects etcd and returns the store and how to close it all.
func (s *Server) openStore() (*etcdstore.Store, func(), error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	var st *etcdstore.Store
	if len(s.cfg.EtcdEndpoints) == 0 {
		opts := []etcdstore.Option{}
		if s.cfg.EtcdUnsafeNoFsync {
			opts = append(opts, etcdstore.WithUnsafeNoFsync())
		}
		e, err := etcdstore.StartEmbedded(filepath.Join(s.cfg.DataDir, "etcd"), opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("embedded etcd: %w", err)
		}
		closers = append(closers, func() {
			if err := e.Close(); err != nil {
				s.log.Warn("closing embedded etcd", "err", err)
			}
		})
		st, err = etcdstore.New(etcdstore.Config{Client: e.Client(), OnWatchError: s.etcdWatchError})
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		s.log.Info("embedded etcd started", "dir", e.Dir(), "endpoints", e.Endpoints())
	} else {
		endpoints, tlsCfg, err := etcdClientConfig(s.cfg.EtcdEndpoints, s.cfg.EtcdCAFile, s.cfg.EtcdCertFile, s.cfg.EtcdKeyFile)
		if err != nil {
			return nil, nil, err
		}
		cli, err := etcdstore.Dial(endpoints, tlsCfg)
		if err != nil {
			return nil, nil, err
		}
		closers = append(closers, func() { cli.Close() })
		st, err = etcdstore.New(etcdstore.Config{Client: cli, Prefix: s.cfg.EtcdPrefix, OnWatchError: s.etcdWatchError})
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		s.log.Info("connected to etcd", "endpoints", endpoints, "prefix", s.cfg.EtcdPrefix)
	}
	closers = append(closers, st.Close)
	return st, closeAll, nil
}

// etcdWatchError hears an etcd watch that stopped for good (history
// compacted by someone else before the watch read it, an undecodable
// value). The API server keeps one store watch per resource and has no way
// to start it again, so every watch of that resource would stall without a
// word: the server stops with an error instead, for its supervisor to
// restart it.
func (s *Server) etcdWatchError(prefix string, err error) {
	s.log.Error("etcd watch stopped", "prefix", prefix, "err", err)
	select {
	case s.watchFailed <- fmt.Errorf("etcd watch of %s stopped: %w (the API server's watches of it cannot continue)", prefix, err):
	default:
	}
}

// etcdClientConfig turns --etcd-servers and the TLS flags into the etcd
// client's endpoints (host:port) and TLS configuration: TLS when any flag is
// given or an endpoint is https:// (verified against the system's roots
// without --etcd-cafile, as kube-apiserver does), plain otherwise.
func etcdClientConfig(servers []string, caFile, certFile, keyFile string) ([]string, *tls.Config, error) {
	endpoints := make([]string, len(servers))
	secure, plain := false, false
	for i, e := range servers {
		u, err := url.Parse(e)
		if err != nil || u.Host == "" {
			endpoints[i] = e
			continue
		}
		switch u.Scheme {
		case "https":
			secure = true
		case "http":
			plain = true
		default:
			return nil, nil, fmt.Errorf("--etcd-servers %q: scheme must be http or https", e)
		}
		endpoints[i] = u.Host
	}
	if secure && plain {
		return nil, nil, fmt.Errorf("--etcd-servers %v: mixes http and https endpoints", servers)
	}
	if caFile == "" && certFile == "" && !secure {
		return endpoints, nil, nil
	}
	tlsCfg, err := etcdTLS(caFile, certFile, keyFile)
	if err != nil {
		return nil, nil, err
	}
	return endpoints, tlsCfg, nil
}

func etcdTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := auth.ReadCAPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cafile: %w", err)
		}
		cfg.RootCAs = pool
	}
	if certFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("--etcd-certfile/--etcd-keyfile: %w", err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}

// compact discards etcd history older than one interval, as
// kube-apiserver's compactor does: at each tick it compacts to the revision
// it saw at the previous tick, so watches up to one interval behind resume.
func (s *Server) compact(ctx context.Context, st *etcdstore.Store) {
	t := time.NewTicker(s.cfg.CompactionInterval)
	defer t.Stop()
	prev := st.Revision()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if prev > 0 {
			if err := st.Compact(prev); err != nil {
				s.log.Warn("etcd compaction", "revision", prev, "err", err)
			} else {
				s.log.Debug("etcd compacted", "revision", prev)
			}
		}
		prev = st.Revision()
	}
}
