package containerd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/drydock-sim/drydock/core/cri"
)

type sandbox struct {
	ops   sync.Mutex // serialises stop and remove
	ctr   client.Container
	st    cri.SandboxStatus // under Runtime.mu
	cfg   cri.SandboxConfig
	netns string
}

type sandboxMeta struct {
	Config    cri.SandboxConfig
	CreatedAt time.Time
}

func (sb *sandbox) status() *cri.SandboxStatus {
	st := sb.st
	st.Labels, st.Annotations = maps.Clone(st.Labels), maps.Clone(st.Annotations)
	return &st
}

// stateCreating is the state label of a sandbox being set up: it is
// recorded before its network namespace and network exist, so that a
// runtime that dies meanwhile leaves a record for the next one to clean up.
const stateCreating = "Creating"

// errAbandoned: the record was of a sandbox whose set-up never finished; it
// has been cleaned up and removed.
var errAbandoned = errors.New("sandbox set-up abandoned")

func (r *Runtime) loadSandbox(ctx context.Context, ctr client.Container, info containers.Container) (*sandbox, error) {
	var m sandboxMeta
	if err := readMeta(info, &m); err != nil {
		return nil, err
	}
	sb := &sandbox{ctr: ctr, cfg: m.Config, netns: info.Labels[labelNetns]}
	if info.Labels[labelState] == stateCreating {
		// A runtime died setting it up; nobody was told of it.
		r.abandonSandbox(ctx, info.ID, sb.netns, &sb.cfg)
		if err := ctr.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("remove abandoned sandbox %s: %w", info.ID, err)
		}
		return nil, errAbandoned
	}
	sb.st = cri.SandboxStatus{ID: info.ID, Name: m.Config.Name, Namespace: m.Config.Namespace, UID: m.Config.UID,
		Attempt: m.Config.Attempt, State: cri.SandboxState(info.Labels[labelState]), IP: info.Labels[labelIP],
		CreatedAt: m.CreatedAt, Labels: m.Config.Labels, Annotations: m.Config.Annotations}
	if sb.st.State == cri.SandboxReady && !netnsExists(sb.netns) {
		// The node rebooted: the namespace, and the pod's network, are
		// gone. Tear down what the network keeps elsewhere (IPAM
		// allocations on disk); the pod gets a new sandbox.
		if err := r.cfg.Network.TearDown(ctx, sb.st.ID, sb.netns, &sb.cfg); err != nil {
			r.cfg.Log.Warn("tearing down the network of a sandbox lost in a reboot", "sandbox", sb.st.ID, "err", err)
		}
		if err := removeNetns(sb.netns); err != nil {
			r.cfg.Log.Warn("removing a stale netns mount point", "sandbox", sb.st.ID, "err", err)
		}
		sb.st.State = cri.SandboxNotReady
		if _, err := ctr.SetLabels(ctx, map[string]string{labelState: string(cri.SandboxNotReady)}); err != nil {
			return nil, err
		}
	}
	return sb, nil
}

// RunPodSandbox implements cri.Runtime: a network namespace, its network,
// the pod's hosts, hostname and resolv.conf files, and a record in containerd.
func (r *Runtime) RunPodSandbox(cfg *cri.SandboxConfig, done func(*cri.SandboxStatus, error)) {
	c := *cfg
	c.Labels, c.Annotations = maps.Clone(cfg.Labels), maps.Clone(cfg.Annotations)
	r.async(func() {
		st, err := r.runSandbox(&c)
		r.cfg.Post(func() { done(st, err) })
	})
}

// abandonSandbox undoes what a sandbox set-up may have done: network,
// network namespace, pod files. What is missing is skipped.
func (r *Runtime) abandonSandbox(ctx context.Context, id, nsPath string, cfg *cri.SandboxConfig) {
	if err := r.cfg.Network.TearDown(context.WithoutCancel(ctx), id, nsPath, cfg); err != nil {
		r.cfg.Log.Warn("tearing down the network of a sandbox that failed to start", "sandbox", id, "err", err)
	}
	if err := removeNetns(nsPath); err != nil {
		r.cfg.Log.Warn("removing the netns of a sandbox that failed to start", "sandbox", id, "err", err)
	}
	removeAllQuiet(r.sandboxDir(id))
}

