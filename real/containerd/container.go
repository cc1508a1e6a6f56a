package containerd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/moby/sys/signal"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/real/containerd/crilog"
)

// Reason and exit code of a container whose process could not be started,
// as containerd reports them.
const (
	ReasonStartError = "StartError"
	startErrorCode   = 128
)

type container struct {
	ops  sync.Mutex // serialises start and remove
	ctr  client.Container
	meta containerMeta
	// Under Runtime.mu:
	st        cri.ContainerStatus
	task      client.Task
	exited    chan struct{} // closed once the exit is recorded and its event posted
	killTimer *time.Timer
	killAt    time.Time
	termSent  bool
}

type containerMeta struct {
	Name        string
	Attempt     uint32
	Image       string
	ImageRef    string
	Labels      map[string]string
	Annotations map[string]string
	CreatedAt   time.Time
	LogPath     string
	CgroupsPath string
	// StopSignal is the image's STOPSIGNAL, sent instead of SIGTERM on a
	// stop, as containerd's CRI does ("" for SIGTERM).
	StopSignal string
}

func (c *container) status() *cri.ContainerStatus {
	st := c.st
	st.Labels, st.Annotations = maps.Clone(st.Labels), maps.Clone(st.Annotations)
	return &st
}

func (r *Runtime) loadContainer(ctr client.Container, info containers.Container) (*container, error) {
	var m containerMeta
	if err := readMeta(info, &m); err != nil {
		return nil, err
	}
	l := info.Labels
	code, _ := strconv.Atoi(l[labelExitCode])
	c := &container{ctr: ctr, meta: m, exited: make(chan struct{})}
	c.st = cri.ContainerStatus{ID: info.ID, SandboxID: l[labelSandbox], Name: m.Name, Attempt: m.Attempt,
		State: cri.ContainerState(l[labelState]), Image: m.Image, ImageRef: m.ImageRef, CreatedAt: m.CreatedAt,
		StartedAt: parseTime(l[labelStartedAt]), FinishedAt: parseTime(l[labelFinishedAt]), ExitCode: int32(code),
		Reason: l[labelReason], Message: l[labelMessage], Labels: m.Labels, Annotations: m.Annotations}
	if c.st.State == cri.ContainerExited {
		close(c.exited)
	}
	return c, nil
}

// reattach picks up a container that was running when the previous runtime
// stopped: its output goes on into its log file and its exit is watched. A
// container whose task is gone (the node rebooted) is exited with code 255,
// reason Unknown, as containerd reports it.
func (r *Runtime) reattach(ctx context.Context, c *container) error {
	logs, err := r.openLog(c.meta.LogPath)
	if err != nil {
		return err
	}
	task, err := c.ctr.Task(ctx, logAttach(logs))
	if errdefs.IsNotFound(err) {
		logs.Close()
		return r.recordExit(c, 255, time.Now(), cri.ReasonUnknown, false)
	}
	if err != nil {
		logs.Close()
		return fmt.Errorf("reattach container %s: %w", c.st.ID, err)
	}
	exitCh, err := task.Wait(r.ctx)
	if err != nil {
		if l, ok := task.IO().(*logIO); ok {
			l.Detach() // its copy goroutines end; the FIFOs stay for a later attach
		}
		logs.Close()
		return fmt.Errorf("reattach container %s: %w", c.st.ID, err)
	}
	r.mu.Lock()
	c.task = task
	r.mu.Unlock()
	r.async(func() { r.watch(c, task, exitCh, logs) })
	return nil
}

// CreateContainer implements cri.Runtime.
func (r *Runtime) CreateContainer(sandboxID string, cfg *cri.ContainerConfig, sbCfg *cri.SandboxConfig, done func(string, error)) {
	c := *cfg
	c.Labels, c.Annotations = maps.Clone(cfg.Labels), maps.Clone(cfg.Annotations)
	c.Command, c.Args, c.Env = append([]string(nil), cfg.Command...), append([]string(nil), cfg.Args...), append([]cri.KeyValue(nil), cfg.Env...)
	r.async(func() {
		id, err := r.createContainer(sandboxID, &c)
		r.cfg.Post(func() { done(id, err) })
	})
}

