// Package containerd is the node's container runtime in real mode: a
// cri.Runtime over a containerd daemon, in a containerd namespace of its own.
//
// A pod sandbox is a network namespace the runtime creates and bind-mounts
// (there is no pause image: containers join the namespace through the OCI
// spec's namespace path), networked by a Network (CNI in real/cni, Loopback
// in tests), and recorded as a containerd container that is never started.
// Containers are containerd containers with a runc task; their stdout and
// stderr go to log files in Kubernetes' CRI format under
// <LogRoot>/<namespace>_<pod>_<uid>/<container>/<restart>.log.
//
// Every cri call returns at once and runs in a goroutine; its done callback
// and container events are handed to Config.Post, so they run on the
// caller's loop. State is kept in containerd (labels and an extension on
// each containerd container), so a new Runtime over the same namespace finds
// the sandboxes and containers of the one before it, reattaches to running
// containers' output and watches their exits.
package containerd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/real/containerd/crilog"
)

// Defaults of Config.
const (
	DefaultNamespace   = "drydock"
	DefaultLogRoot     = "/var/log/pods"
	DefaultNetnsDir    = "/var/run/netns"
	DefaultStateDir    = "/var/lib/drydock/runtime"
	DefaultRuntimeName = "io.containerd.runc.v2"
	DefaultSnapshotter = "overlayfs"
	DefaultResolvConf  = "/etc/resolv.conf"
)

// Config sets up a Runtime.
type Config struct {
	// Client is a connected containerd client; the caller closes it after
	// the Runtime.
	Client *client.Client
	// Namespace is the containerd namespace (default "drydock").
	Namespace string
	// Post hands f to the caller's loop, which runs posted funcs in order.
	// It must not block and must not run f before it returns (the runtime
	// may post while holding its lock). Required.
	Post func(f func())
	// Network sets up sandbox networking. Required.
	Network Network
	// LogRoot is where container logs go (default /var/log/pods).
	LogRoot string
	// LogMaxSize and LogMaxFiles rotate container logs as the kubelet's
	// containerLogMaxSize and containerLogMaxFiles (defaults 10 MiB, 5).
	LogMaxSize  int64
	LogMaxFiles int
	// NetnsDir is where sandbox network namespaces are bind-mounted
	// (default /var/run/netns), as drydock-<Namespace>-<sandbox ID prefix>.
	NetnsDir string
	// StateDir holds each sandbox's hosts, hostname and resolv.conf files
	// (default /var/lib/drydock/runtime).
	StateDir string
	// RuntimeName is containerd's runtime for tasks (default io.containerd.runc.v2).
	RuntimeName string
	// Snapshotter for container root filesystems (default overlayfs).
	Snapshotter string
	// ClusterDNS and ClusterDomain make each pod's resolv.conf as the
	// kubelet does for dnsPolicy ClusterFirst (nameservers, search
	// <ns>.svc.<domain> svc.<domain> <domain>, options ndots:5). With no
	// ClusterDNS, pods get a copy of HostResolvConf (dnsPolicy Default).
	ClusterDNS    []string
	ClusterDomain string
	// HostResolvConf is the node's resolv.conf (default /etc/resolv.conf).
	HostResolvConf string
	// RequestTimeout bounds each call's work in containerd, as the
	// kubelet's --runtime-request-timeout does (default 2 minutes). A
	// StopContainer waits past it for its grace period.
	RequestTimeout time.Duration
	// Log receives warnings the runtime handles itself (records it cannot
	// read, clean-up that failed). Default slog.Default().
	Log *slog.Logger
}

// Runtime is a cri.Runtime over containerd. Use New; Close when done.
type Runtime struct {
	cfg     Config
	client  *client.Client
	ctx     context.Context // carries the namespace; canceled by Close
	cancel  context.CancelFunc
	version string
	wg      sync.WaitGroup

	mu         sync.Mutex
	handler    func(cri.ContainerEvent)
	sandboxes  map[string]*sandbox
	containers map[string]*container
}

var _ cri.Runtime = (*Runtime)(nil)

