// Package node assembles `drydock node`: join the cluster with a bootstrap
// token, then run core/kubelet over containerd with CNI networking, core/proxy
// over iptables, routes to the other nodes' pod CIDRs and the kubelet's
// HTTPS log server, every core call on one real/loop.
package node

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/client"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/events"
	"github.com/drydock-sim/drydock/core/informer"
	"github.com/drydock-sim/drydock/core/kubelet"
	"github.com/drydock-sim/drydock/core/proxy"
	"github.com/drydock-sim/drydock/core/rng"
	"github.com/drydock-sim/drydock/real/auth"
	"github.com/drydock-sim/drydock/real/cni"
	"github.com/drydock-sim/drydock/real/containerd"
	"github.com/drydock-sim/drydock/real/hostinfo"
	"github.com/drydock-sim/drydock/real/httpclient"
	"github.com/drydock-sim/drydock/real/images"
	"github.com/drydock-sim/drydock/real/iptables"
	"github.com/drydock-sim/drydock/real/kubeletserver"
	"github.com/drydock-sim/drydock/real/loop"
	"github.com/drydock-sim/drydock/real/noderoutes"
)

// Defaults.
const (
	DefaultDataDir           = "/var/lib/drydock/node"
	DefaultContainerdAddress = "/run/containerd/containerd.sock"
	DefaultKubeletPort       = 10250
	DefaultClusterCIDR       = "10.244.0.0/16"
)

// eventFlushTimeout bounds how long a clean shutdown waits for queued events.
const eventFlushTimeout = 5 * time.Second

// Config is what `drydock node` is told.
type Config struct {
	// Server is the API server URL, https://HOST:PORT. Required.
	Server string
	// Token is the bootstrap token (needed for the first join only).
	Token string
	// Name is the Node's name (default: the host name, lower case).
	Name string
	// DataDir holds the node's credentials (pki/), the CNI state (cni/) and
	// the runtime's per-sandbox files (runtime/).
	DataDir string
	// NodeIP is the InternalIP (default: the default-route interface's).
	NodeIP string
	// CACertHashes pin the cluster CA ("sha256:<hex>"); CAFile is the
	// cluster CA certificate instead. One is required for the first join
	// unless InsecureSkipCAVerification.
	CACertHashes               []string
	CAFile                     string
	InsecureSkipCAVerification bool
	// ContainerdAddress is containerd's socket; ContainerdNamespace the
	// containerd namespace the node's containers live in (default
	// "drydock"; give node agents sharing one containerd distinct ones).
	ContainerdAddress   string
	ContainerdNamespace string
	// KubeletAddress and KubeletPort: where the kubelet HTTPS server
	// listens (default 0.0.0.0:10250); the port is advertised in the Node.
	KubeletAddress string
	KubeletPort    int
	// ClusterCIDR is the cluster's pod network (the server's
	// --cluster-cidr, default 10.244.0.0/16): pod traffic within it is not
	// masqueraded, and the proxy tells pod traffic by it.
	ClusterCIDR string
	// ClusterDNS and ClusterDomain for pods' resolv.conf (default none:
	// pods get the node's resolv.conf).
	ClusterDNS    []string
	ClusterDomain string
	// BusyboxPath is the static busybox the built-in image is made from.
	BusyboxPath string
	// Bridge is the pod bridge's name (default drydock0).
	Bridge string
	// LogRoot is where container logs go (default /var/log/pods).
	LogRoot string
	// CleanupOnExit removes the proxy's iptables chains and the routes to
	// other nodes when the agent stops (default true in the command).
	CleanupOnExit bool
	// Seed seeds the node's random streams (0: from crypto/rand).
	Seed   uint64
	Logger *slog.Logger
	// Hostinfo overrides host detection (tests).
	Hostinfo *hostinfo.Options
}

// Agent is a running node agent.
type Agent struct {
	cfg   Config
	log   *slog.Logger
	ready chan struct{}

	loop     *loop.Loop
	client   *httpclient.Client
	kubelet  *kubelet.Kubelet
	network  *cni.Network
	netReady bool // the pod network has its CIDR
	routes   *noderoutes.Reconciler
	backend  *iptables.Backend

	nodes       *informer.Informer
	reflectors  []*informer.Reflector
	proxy       *proxy.Proxy
	routeQueued bool

	mu          sync.Mutex
	kubeletAddr net.Addr
}