func (r *Runtime) createContainer(sandboxID string, cfg *cri.ContainerConfig) (string, error) {
	ctx, cancel := r.opCtx()
	defer cancel()
	r.mu.Lock()
	sb := r.sandboxes[sandboxID]
	r.mu.Unlock()
	if sb == nil {
		return "", fmt.Errorf("sandbox %s: %w", sandboxID, cri.ErrNotFound)
	}
	sb.ops.Lock() // no stop or remove of the sandbox meanwhile
	defer sb.ops.Unlock()
	r.mu.Lock()
	ready := sb.st.State == cri.SandboxReady && r.sandboxes[sandboxID] == sb
	r.mu.Unlock()
	if !ready {
		return "", fmt.Errorf("sandbox %s: %w", sandboxID, cri.ErrSandboxNotReady)
	}
	img, err := r.lookup(ctx, cfg.Image, true)
	if err != nil {
		return "", err
	}
	if img == nil {
		return "", fmt.Errorf("image %q: %w", cfg.Image, cri.ErrImageNotFound)
	}
	ic, err := img.Spec(ctx)
	if err != nil {
		return "", fmt.Errorf("image %q config: %w", cfg.Image, err)
	}
	args := containerArgs(ic.Config.Entrypoint, ic.Config.Cmd, cfg.Command, cfg.Args)
	if len(args) == 0 {
		return "", fmt.Errorf("container %q: no command specified (neither the pod nor image %q gives one)", cfg.Name, cfg.Image)
	}
	id := newID()
	host := podHostname(&sb.cfg)
	dir := r.sandboxDir(sandboxID)
	env := []string{"HOSTNAME=" + host}
	for _, kv := range cfg.Env {
		env = append(env, kv.Key+"="+kv.Value)
	}
	cgroupsPath := "/" + r.cfg.Namespace + "/" + id
	bind := func(dst, src string) specs.Mount {
		return specs.Mount{Destination: dst, Type: "bind", Source: filepath.Join(dir, src), Options: []string{"rbind", "rprivate", "rw"}}
	}
	specOpts := []oci.SpecOpts{
		oci.WithImageConfig(img),
		oci.WithProcessArgs(args...),
		oci.WithEnv(env),
		oci.WithHostname(host),
		oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: sb.netns}),
		oci.WithMounts([]specs.Mount{bind("/etc/hosts", "hosts"), bind("/etc/hostname", "hostname"), bind("/etc/resolv.conf", "resolv.conf")}),
		oci.WithCgroup(cgroupsPath),
		oci.WithAnnotations(map[string]string{"io.kubernetes.cri.sandbox-id": sandboxID}),
	}
	if cfg.WorkingDir != "" {
		specOpts = append(specOpts, oci.WithProcessCwd(cfg.WorkingDir))
	}
	if cfg.CPUMillis > 0 {
		// As the kubelet: shares from the request (the limit when no
		// request is given, which is all the port carries), quota from the limit.
		shares := uint64(cfg.CPUMillis) * 1024 / 1000
		if shares < 2 {
			shares = 2
		}
		const period = 100000
		quota := cfg.CPUMillis * period / 1000
		if quota < 1000 {
			quota = 1000
		}
		specOpts = append(specOpts, oci.WithCPUShares(shares), oci.WithCPUCFS(quota, period))
	}
	if cfg.MemoryBytes > 0 {
		specOpts = append(specOpts, oci.WithMemoryLimit(uint64(cfg.MemoryBytes)))
	}
	sbLabels := sb.cfg
	logPath := filepath.Join(r.podLogDir(&sbLabels), cfg.Name, fmt.Sprintf("%d.log", cfg.Attempt))
	now := time.Now()
	meta := containerMeta{Name: cfg.Name, Attempt: cfg.Attempt, Image: cfg.Image, ImageRef: cfg.ImageRef,
		Labels: cfg.Labels, Annotations: cfg.Annotations, CreatedAt: now, LogPath: logPath, CgroupsPath: cgroupsPath,
		StopSignal: ic.Config.StopSignal}
	if meta.ImageRef == "" {
		if d, err := img.Config(ctx); err == nil {
			meta.ImageRef = d.Digest.String()
		}
	}
	labels := map[string]string{labelKind: kindContainer, labelState: string(cri.ContainerCreated), labelSandbox: sandboxID}
	for _, k := range []string{cri.LabelPodName, cri.LabelPodNamespace, cri.LabelPodUID, cri.LabelContainerName} {
		if v, ok := cfg.Labels[k]; ok {
			labels[k] = v
		}
	}
	pruneLogs(filepath.Dir(logPath), cfg.Attempt)
	ctr, err := r.client.NewContainer(ctx, id,
		client.WithSnapshotter(r.cfg.Snapshotter),
		client.WithNewSnapshot(id, img),
		client.WithImageName(img.Name()),
		client.WithRuntime(r.cfg.RuntimeName, nil),
		client.WithNewSpec(specOpts...),
		client.WithContainerLabels(labels),
		withMeta(meta))
	if err != nil {
		return "", fmt.Errorf("create container %q: %w", cfg.Name, err)
	}
	c := &container{ctr: ctr, meta: meta, exited: make(chan struct{}), st: cri.ContainerStatus{ID: id, SandboxID: sandboxID,
		Name: cfg.Name, Attempt: cfg.Attempt, State: cri.ContainerCreated, Image: cfg.Image, ImageRef: meta.ImageRef,
		CreatedAt: now, Labels: cfg.Labels, Annotations: cfg.Annotations}}
	r.mu.Lock()
	r.containers[id] = c
	r.mu.Unlock()
	return id, nil
}