func (r *Runtime) runSandbox(cfg *cri.SandboxConfig) (_ *cri.SandboxStatus, err error) {
	ctx, cancel := r.opCtx()
	defer cancel()
	id := newID()
	nsPath := filepath.Join(r.cfg.NetnsDir, "drydock-"+r.cfg.Namespace+"-"+id[:16])
	now := time.Now()
	// Recorded first (as being created), so that a runtime that dies half
	// way leaves the next one a record of what to clean up.
	labels := map[string]string{labelKind: kindSandbox, labelState: stateCreating, labelNetns: nsPath}
	for _, k := range []string{cri.LabelPodName, cri.LabelPodNamespace, cri.LabelPodUID} {
		if v, ok := cfg.Labels[k]; ok {
			labels[k] = v
		}
	}
	ctr, err := r.client.NewContainer(ctx, id,
		client.WithRuntime(r.cfg.RuntimeName, nil),
		client.WithSpec(&oci.Spec{Version: specs.Version}), // a record: never started
		client.WithContainerLabels(labels),
		withMeta(sandboxMeta{Config: *cfg, CreatedAt: now}))
	if err != nil {
		return nil, fmt.Errorf("record sandbox in containerd: %w", err)
	}
	defer func() {
		if err != nil {
			r.abandonSandbox(ctx, id, nsPath, cfg)
			if derr := ctr.Delete(context.WithoutCancel(ctx)); derr != nil && !errdefs.IsNotFound(derr) {
				r.cfg.Log.Warn("removing the record of a sandbox that failed to start", "sandbox", id, "err", derr)
			}
		}
	}()
	if err := createNetns(nsPath); err != nil {
		return nil, err
	}
	ip, err := r.cfg.Network.SetUp(ctx, id, nsPath, cfg)
	if err != nil {
		return nil, fmt.Errorf("set up network of pod %s/%s: %w", cfg.Namespace, cfg.Name, err)
	}
	if err := r.writePodFiles(id, cfg, ip); err != nil {
		return nil, err
	}
	if _, err := ctr.SetLabels(ctx, map[string]string{labelState: string(cri.SandboxReady), labelIP: ip}); err != nil {
		return nil, fmt.Errorf("record sandbox in containerd: %w", err)
	}
	sb := &sandbox{ctr: ctr, cfg: *cfg, netns: nsPath, st: cri.SandboxStatus{ID: id, Name: cfg.Name, Namespace: cfg.Namespace,
		UID: cfg.UID, Attempt: cfg.Attempt, State: cri.SandboxReady, IP: ip, CreatedAt: now, Labels: cfg.Labels, Annotations: cfg.Annotations}}
	r.mu.Lock()
	r.sandboxes[id] = sb
	st := sb.status()
	r.mu.Unlock()
	return st, nil
}

// writePodFiles writes the files containers bind-mount at /etc/hosts,
// /etc/hostname and /etc/resolv.conf, as the kubelet does.
func (r *Runtime) writePodFiles(id string, cfg *cri.SandboxConfig, ip string) error {
	dir := r.sandboxDir(id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sandbox files: %w", err)
	}
	host := podHostname(cfg)
	hosts := "# Kubernetes-managed hosts file.\n" +
		"127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\n" +
		"fe00::0\tip6-mcastprefix\n" +
		"fe00::1\tip6-allnodes\n" +
		"fe00::2\tip6-allrouters\n"
	if ip != "" {
		hosts += ip + "\t" + host + "\n"
	}
	var resolv []byte
	if len(r.cfg.ClusterDNS) > 0 {
		var b strings.Builder
		d := r.cfg.ClusterDomain
		fmt.Fprintf(&b, "search %s.svc.%s svc.%s %s\n", cfg.Namespace, d, d, d)
		for _, s := range r.cfg.ClusterDNS {
			fmt.Fprintf(&b, "nameserver %s\n", s)
		}
		b.WriteString("options ndots:5\n")
		resolv = []byte(b.String())
	} else {
		var err error
		if resolv, err = os.ReadFile(r.cfg.HostResolvConf); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sandbox files: %w", err)
		}
	}
	for name, data := range map[string][]byte{"hosts": []byte(hosts), "hostname": []byte(host + "\n"), "resolv.conf": resolv} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("sandbox files: %w", err)
		}
	}
	return nil
}