// New checks cfg and fills defaults.
func New(cfg Config) (*Agent, error) {
	if cfg.Server == "" {
		return nil, errors.New("--server is required")
	}
	if !strings.HasPrefix(cfg.Server, "https://") {
		return nil, fmt.Errorf("--server %q: want https://HOST:PORT", cfg.Server)
	}
	if cfg.Name == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("node name: %w", err)
		}
		cfg.Name = strings.ToLower(h)
	}
	if errs := validation.IsDNS1123Subdomain(cfg.Name); len(errs) > 0 {
		return nil, fmt.Errorf("--name %q: %s", cfg.Name, strings.Join(errs, "; "))
	}
	if cfg.Token != "" {
		if _, _, err := auth.ParseToken(cfg.Token); err != nil {
			return nil, fmt.Errorf("--token: %v", err)
		}
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.NodeIP != "" && net.ParseIP(cfg.NodeIP) == nil {
		return nil, fmt.Errorf("--node-ip %q is not an IP address", cfg.NodeIP)
	}
	if cfg.ContainerdAddress == "" {
		cfg.ContainerdAddress = DefaultContainerdAddress
	}
	if cfg.ContainerdNamespace == "" {
		cfg.ContainerdNamespace = containerd.DefaultNamespace
	}
	if cfg.KubeletAddress == "" {
		cfg.KubeletAddress = "0.0.0.0"
	}
	if net.ParseIP(cfg.KubeletAddress) == nil {
		return nil, fmt.Errorf("--kubelet-address %q is not an IP address", cfg.KubeletAddress)
	}
	if cfg.KubeletPort == 0 {
		cfg.KubeletPort = DefaultKubeletPort
	}
	if cfg.KubeletPort < 0 || cfg.KubeletPort > 65535 {
		return nil, fmt.Errorf("--kubelet-port %d is out of range", cfg.KubeletPort)
	}
	if cfg.ClusterCIDR == "" {
		cfg.ClusterCIDR = DefaultClusterCIDR
	}
	if _, _, err := net.ParseCIDR(cfg.ClusterCIDR); err != nil {
		return nil, fmt.Errorf("--cluster-cidr %q: %v", cfg.ClusterCIDR, err)
	}
	for _, d := range cfg.ClusterDNS {
		if net.ParseIP(d) == nil {
			return nil, fmt.Errorf("--cluster-dns %q is not an IP address", d)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return &Agent{cfg: cfg, log: cfg.Logger.With("node", cfg.Name), ready: make(chan struct{})}, nil
}

// Ready is closed once the kubelet has started.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// Loop is the agent's loop (after Ready).
func (a *Agent) Loop() *loop.Loop { return a.loop }

// KubeletAddr is the kubelet server's address (after Ready).
func (a *Agent) KubeletAddr() net.Addr { a.mu.Lock(); defer a.mu.Unlock(); return a.kubeletAddr }

// Run joins, starts every component and runs until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()
	cfg := a.cfg
	if os.Geteuid() != 0 {
		return errors.New("drydock node must run as root (it manages containers, network namespaces, iptables rules and routes)")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	seed := cfg.Seed
	if seed == 0 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		seed = binary.LittleEndian.Uint64(b[:])
	}

	// The host.
	hopts := hostinfo.Options{NodeIP: cfg.NodeIP}
	if cfg.Hostinfo != nil {
		hopts = *cfg.Hostinfo
		if hopts.NodeIP == "" {
			hopts.NodeIP = cfg.NodeIP
		}
	}
	info, err := hostinfo.Detect(hopts)
	if err != nil {
		return err
	}
	nodeIP := info.InternalIP.String()
	a.log.Info("starting drydock node", "server", cfg.Server, "nodeIP", nodeIP, "cpus", info.CPUs,
		"memory", info.MemoryBytes, "dataDir", cfg.DataDir, "seed", seed)

	// Join.
	jopts := auth.JoinOptions{Server: cfg.Server, Token: cfg.Token, NodeName: cfg.Name, Dir: filepath.Join(cfg.DataDir, "pki"),
		CACertHashes: cfg.CACertHashes, Insecure: cfg.InsecureSkipCAVerification, Addresses: []string{nodeIP, info.Hostname}}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return fmt.Errorf("--ca-file: %w", err)
		}
		jopts.CABundle = pem
	}
	creds, err := auth.Join(ctx, jopts)
	if err != nil {
		return err
	}
	if creds.Joined {
		a.log.Info("joined the cluster", "credentials", jopts.Dir)
	} else {
		a.log.Info("using stored credentials", "credentials", jopts.Dir)
	}

	// Loop and API client.
	l := loop.New()
	l.OnPanic = func(p *loop.PanicError) {
		a.log.Error("node loop panic", "panic", fmt.Sprint(p.Value), "stack", string(p.Stack))
	}
	a.loop = l
	loopErr := make(chan error, 1)
	loopCtx, stopLoop := context.WithCancel(context.Background())
	go func() { loopErr <- l.Run(loopCtx) }()
	cleanups = append(cleanups, func() { stopLoop(); <-l.Done() })

	hc, err := httpclient.New(httpclient.Config{Server: cfg.Server, TLS: creds.ClientTLSConfig(), Post: l.Post,
		UserAgent: "drydock-node/" + cfg.Name,
		OnWatchError: func(r *api.Resource, err error) {
			a.log.Warn("watch interrupted, resuming", "resource", r.Name, "err", err)
		}})
	if err != nil {
		return err
	}
	a.client = hc
	cleanups = append(cleanups, hc.Close)

	// Container runtime with CNI networking.
	cc, err := client.New(cfg.ContainerdAddress)
	if err != nil {
		return fmt.Errorf("containerd at %s: %w", cfg.ContainerdAddress, err)
	}
	cleanups = append(cleanups, func() { cc.Close() })
	network, err := cni.New(cni.Config{StateDir: filepath.Join(cfg.DataDir, "cni"), ClusterCIDR: cfg.ClusterCIDR,
		Bridge: cfg.Bridge, PortMap: true})
	if err != nil {
		return err
	}
	a.network = network
	rt, err := containerd.New(ctx, containerd.Config{Client: cc, Namespace: cfg.ContainerdNamespace, Post: l.Post,
		Network: network, StateDir: filepath.Join(cfg.DataDir, "runtime"), LogRoot: cfg.LogRoot,
		ClusterDNS: cfg.ClusterDNS, ClusterDomain: cfg.ClusterDomain})
	if err != nil {
		return err
	}
	cleanups = append(cleanups, func() { rt.Close() })
	img, err := images.EnsureBusybox(ctx, cc, cfg.ContainerdNamespace, cfg.BusyboxPath)
	if err != nil {
		return err
	}
	a.log.Info("built-in image ready", "image", img.Name, "digest", img.Digest)
	// The kubelet asks this wrapper for the runtime's status (containerd
	// serving, the CNI network with a pod CIDR), as Kubernetes' kubelet asks
	// CRI's Status: the node stays NotReady until the network is ready.
	status := &statusRuntime{Runtime: rt, post: l.Post, serving: cc.IsServing, network: network.Status}

	// Kubelet HTTPS server (container logs, exec).
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.KubeletAddress, strconv.Itoa(cfg.KubeletPort)))
	if err != nil {
		return fmt.Errorf("kubelet server: %w", err)
	}
	a.mu.Lock()
	a.kubeletAddr = ln.Addr()
	a.mu.Unlock()
	ks := kubeletserver.New(kubeletserver.Config{Logs: rt, Exec: runtimeExec{rt}, TLS: creds.KubeletServerTLSConfig()})
	ksCtx, stopKS := context.WithCancel(context.Background())
	ksDone := make(chan error, 1)
	go func() { ksDone <- ks.Serve(ksCtx, ln) }()
	cleanups = append(cleanups, func() { stopKS(); <-ksDone })

	// Routes and proxy rules.
	routes, err := noderoutes.New(noderoutes.Config{Self: cfg.Name})
	if err != nil {
		return err
	}
	a.routes = routes
	backend, err := iptables.New(iptables.Config{NodeName: cfg.Name, ClusterCIDR: ipv4Only(cfg.ClusterCIDR)})
	if err != nil {
		return err
	}
	a.backend = backend
	if cfg.CleanupOnExit {
		cleanups = append(cleanups, func() {
			if err := backend.Cleanup(); err != nil {
				a.log.Warn("removing proxy rules", "err", err)
			}
			if err := routes.Cleanup(); err != nil {
				a.log.Warn("removing node routes", "err", err)
			}
		})
	}

	// The core components, on the loop.
	template := info.Node(cfg.Name, int32(ln.Addr().(*net.TCPAddr).Port))
	// Events are written by a goroutine of their own, as client-go's event
	// broadcaster does: the loop only queues them (see asyncRecorder).
	evClock := &eventClock{Clock: l}
	apiRec := &events.APIRecorder{Client: hc, Clock: evClock, Component: "kubelet", Host: cfg.Name}
	rec := newAsyncRecorder(maxQueuedEvents, l.Now, a.log, func(ev queuedEvent) {
		evClock.at = ev.at
		apiRec.Event(ev.obj, ev.typ, ev.reason, ev.message)
	})
	// Runs after the kubelet stops (cleanups run in reverse) and before the
	// API client closes: what is queued is written on a clean shutdown.
	cleanups = append(cleanups, func() {
		if !rec.Close(eventFlushTimeout) {
			a.log.Warn("shut down with events unwritten")
		}
	})
	a.kubelet = kubelet.New(kubelet.Config{NodeName: cfg.Name, Client: hc, Clock: l, Recorder: rec, Runtime: status,
		Rand: rng.Stream(seed, "kubelet"), Node: template, ParallelImagePulls: true,
		OnError: func(err error) { a.logError("kubelet", err) }})
	if err := l.Do(func() { a.startOnLoop(ctx, backend) }); err != nil {
		return err
	}
	cleanups = append(cleanups, func() { l.Do(a.stopOnLoop) }) //nolint:errcheck
	a.log.Info("node agent running", "kubelet", ln.Addr().String())
	close(a.ready)

	select {
	case <-ctx.Done():
		a.log.Info("shutting down (pods keep running)")
		return nil
	case err := <-loopErr:
		return fmt.Errorf("node loop: %w", err)
	case err := <-ksDone:
		return fmt.Errorf("kubelet server: %w", err)
	}
}