// Labels and the extension the runtime keeps its state in.
const (
	labelKind       = "drydock.io/kind" // "sandbox" or "container"
	labelState      = "drydock.io/state"
	labelNetns      = "drydock.io/netns"
	labelIP         = "drydock.io/ip"
	labelSandbox    = "drydock.io/sandbox"
	labelStartedAt  = "drydock.io/started-at"
	labelFinishedAt = "drydock.io/finished-at"
	labelExitCode   = "drydock.io/exit-code"
	labelReason     = "drydock.io/reason"
	labelMessage    = "drydock.io/message"
	extMeta         = "drydock.io/meta"
	typeMeta        = "drydock.io/meta.v1"

	kindSandbox   = "sandbox"
	kindContainer = "container"
)

// New connects the runtime to containerd and loads what an earlier runtime
// left in the namespace.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.Client == nil || cfg.Post == nil || cfg.Network == nil {
		return nil, errors.New("containerd runtime: Config.Client, Post and Network are required")
	}
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&cfg.Namespace, DefaultNamespace)
	def(&cfg.LogRoot, DefaultLogRoot)
	def(&cfg.NetnsDir, DefaultNetnsDir)
	def(&cfg.StateDir, DefaultStateDir)
	def(&cfg.RuntimeName, DefaultRuntimeName)
	def(&cfg.Snapshotter, DefaultSnapshotter)
	def(&cfg.HostResolvConf, DefaultResolvConf)
	def(&cfg.ClusterDomain, "cluster.local")
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 2 * time.Minute
	}

	nctx := namespaces.WithNamespace(context.Background(), cfg.Namespace)
	v, err := cfg.Client.Version(withTimeout(ctx, nctx))
	if err != nil {
		return nil, fmt.Errorf("containerd runtime: containerd version: %w", err)
	}
	if err := cfg.Client.NamespaceService().Create(nctx, cfg.Namespace, nil); err != nil && !errdefs.IsAlreadyExists(err) {
		return nil, fmt.Errorf("containerd runtime: namespace %s: %w", cfg.Namespace, err)
	}
	rctx, cancel := context.WithCancel(nctx)
	r := &Runtime{cfg: cfg, client: cfg.Client, ctx: rctx, cancel: cancel, version: v.Version,
		sandboxes: map[string]*sandbox{}, containers: map[string]*container{}}
	if err := r.recover(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("containerd runtime: load state: %w", err)
	}
	return r, nil
}

// withTimeout gives nctx (which carries the namespace) the deadline and
// cancellation of ctx.
func withTimeout(ctx, nctx context.Context) context.Context {
	c, cancel := context.WithCancel(nctx)
	context.AfterFunc(ctx, cancel)
	return c
}

// Close stops the runtime's goroutines. Containers keep running; a new
// Runtime over the namespace picks them up.
func (r *Runtime) Close() error {
	r.cancel()
	r.mu.Lock()
	for _, c := range r.containers {
		if c.killTimer != nil {
			c.killTimer.Stop()
		}
	}
	r.mu.Unlock()
	r.wg.Wait()
	return nil
}

// Namespace is the containerd namespace the runtime works in.
func (r *Runtime) Namespace() string { return r.cfg.Namespace }

// Version implements cri.Runtime.
func (r *Runtime) Version() (string, string) { return "containerd", r.version }

// SetEventHandler implements cri.Runtime.
func (r *Runtime) SetEventHandler(h func(cri.ContainerEvent)) {
	r.mu.Lock()
	r.handler = h
	r.mu.Unlock()
}

// emit posts ev to the event handler.
func (r *Runtime) emit(ev cri.ContainerEvent) {
	r.cfg.Post(func() {
		r.mu.Lock()
		h := r.handler
		r.mu.Unlock()
		if h != nil {
			h(ev)
		}
	})
}

// opCtx is the context of one call's containerd work.
func (r *Runtime) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.ctx, r.cfg.RequestTimeout)
}

// async runs f in a goroutine the runtime waits for on Close.
func (r *Runtime) async(f func()) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		f()
	}()
}

func newID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}

// rawAny is a typeurl.Any holding JSON.
type rawAny struct {
	url   string
	value []byte
}

func (a *rawAny) GetTypeUrl() string { return a.url }
func (a *rawAny) GetValue() []byte   { return a.value }