// containerArgs applies Kubernetes' rules: command replaces the image's
// entrypoint (and drops its cmd), args replace the image's cmd.
func containerArgs(entrypoint, cmd, command, args []string) []string {
	switch {
	case len(command) > 0:
		return append(append([]string(nil), command...), args...)
	case len(args) > 0:
		return append(append([]string(nil), entrypoint...), args...)
	default:
		return append(append([]string(nil), entrypoint...), cmd...)
	}
}

// logFile is a container's open CRI log.
type logFile struct {
	f              *crilog.RotatingFile
	stdout, stderr io.WriteCloser
	// warn reports the first failed write of each stream copy (the
	// output is then read on and dropped until writes succeed again).
	warn func(error)
}

func (r *Runtime) openLog(path string) (*logFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("container log: %w", err)
	}
	f, err := crilog.OpenRotating(path, r.cfg.LogMaxSize, r.cfg.LogMaxFiles, nil)
	if err != nil {
		return nil, fmt.Errorf("container log: %w", err)
	}
	w := crilog.NewWriter(f, nil)
	warn := func(err error) {
		r.cfg.Log.Warn("writing a container log; dropping output until writes succeed", "path", path, "err", err)
	}
	return &logFile{f: f, stdout: w.Stream(crilog.Stdout), stderr: w.Stream(crilog.Stderr), warn: warn}, nil
}

// Close flushes unfinished lines and closes the file.
func (l *logFile) Close() error {
	return errors.Join(l.stdout.Close(), l.stderr.Close(), l.f.Close())
}

// StartContainer implements cri.Runtime.
func (r *Runtime) StartContainer(id string, done func(error)) {
	r.async(func() {
		err := r.startContainer(id)
		r.cfg.Post(func() { done(err) })
	})
}

func (r *Runtime) startContainer(id string) error {
	ctx, cancel := r.opCtx()
	defer cancel()
	r.mu.Lock()
	c := r.containers[id]
	r.mu.Unlock()
	if c == nil {
		return fmt.Errorf("container %s: %w", id, cri.ErrNotFound)
	}
	r.mu.Lock()
	sb := r.sandboxes[c.st.SandboxID]
	r.mu.Unlock()
	if sb == nil {
		return fmt.Errorf("sandbox %s: %w", c.st.SandboxID, cri.ErrSandboxNotReady)
	}
	sb.ops.Lock() // the sandbox is not stopped while its container starts
	defer sb.ops.Unlock()
	c.ops.Lock()
	defer c.ops.Unlock()
	r.mu.Lock()
	state := c.st.State
	ready := sb.st.State == cri.SandboxReady && r.sandboxes[c.st.SandboxID] == sb
	r.mu.Unlock()
	if state != cri.ContainerCreated {
		return fmt.Errorf("container %s is %s, not created: %w", id, state, cri.ErrInvalidState)
	}
	if !ready {
		return fmt.Errorf("sandbox %s: %w", c.st.SandboxID, cri.ErrSandboxNotReady)
	}
	logs, err := r.openLog(c.meta.LogPath)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		logs.Close()
		msg := err.Error()
		_ = r.recordExit(c, startErrorCode, time.Now(), ReasonStartError, false, msg)
		return fmt.Errorf("start container %s: %w", id, err)
	}
	task, err := c.ctr.NewTask(ctx, logCreator(logs))
	if err != nil {
		return fail(err)
	}
	exitCh, err := task.Wait(r.ctx) // lives as long as the runtime
	if err != nil {
		task.Delete(context.WithoutCancel(ctx), client.WithProcessKill)
		return fail(err)
	}
	if err := task.Start(ctx); err != nil {
		task.Delete(context.WithoutCancel(ctx), client.WithProcessKill)
		return fail(err)
	}
	started := time.Now()
	if _, err := c.ctr.SetLabels(ctx, map[string]string{labelState: string(cri.ContainerRunning), labelStartedAt: fmtTime(started)}); err != nil {
		// Unrecorded, the task would have no watcher: delete it (with its
		// FIFOs and copy goroutines) so that the container can be removed.
		task.Delete(context.WithoutCancel(ctx), client.WithProcessKill)
		return fail(err)
	}
	r.mu.Lock()
	c.task = task
	c.st.State = cri.ContainerRunning
	c.st.StartedAt = started
	r.mu.Unlock()
	r.async(func() { r.watch(c, task, exitCh, logs) })
	return nil
}

