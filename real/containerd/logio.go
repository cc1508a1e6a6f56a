package containerd

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/containerd/containerd/v2/pkg/cio"
	"golang.org/x/sys/unix"
)

// fifoDir is where containerd's clients keep task FIFOs.
const fifoDir = "/run/containerd/fifo"

// logIO is a task's cio.IO that copies stdout and stderr from the shim's
// FIFOs into a container's CRI log. Unlike cio's own, it can let go of
// the FIFOs without removing them (Detach), so a later runtime reattaches
// to a running container without losing output.
//
// It costs an idle container no thread and no buffer: the FIFOs are opened
// without blocking (cio's blocking open in a goroutine holds an OS thread
// until the shim opens its end, and the Go runtime keeps every thread it
// made: about 190 threads, 4 MiB, after starting 100 pods), and each
// stream's copier waits in the runtime's poller with no buffer, taking a
// pooled one only while there is output to copy.
type logIO struct {
	cfg     cio.Config
	dir     string // removed by Close; "" for attached FIFOs not ours to remove
	wg      sync.WaitGroup
	mu      sync.Mutex
	readers []*fifoReader
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
	l := &logIO{cfg: cfg}
	for _, s := range []struct {
		path string
		w    io.Writer
	}{{cfg.Stdout, logs.stdout}, {cfg.Stderr, logs.stderr}} {
		if s.path == "" {
			continue
		}
		r, err := openFIFO(s.path)
		if err != nil {
			l.closePipes()
			return nil, err
		}
		l.readers = append(l.readers, r)
		l.wg.Add(1)
		go func(w io.Writer) {
			defer l.wg.Done()
			r.copyTo(w, logs.warn)
		}(s.w)
	}
	return l, nil
}

// logBufSize is the size of a copier's read buffer: io.Copy's, since a
// buffer is only held while output is being copied.
const logBufSize = 32 << 10

// logBufs are the copiers' read buffers between reads.
var logBufs = sync.Pool{New: func() any { b := make([]byte, logBufSize); return &b }}

// fifoReader is the read end of a FIFO, opened O_NONBLOCK (which never
// blocks, writer or not) and read through the Go runtime's poller. With no
// writer a read returns 0 both before the first writer opens the FIFO and
// after the last one has gone; the kernel tells them apart with POLLHUP,
// which it reports only once a writer has come and gone since the read end
// was opened (and wakes the poller for it).
type fifoReader struct {
	path string
	f    *os.File
	rc   syscall.RawConn
}

// openFIFO opens path's read end, making the FIFO if it does not exist.
func openFIFO(path string) (*fifoReader, error) {
	if err := syscall.Mkfifo(path, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, &os.PathError{Op: "mkfifo", Path: path, Err: err}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		f.Close()
		if err == nil {
			err = errors.New("not a FIFO")
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fifoReader{path: path, f: f, rc: rc}, nil
}

// next waits for output and returns it in a buffer from logBufs (for the
// caller to put back), or an error: io.EOF once the writers have gone,
// another once the file is closed.
func (r *fifoReader) next() (buf *[]byte, n int, err error) {
	rerr := r.rc.Read(func(fd uintptr) bool {
		buf = logBufs.Get().(*[]byte)
		hup := false
		for {
			n, err = syscall.Read(int(fd), *buf)
			switch {
			case err == syscall.EINTR:
				continue
			case n > 0:
				return true
			case err == syscall.EAGAIN:
				// A writer is there, with nothing to say.
			case err != nil:
				n = 0
				return true
			case hup:
				err = io.EOF
				return true
			case hungUp(fd):
				// A writer has come and gone: read what it left, then end.
				hup = true
				continue
			}
			// Wait, without a buffer, for output or the end.
			n, err = 0, nil
			logBufs.Put(buf)
			buf = nil
			return false
		}
	})
	if rerr != nil && err == nil {
		err = rerr
	}
	return buf, n, err
}

// hungUp says whether the kernel reports POLLHUP on fd now.
func hungUp(fd uintptr) bool {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(p, 0)
		if err != unix.EINTR {
			return err == nil && p[0].Revents&unix.POLLHUP != 0
		}
	}
}

// copyTo copies the FIFO to w until the writers have gone or the file is
// closed. Unlike io.Copy it goes on reading when a write fails (the
// output is dropped), as containerd's CRI does: a container whose output
// is no longer read blocks once the pipe is full. warn (may be nil) hears
// of the first failure of a run of failed writes.
func (r *fifoReader) copyTo(w io.Writer, warn func(error)) {
	failing := false
	for {
		buf, n, err := r.next()
		if n > 0 {
			_, werr := w.Write((*buf)[:n])
			if werr != nil && !failing && warn != nil {
				warn(werr)
			}
			failing = werr != nil
		}
		if buf != nil {
			logBufs.Put(buf)
		}
		if err != nil {
			return
		}
	}
}

// poke opens and closes the FIFO's write end: a reader with no writer
// (none yet, or none since it was opened) sees a hang-up and ends; one
// with a writer still there goes on.
func (r *fifoReader) poke() {
	w, err := os.OpenFile(r.path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err == nil {
		w.Close()
	}
}

func (l *logIO) closePipes() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, r := range l.readers {
		if err := r.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
			errs = append(errs, err)
		}
	}
	l.readers = nil
	return errors.Join(errs...)
}

func (l *logIO) Config() cio.Config { return l.cfg }

// Cancel ends the copying of streams no writer has opened (cio's Cancel
// stops FIFO opens in progress); streams with a writer go on until it
// closes, so that no output is lost.
func (l *logIO) Cancel() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.readers {
		r.poke()
	}
}

// Wait waits until the output has been copied (the shim closed its ends).
func (l *logIO) Wait() { l.wg.Wait() }

// Close closes the FIFOs and removes them.
func (l *logIO) Close() error {
	err := l.closePipes()
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
	l.wg.Wait()
}