// withMeta stores v as JSON in the container's extension.
func withMeta(v any) client.NewContainerOpts {
	return func(_ context.Context, _ *client.Client, c *containers.Container) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if c.Extensions == nil {
			c.Extensions = map[string]typeurl.Any{}
		}
		c.Extensions[extMeta] = &rawAny{url: typeMeta, value: b}
		return nil
	}
}

// errBadRecord: a containerd container labelled as the runtime's lacks or
// garbles the runtime's metadata.
var errBadRecord = errors.New("unreadable runtime record")

func readMeta(info containers.Container, v any) error {
	a, ok := info.Extensions[extMeta]
	if !ok {
		return fmt.Errorf("%w: containerd container %s has no %s extension", errBadRecord, info.ID, extMeta)
	}
	if err := json.Unmarshal(a.GetValue(), v); err != nil {
		return fmt.Errorf("%w: containerd container %s: %v", errBadRecord, info.ID, err)
	}
	return nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// recover loads sandboxes and containers from containerd labels.
func (r *Runtime) recover(ctx context.Context) error {
	cctx := withTimeout(ctx, r.ctx)
	list, err := r.client.Containers(cctx, `labels."`+labelKind+`"`)
	if err != nil {
		return err
	}
	var ctrs []*container
	for _, ctr := range list {
		info, err := ctr.Info(cctx)
		if err != nil {
			if errdefs.IsNotFound(err) {
				continue
			}
			return err
		}
		switch info.Labels[labelKind] {
		case kindSandbox:
			sb, err := r.loadSandbox(cctx, ctr, info)
			if errors.Is(err, errAbandoned) {
				r.cfg.Log.Info("cleaned up a sandbox whose set-up an earlier runtime did not finish", "id", info.ID)
				continue
			}
			if errors.Is(err, errBadRecord) {
				r.cfg.Log.Warn("skipping a sandbox record the runtime cannot read", "id", info.ID, "err", err)
				continue
			}
			if err != nil {
				return err
			}
			r.sandboxes[sb.st.ID] = sb
		case kindContainer:
			c, err := r.loadContainer(ctr, info)
			if err != nil {
				r.cfg.Log.Warn("skipping a container record the runtime cannot read", "id", info.ID, "err", err)
				continue
			}
			r.containers[c.st.ID] = c
			ctrs = append(ctrs, c)
		}
	}
	for _, c := range ctrs {
		if c.st.State == cri.ContainerCreated {
			// The previous runtime may have died between starting the
			// task and recording it.
			if _, err := c.ctr.Task(cctx, nil); errdefs.IsNotFound(err) {
				continue
			} else if err != nil {
				return err
			}
			started := time.Now()
			if _, err := c.ctr.SetLabels(cctx, map[string]string{labelState: string(cri.ContainerRunning), labelStartedAt: fmtTime(started)}); err != nil {
				return err
			}
			c.st.State, c.st.StartedAt = cri.ContainerRunning, started
		}
		if c.st.State == cri.ContainerRunning {
			if err := r.reattach(cctx, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// ListPodSandboxes implements cri.Runtime, oldest first.
func (r *Runtime) ListPodSandboxes(done func([]*cri.SandboxStatus, error)) {
	r.async(func() {
		r.mu.Lock()
		out := make([]*cri.SandboxStatus, 0, len(r.sandboxes))
		for _, sb := range r.sandboxes {
			out = append(out, sb.status())
		}
		r.mu.Unlock()
		oldestFirst(out, func(st *cri.SandboxStatus) (time.Time, string) { return st.CreatedAt, st.ID })
		r.cfg.Post(func() { done(out, nil) })
	})
}

// ListContainers implements cri.Runtime, oldest first.
func (r *Runtime) ListContainers(done func([]*cri.ContainerStatus, error)) {
	r.async(func() {
		r.mu.Lock()
		out := make([]*cri.ContainerStatus, 0, len(r.containers))
		for _, c := range r.containers {
			out = append(out, c.status())
		}
		r.mu.Unlock()
		oldestFirst(out, func(st *cri.ContainerStatus) (time.Time, string) { return st.CreatedAt, st.ID })
		r.cfg.Post(func() { done(out, nil) })
	})
}

// oldestFirst sorts statuses by creation time, then ID.
func oldestFirst[T any](out []T, key func(T) (time.Time, string)) {
	sort.Slice(out, func(i, j int) bool {
		ti, idi := key(out[i])
		tj, idj := key(out[j])
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return idi < idj
	})
}

// LocateLog finds the log file of a pod's container for the kubelet's log
// server: the newest instance of the container in the pod's newest sandbox
// or, with previous, the instance before it. exited is closed once that
// instance has exited (it is closed already if it has). The log of an
// instance outlives its removal (the kubelet removes the previous instance
// when it creates the next), so earlier instances are found by their files,
// <restart>.log. Unknown pods and containers give an error wrapping
// cri.ErrNotFound, as does a container name that is not a DNS label (it
// is a file name here, and comes from a URL).
func (r *Runtime) LocateLog(namespace, pod, containerName string, previous bool) (path string, exited <-chan struct{}, err error) {
	if errs := validation.IsDNS1123Label(containerName); len(errs) > 0 {
		return "", nil, fmt.Errorf("container name %q: %s: %w", containerName, strings.Join(errs, "; "), cri.ErrNotFound)
	}
	r.mu.Lock()
	var psb *sandbox
	for _, sb := range r.sandboxes {
		if sb.st.Namespace == namespace && sb.st.Name == pod && (psb == nil || sb.st.CreatedAt.After(psb.st.CreatedAt)) {
			psb = sb
		}
	}
	if psb == nil {
		r.mu.Unlock()
		return "", nil, fmt.Errorf("pod %s/%s: %w", namespace, pod, cri.ErrNotFound)
	}
	var cur *container
	for _, c := range r.containers {
		if c.st.Labels[cri.LabelPodUID] == psb.st.UID && c.st.Name == containerName &&
			(cur == nil || c.st.Attempt > cur.st.Attempt || (c.st.Attempt == cur.st.Attempt && c.st.CreatedAt.After(cur.st.CreatedAt))) {
			cur = c
		}
	}
	r.mu.Unlock()
	dir := filepath.Join(r.podLogDir(&psb.cfg), containerName)
	attempts := logAttempts(dir) // newest first
	if !previous {
		if cur != nil {
			return cur.meta.LogPath, cur.exited, nil
		}
		if len(attempts) > 0 {
			return filepath.Join(dir, fmt.Sprintf("%d.log", attempts[0])), closedChan, nil
		}
		return "", nil, fmt.Errorf("container %q in pod %q: %w", containerName, pod, cri.ErrNotFound)
	}
	for i, a := range attempts {
		if (cur != nil && a < cur.st.Attempt) || (cur == nil && i > 0) {
			return filepath.Join(dir, fmt.Sprintf("%d.log", a)), closedChan, nil
		}
	}
	return "", nil, fmt.Errorf("previous terminated container %q in pod %q: %w", containerName, pod, cri.ErrNotFound)
}

// closedChan is the exited channel of instances known to be gone.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// logAttempts lists the restart counts of the <restart>.log files in dir,
// newest first.
func logAttempts(dir string) []uint32 {
	entries, _ := os.ReadDir(dir)
	var out []uint32
	for _, e := range entries {
		n, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok {
			continue
		}
		if a, err := strconv.ParseUint(n, 10, 32); err == nil {
			out = append(out, uint32(a))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] > out[j] })
	return out
}

// pruneLogs removes the logs of instances before the previous one of
// attempt, keeping the current and previous instances' logs as the
// kubelet's container garbage collection does (one dead instance per container).
func pruneLogs(dir string, attempt uint32) {
	for _, a := range logAttempts(dir) {
		if a+1 < attempt {
			p := filepath.Join(dir, fmt.Sprintf("%d.log", a))
			for _, rp := range crilog.Rotated(p) {
				_ = os.Remove(rp)
			}
			_ = os.Remove(p)
		}
	}
}

// sandboxDir holds a sandbox's hosts, hostname and resolv.conf.
func (r *Runtime) sandboxDir(id string) string {
	return filepath.Join(r.cfg.StateDir, r.cfg.Namespace, id)
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func removeAllQuiet(p string) { _ = os.RemoveAll(p) }