// podHostname is the pod's hostname: the sandbox config's, else the pod
// name, cut to 63 characters as Kubernetes does.
func podHostname(cfg *cri.SandboxConfig) string {
	h := cfg.Hostname
	if h == "" {
		h = cfg.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// StopPodSandbox implements cri.Runtime: it kills the sandbox's running
// containers at once, tears the network down and removes the namespace.
func (r *Runtime) StopPodSandbox(id string, done func(error)) {
	r.async(func() {
		err := r.stopSandbox(id)
		r.cfg.Post(func() { done(err) })
	})
}

func (r *Runtime) stopSandbox(id string) error {
	r.mu.Lock()
	sb := r.sandboxes[id]
	r.mu.Unlock()
	if sb == nil {
		return fmt.Errorf("sandbox %s: %w", id, cri.ErrNotFound)
	}
	sb.ops.Lock()
	defer sb.ops.Unlock()
	return r.stopSandboxLocked(sb)
}

func (r *Runtime) stopSandboxLocked(sb *sandbox) error {
	ctx, cancel := r.opCtx()
	defer cancel()
	r.mu.Lock()
	var running []*container
	for _, c := range r.containers {
		if c.st.SandboxID == sb.st.ID && c.st.State == cri.ContainerRunning {
			running = append(running, c)
		}
	}
	ready := sb.st.State == cri.SandboxReady
	r.mu.Unlock()
	var errs []error
	for _, c := range running {
		errs = append(errs, r.kill(c))
	}
	for _, c := range running {
		select {
		case <-c.exited:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop sandbox %s: %w", sb.st.ID, err)
	}
	if !ready {
		return nil
	}
	if err := r.cfg.Network.TearDown(ctx, sb.st.ID, sb.netns, &sb.cfg); err != nil {
		return fmt.Errorf("tear down network of pod %s/%s: %w", sb.cfg.Namespace, sb.cfg.Name, err)
	}
	if err := removeNetns(sb.netns); err != nil {
		return err
	}
	if _, err := sb.ctr.SetLabels(ctx, map[string]string{labelState: string(cri.SandboxNotReady)}); err != nil {
		return fmt.Errorf("stop sandbox %s: %w", sb.st.ID, err)
	}
	r.mu.Lock()
	sb.st.State = cri.SandboxNotReady
	r.mu.Unlock()
	return nil
}

// RemovePodSandbox implements cri.Runtime: stop, then remove its
// containers, its record and its files; the pod's log folder goes with the
// last sandbox of the pod.
func (r *Runtime) RemovePodSandbox(id string, done func(error)) {
	r.async(func() {
		err := r.removeSandbox(id)
		r.cfg.Post(func() { done(err) })
	})
}

func (r *Runtime) removeSandbox(id string) error {
	r.mu.Lock()
	sb := r.sandboxes[id]
	r.mu.Unlock()
	if sb == nil {
		return nil
	}
	sb.ops.Lock()
	defer sb.ops.Unlock()
	r.mu.Lock()
	if r.sandboxes[id] != sb { // removed meanwhile
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	if err := r.stopSandboxLocked(sb); err != nil {
		return err
	}
	r.mu.Lock()
	var ctrs []*container
	for _, c := range r.containers {
		if c.st.SandboxID == id {
			ctrs = append(ctrs, c)
		}
	}
	r.mu.Unlock()
	for _, c := range ctrs {
		if err := r.removeContainer(c); err != nil {
			return err
		}
	}
	ctx, cancel := r.opCtx()
	defer cancel()
	if err := sb.ctr.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove sandbox %s: %w", id, err)
	}
	removeAllQuiet(r.sandboxDir(id))
	r.mu.Lock()
	delete(r.sandboxes, id)
	last := true
	for _, o := range r.sandboxes {
		if o.st.UID == sb.st.UID {
			last = false
		}
	}
	r.mu.Unlock()
	if last && sb.st.UID != "" {
		removeAllQuiet(r.podLogDir(&sb.cfg))
	}
	return nil
}

// podLogDir is <LogRoot>/<namespace>_<pod>_<uid>.
func (r *Runtime) podLogDir(cfg *cri.SandboxConfig) string {
	return filepath.Join(r.cfg.LogRoot, cfg.Namespace+"_"+cfg.Name+"_"+cfg.UID)
}
