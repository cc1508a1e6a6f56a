package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/drydock-sim/drydock/core/cri"
)

// ErrNotRunning: the container exists but has no running process to exec in.
var ErrNotRunning = errors.New("container is not running")

// TerminalSize is a terminal's width and height in characters.
type TerminalSize struct {
	Width, Height uint16
}

// ExecIO are an exec's streams; nil ones are not attached.
type ExecIO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// TTY gives the process a terminal: its output comes on Stdout only
	// (Stderr is ignored) and Resize changes the terminal's size.
	TTY    bool
	Resize <-chan TerminalSize
}

// execContainer finds the running instance of a pod's container (newest
// sandbox of the pod, newest attempt): errors wrap cri.ErrNotFound or
// ErrNotRunning.
func (r *Runtime) execContainer(namespace, pod, name string) (*container, client.Task, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var psb *sandbox
	for _, sb := range r.sandboxes {
		if sb.st.Namespace == namespace && sb.st.Name == pod && (psb == nil || sb.st.CreatedAt.After(psb.st.CreatedAt)) {
			psb = sb
		}
	}
	if psb == nil {
		return nil, nil, fmt.Errorf("pod %s/%s: %w", namespace, pod, cri.ErrNotFound)
	}
	var cur *container
	for _, c := range r.containers {
		if c.st.Labels[cri.LabelPodUID] == psb.st.UID && c.st.Name == name &&
			(cur == nil || c.st.Attempt > cur.st.Attempt || (c.st.Attempt == cur.st.Attempt && c.st.CreatedAt.After(cur.st.CreatedAt))) {
			cur = c
		}
	}
	if cur == nil {
		return nil, nil, fmt.Errorf("container %q in pod %q: %w", name, pod, cri.ErrNotFound)
	}
	if cur.st.State != cri.ContainerRunning || cur.task == nil {
		return nil, nil, fmt.Errorf("container %q in pod %q: %w", name, pod, ErrNotRunning)
	}
	return cur, cur.task, nil
}

// CheckExec reports whether a pod's container can be exec'd into now: nil,
// or an error wrapping cri.ErrNotFound (no such pod or container) or
// ErrNotRunning.
func (r *Runtime) CheckExec(namespace, pod, container string) error {
	_, _, err := r.execContainer(namespace, pod, container)
	return err
}