func (a *Agent) logError(component string, err error) {
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) || apierrors.IsAlreadyExists(err) {
		a.log.Debug(component, "err", err)
		return
	}
	a.log.Warn(component, "err", err)
}

// startOnLoop starts the watches, the kubelet and the proxy.
func (a *Agent) startOnLoop(ctx context.Context, backend proxy.Backend) {
	l := a.loop
	newRefl := func(inf *informer.Informer, ns string, opts metav1.ListOptions) {
		r := &informer.Reflector{Client: a.client, Informer: inf, Namespace: ns, Options: opts, Clock: l,
			OnError: func(err error) { a.logError("watch "+inf.Resource.Name, err) }}
		a.reflectors = append(a.reflectors, r)
	}
	// All Nodes: this node's pod CIDR starts networking, the others' give routes.
	a.nodes = informer.New(api.Nodes)
	a.nodes.AddHandler(informer.Handler{
		OnAdd:    func(api.Object) { a.nodesChanged() },
		OnUpdate: func(_, _ api.Object) { a.nodesChanged() },
		OnDelete: func(api.Object) { a.nodesChanged() },
	})
	newRefl(a.nodes, "", metav1.ListOptions{})
	services, endpoints := informer.New(api.Services), informer.New(api.Endpoints)
	newRefl(services, "", metav1.ListOptions{})
	newRefl(endpoints, "", metav1.ListOptions{})
	a.proxy = proxy.New(proxy.Config{Clock: l, Services: services, Endpoints: endpoints, Backend: backend,
		OnError: func(err error) { a.log.Warn("proxy rules", "err", err) }})
	for _, r := range a.reflectors {
		r.Start(ctx)
	}
	a.proxy.Start()
	a.kubelet.Start(ctx)
}