// watch waits for the container's process to exit and records the exit.
func (r *Runtime) watch(c *container, task client.Task, exitCh <-chan client.ExitStatus, logs *logFile) {
	st := <-exitCh
	if r.ctx.Err() != nil {
		// Closing: the process may run on; the next runtime reattaches.
		if l, ok := task.IO().(*logIO); ok {
			l.Detach()
		}
		logs.Close()
		return
	}
	code, at, err := st.Result()
	if err != nil {
		code, at = 255, time.Now()
	}
	reason := cri.ExitReason(int32(code))
	if oomKilled(c.meta.CgroupsPath) {
		reason = cri.ReasonOOMKilled
	}
	// Delete waits for the output to be copied; then the log is complete.
	// Not cut short by Close (which waits for this goroutine): a Delete
	// canceled after containerd removed the task would return before
	// closing the FIFOs, and no later runtime would find them.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.cfg.RequestTimeout)
	defer cancel()
	if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
		if _, err := task.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			r.cfg.Log.Warn("deleting the task of an exited container", "container", c.st.ID, "err", err)
		}
	}
	if err := logs.Close(); err != nil {
		r.cfg.Log.Warn("closing a container log", "container", c.st.ID, "err", err)
	}
	if err := r.recordExit(c, int32(code), at, reason, true); err != nil {
		r.cfg.Log.Warn("recording a container exit in containerd", "container", c.st.ID, "err", err)
	}
}

// recordExit stores an exit in containerd and in memory, posts the exit
// event if asked and releases the container's stop waiters.
func (r *Runtime) recordExit(c *container, code int32, at time.Time, reason string, event bool, message ...string) error {
	labels := map[string]string{labelState: string(cri.ContainerExited), labelExitCode: itoa(code),
		labelFinishedAt: fmtTime(at), labelReason: reason}
	msg := strings.Join(message, "")
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	if msg != "" {
		labels[labelMessage] = msg
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.cfg.RequestTimeout)
	_, err := c.ctr.SetLabels(ctx, labels)
	cancel()
	r.mu.Lock()
	if c.st.State == cri.ContainerExited {
		r.mu.Unlock()
		return err
	}
	c.st.State = cri.ContainerExited
	c.st.ExitCode, c.st.FinishedAt, c.st.Reason, c.st.Message = code, at, reason, msg
	if c.killTimer != nil {
		c.killTimer.Stop()
	}
	c.task = nil
	// In one step with the state change: whoever sees the container exited
	// finds its channel closed, and the event is posted before any stop's
	// done (they wait for the channel).
	if event {
		r.emit(cri.ContainerEvent{Type: cri.ContainerExitedEvent, ContainerID: c.st.ID, SandboxID: c.st.SandboxID,
			ExitCode: code, Reason: reason, FinishedAt: at})
	}
	close(c.exited)
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("record exit of container %s: %w", c.st.ID, err)
	}
	return nil
}

// oomKilled reads the kernel's OOM kill count of the container's memory
// cgroup (v1 memory.oom_control, v2 memory.events). The cgroup lives until
// the task is deleted.
func oomKilled(cgroupsPath string) bool {
	if cgroupsPath == "" {
		return false
	}
	for _, p := range []string{
		filepath.Join("/sys/fs/cgroup/memory", cgroupsPath, "memory.oom_control"),
		filepath.Join("/sys/fs/cgroup", cgroupsPath, "memory.events"),
	} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == "oom_kill" && v != "0" {
				f.Close()
				return true
			}
		}
		f.Close()
	}
	return false
}

