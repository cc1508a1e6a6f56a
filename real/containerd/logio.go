package containerd

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/fifo"
)

// fifoDir is where containerd's clients keep task FIFOs.
const fifoDir = "/run/containerd/fifo"

// logIO is a task's cio.IO that copies stdout and stderr from the shim's
// FIFOs into a container's CRI log. Unlike cio's own, it can let go of
// the FIFOs without removing them (Detach), so a later runtime reattaches
// to a running container without losing output.
type logIO struct {
	cfg    cio.Config
	dir    string // removed by Close; "" for attached FIFOs not ours to remove
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	pipes  []io.ReadCloser
}

// logCreator makes FIFOs in a fresh folder and copies them into logs.
func logCreator(logs *logFile) cio.Creator {
	return func(id string) (cio.IO, error) {
		if err := os.MkdirAll(fifoDir, 0o700); err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp(fifoDir, "drydock-")
		if err != nil {
			return nil, err
		}
		cfg := cio.Config{Stdout: filepath.Join(dir, id+"-stdout"), Stderr: filepath.Join(dir, id+"-stderr")}
		l, err := openLogIO(cfg, logs)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		l.dir = dir
		return l, nil
	}
}

// logAttach opens the FIFOs of a running task again.
func logAttach(logs *logFile) cio.Attach {
	return func(fs *cio.FIFOSet) (cio.IO, error) {
		cfg := fs.Config
		cfg.Stdin = ""
		l, err := openLogIO(cfg, logs)
		if err != nil {
			return nil, err
		}
		if cfg.Stdout != "" {
			l.dir = filepath.Dir(cfg.Stdout)
		}
		return l, nil
	}
}

func openLogIO(cfg cio.Config, logs *logFile) (*logIO, error) {
	ctx, cancel := context.WithCancel(context.Background())
	l := &logIO{cfg: cfg, cancel: cancel}
	for _, s := range []struct {
		path string
		w    io.Writer
	}{{cfg.Stdout, logs.stdout}, {cfg.Stderr, logs.stderr}} {
		if s.path == "" {
			continue
		}
		r, err := fifo.OpenFifo(ctx, s.path, syscall.O_RDONLY|syscall.O_CREAT|syscall.O_NONBLOCK, 0o700)
		if err != nil {
			l.closePipes()
			cancel()
			return nil, err
		}
		l.pipes = append(l.pipes, r)
		l.wg.Add(1)
		go func(w io.Writer) {
			defer l.wg.Done()
			// The goroutine holds its buffer for the container's lifetime,
			// mostly blocked in Read: a page is enough (a pipe read returns
			// what is there, so a chatty container costs a few more reads),
			// where io.Copy's 32 KiB per stream made log buffers the largest
			// part of the agent's heap at 100 pods.
			buf := make([]byte, 4096)
			drain(w, r, buf, logs.warn)
		}(s.w)
	}
	return l, nil
}

// drain copies r to w until r ends. Unlike io.Copy it goes on reading
// when a write fails (the output is dropped), as containerd's CRI does:
// a container whose output is no longer read blocks once the pipe is full.
// warn (may be nil) hears of the first failure of a run of failed writes.
func drain(w io.Writer, r io.Reader, buf []byte, warn func(error)) {
	failing := false
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			_, werr := w.Write(buf[:n])
			if werr != nil && !failing && warn != nil {
				warn(werr)
			}
			failing = werr != nil
		}
		if rerr != nil {
			return
		}
	}
}

func (l *logIO) closePipes() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, p := range l.pipes {
		if err := p.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
			errs = append(errs, err)
		}
	}
	l.pipes = nil
	return errors.Join(errs...)
}

func (l *logIO) Config() cio.Config { return l.cfg }

// Cancel stops FIFO opens in progress.
func (l *logIO) Cancel() { l.cancel() }

// Wait waits until the output has been copied (the shim closed its ends).
func (l *logIO) Wait() { l.wg.Wait() }

// Close closes the FIFOs and removes them.
func (l *logIO) Close() error {
	err := l.closePipes()
	l.cancel()
	if l.dir != "" {
		if rerr := os.RemoveAll(l.dir); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// Detach closes our ends of the FIFOs and waits for the copying to stop,
// leaving the FIFOs for a later attach.
func (l *logIO) Detach() {
	l.closePipes()
	l.cancel()
	l.wg.Wait()
}