// ExecInContainer runs cmd in the running container of a pod, in its
// namespaces and cgroup with its process settings (user, environment,
// working directory, capabilities) as containerd's CRI exec does, and
// returns its exit code once it has exited and its output has been copied.
// With a TTY, TERM=xterm is added unless set. When ctx ends the process is
// killed. Errors before the process starts wrap cri.ErrNotFound or
// ErrNotRunning where that is the cause.
func (r *Runtime) ExecInContainer(ctx context.Context, namespace, pod, container string, cmd []string, eio ExecIO) (int, error) {
	if len(cmd) == 0 {
		return 0, errors.New("exec: no command")
	}
	c, task, err := r.execContainer(namespace, pod, container)
	if err != nil {
		return 0, err
	}
	// The runtime's context (which names the containerd namespace) ends
	// execs when the runtime closes, the caller's when it ends.
	callerCtx := ctx
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	stop := context.AfterFunc(callerCtx, cancel)
	defer stop()
	octx, ocancel := r.opCtx()
	spec, err := c.ctr.Spec(octx)
	ocancel()
	if err != nil {
		return 0, fmt.Errorf("exec: container spec: %w", err)
	}
	if spec.Process == nil {
		return 0, errors.New("exec: container spec has no process")
	}
	pspec := *spec.Process
	pspec.Args = cmd
	pspec.Terminal = eio.TTY
	pspec.ConsoleSize = nil
	resize := eio.Resize
	if eio.TTY {
		// A size already sent (kubectl sends one first) is the terminal's
		// from the start.
		select {
		case sz, ok := <-resize:
			if !ok {
				resize = nil
			} else if sz.Width > 0 && sz.Height > 0 {
				pspec.ConsoleSize = &specs.Box{Width: uint(sz.Width), Height: uint(sz.Height)}
			}
		default:
		}
	}
	pspec.Env = slices.Clone(pspec.Env)
	if eio.TTY && !slices.ContainsFunc(pspec.Env, func(e string) bool { return strings.HasPrefix(e, "TERM=") }) {
		pspec.Env = append(pspec.Env, "TERM=xterm")
	}
	// The shim keeps the stdin FIFO open itself, so the end of stdin
	// reaches the process only through CloseIO, once the input is read.
	var stdin io.Reader
	var stdinDone chan struct{}
	if eio.Stdin != nil {
		stdinDone = make(chan struct{})
		stdin = &eofReader{r: eio.Stdin, done: stdinDone}
	}
	// The shim needs every output FIFO it is told of: output nobody asked
	// for is dropped here.
	stdout, stderr := eio.Stdout, eio.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	// Once the caller's stream fails (kubectl went away), output is read
	// and dropped: containerd's copier would stop reading, the pipe fill
	// and the process block on its next write for ever. As in Kubernetes,
	// the process itself runs on until it ends.
	stdout, stderr = &drainOnError{w: stdout}, &drainOnError{w: stderr}
	opts := []cio.Opt{cio.WithStreams(stdin, stdout, stderr)}
	if eio.TTY {
		opts = []cio.Opt{cio.WithStreams(stdin, stdout, nil), cio.WithTerminal}
	}
	execID := "exec-" + newID()[:16]
	// Process set-up and tear-down use a context of their own: ctx ending
	// kills the process, and it must still be waited for and deleted.
	sctx := context.WithoutCancel(ctx)
	p, err := task.Exec(sctx, execID, &pspec, cio.NewCreator(opts...))
	if err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	// With kill: if anything below fails the process must not outlive the
	// request, and a plain Delete would fail on a running process.
	defer p.Delete(sctx, client.WithProcessKill)
	statusC, err := p.Wait(sctx)
	if err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	if err := p.Start(sctx); err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	for {
		select {
		case st := <-statusC:
			code, _, err := st.Result()
			if err != nil {
				return 0, fmt.Errorf("exec: %w", err)
			}
			// All output first: Delete cancels the copy and closes our
			// FIFO ends, dropping what the shim has written but the copy
			// has not yet read (kubectl then lost the last stderr line).
			// As containerd's CRI does, wait for the streams to end; a
			// background child still holding them keeps the exec open
			// until it exits or the caller goes.
			ioDone := make(chan struct{})
			go func() {
				p.IO().Wait()
				close(ioDone)
			}()
			select {
			case <-ioDone:
			case <-ctx.Done():
			}
			// The deferred Delete then finds nothing to do.
			if _, err := p.Delete(sctx); err != nil {
				return int(code), fmt.Errorf("exec: %w", err)
			}
			return int(code), nil
		case <-stdinDone:
			stdinDone = nil
			_ = p.CloseIO(sctx, client.WithStdinCloser)
		case sz, ok := <-resize:
			if !ok {
				resize = nil
				continue
			}
			if eio.TTY {
				_ = p.Resize(sctx, uint32(sz.Width), uint32(sz.Height))
			}
		case <-ctx.Done():
			_ = p.Kill(sctx, syscall.SIGKILL)
			<-statusC
			if err := callerCtx.Err(); err != nil {
				return 0, fmt.Errorf("exec: %w", err)
			}
			return 0, errors.New("exec: the runtime is closing")
		}
	}
}

// drainOnError passes writes on to w until one fails, then accepts and
// drops everything.
type drainOnError struct {
	mu     sync.Mutex
	w      io.Writer
	failed bool
}

func (d *drainOnError) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.failed {
		if _, err := d.w.Write(p); err != nil {
			d.failed = true
		}
	}
	return len(p), nil
}

// eofReader closes done when r's stream ends (EOF or an error).
type eofReader struct {
	r    io.Reader
	done chan struct{}
	once sync.Once
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.once.Do(func() { close(e.done) })
	}
	return n, err
}