// kill sends SIGKILL to a running container.
func (r *Runtime) kill(c *container) error {
	r.mu.Lock()
	task := c.task
	r.mu.Unlock()
	if task == nil {
		return nil
	}
	ctx, cancel := r.opCtx()
	defer cancel()
	if err := task.Kill(ctx, syscall.SIGKILL); err != nil && !errdefs.IsNotFound(err) && !errdefs.IsFailedPrecondition(err) {
		return fmt.Errorf("kill container %s: %w", c.st.ID, err)
	}
	return nil
}

// StopContainer implements cri.Runtime.
func (r *Runtime) StopContainer(id string, timeout time.Duration, done func(error)) {
	r.async(func() {
		err := r.stopContainer(id, timeout)
		r.cfg.Post(func() { done(err) })
	})
}

func (r *Runtime) stopContainer(id string, timeout time.Duration) error {
	r.mu.Lock()
	c := r.containers[id]
	if c == nil {
		r.mu.Unlock()
		return fmt.Errorf("container %s: %w", id, cri.ErrNotFound)
	}
	if c.st.State != cri.ContainerRunning || c.task == nil {
		r.mu.Unlock()
		return nil // created or exited: nothing runs, as in CRI
	}
	task := c.task
	sendTerm := !c.termSent && timeout > 0
	c.termSent = c.termSent || sendTerm
	killNow := timeout <= 0
	if deadline := time.Now().Add(timeout); !killNow && (c.killAt.IsZero() || deadline.Before(c.killAt)) {
		c.killAt = deadline
		if c.killTimer != nil {
			c.killTimer.Stop()
		}
		c.killTimer = time.AfterFunc(timeout, func() {
			if err := r.kill(c); err != nil {
				r.cfg.Log.Warn("killing a container at the end of its grace period", "container", c.st.ID, "err", err)
			}
		})
	}
	exited := c.exited
	r.mu.Unlock()
	if sendTerm {
		sig := syscall.SIGTERM
		if c.meta.StopSignal != "" {
			if s, err := signal.ParseSignal(c.meta.StopSignal); err == nil {
				sig = s
			} else {
				r.cfg.Log.Warn("image STOPSIGNAL not understood, sending SIGTERM", "container", id, "signal", c.meta.StopSignal)
			}
		}
		ctx, cancel := r.opCtx()
		err := task.Kill(ctx, sig)
		cancel()
		if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsFailedPrecondition(err) {
			return fmt.Errorf("stop container %s: %w", id, err)
		}
	}
	if killNow {
		if err := r.kill(c); err != nil {
			return err
		}
	}
	select {
	case <-exited:
		return nil
	case <-r.ctx.Done():
		return fmt.Errorf("stop container %s: %w", id, r.ctx.Err())
	}
}

// RemoveContainer implements cri.Runtime.
func (r *Runtime) RemoveContainer(id string, done func(error)) {
	r.async(func() {
		r.mu.Lock()
		c := r.containers[id]
		r.mu.Unlock()
		var err error
		if c != nil {
			err = r.removeContainer(c)
		}
		r.cfg.Post(func() { done(err) })
	})
}

func (r *Runtime) removeContainer(c *container) error {
	c.ops.Lock()
	defer c.ops.Unlock()
	r.mu.Lock()
	running := c.st.State == cri.ContainerRunning
	gone := r.containers[c.st.ID] != c
	r.mu.Unlock()
	if gone {
		return nil
	}
	if running {
		if err := r.kill(c); err != nil {
			return err
		}
		select {
		case <-c.exited:
		case <-r.ctx.Done():
			return r.ctx.Err()
		}
	}
	ctx, cancel := r.opCtx()
	defer cancel()
	if err := c.ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", c.st.ID, err)
	}
	// The log stays for `kubectl logs --previous` (the kubelet removes the
	// previous instance as it creates the next); pruneLogs and the pod's
	// sandbox removal clean logs up.
	r.mu.Lock()
	delete(r.containers, c.st.ID)
	r.mu.Unlock()
	return nil
}

// ContainerStatus implements cri.Runtime.
func (r *Runtime) ContainerStatus(id string, done func(*cri.ContainerStatus, error)) {
	r.async(func() {
		r.mu.Lock()
		c := r.containers[id]
		var st *cri.ContainerStatus
		if c != nil {
			st = c.status()
		}
		r.mu.Unlock()
		if st == nil {
			r.cfg.Post(func() { done(nil, fmt.Errorf("container %s: %w", id, cri.ErrNotFound)) })
			return
		}
		r.cfg.Post(func() { done(st, nil) })
	})
}