func (a *Agent) stopOnLoop() {
	if a.kubelet != nil {
		a.kubelet.Stop()
	}
	if a.proxy != nil {
		a.proxy.Stop()
	}
	for _, r := range a.reflectors {
		r.Stop()
	}
}

// nodesChanged runs on the loop; it coalesces bursts of Node events into
// one network and route sync.
func (a *Agent) nodesChanged() {
	if a.routeQueued {
		return
	}
	a.routeQueued = true
	a.loop.AfterFunc(0, func() {
		a.routeQueued = false
		a.syncNetwork()
	})
}

func (a *Agent) syncNetwork() {
	var all []*corev1.Node
	for _, o := range a.nodes.List() {
		all = append(all, o.(*corev1.Node))
	}
	for _, n := range all {
		if n.Name != a.cfg.Name {
			continue
		}
		cidrs := n.Spec.PodCIDRs
		if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
			cidrs = []string{n.Spec.PodCIDR}
		}
		if len(cidrs) == 0 {
			break
		}
		if err := a.network.SetPodCIDRs(cidrs); err != nil {
			a.log.Error("pod network", "podCIDRs", cidrs, "err", err)
			break
		}
		if !a.netReady {
			a.netReady = true
			a.log.Info("pod network ready", "podCIDRs", cidrs)
			a.kubelet.CheckRuntime() // rather than at its next 5 s check
		}
	}
	if err := a.routes.SyncNodes(all); err != nil {
		a.log.Warn("node routes", "err", err)
	}
}

// ipv4Only is the IPv4 CIDR of a possibly dual-stack list (the iptables
// backend is IPv4).
func ipv4Only(cidrs string) string {
	for _, c := range strings.Split(cidrs, ",") {
		c = strings.TrimSpace(c)
		if ip, _, err := net.ParseCIDR(c); err == nil && ip.To4() != nil {
			return c
		}
	}
	return ""
}
