package containerd

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/cio"

	"github.com/drydock-sim/drydock/internal/testsync"
)

// failingLog is a log stream whose writes all fail (a full disk, a
// rotation that could not open the next file).
type failingLog struct{ writes atomic.Int64 }

func (f *failingLog) Write([]byte) (int, error) {
	f.writes.Add(1)
	return 0, errors.New("no space left on device")
}
func (f *failingLog) Close() error { return nil }

// TestLogCopyDrainsOnWriteError: when the log file cannot be written, the
// container's output is still read from its FIFO (and dropped), as
// containerd's CRI does, so that the container does not block on a full
// pipe once 64 KiB are unread.
func TestLogCopyDrainsOnWriteError(t *testing.T) {
	dir := t.TempDir()
	out := &failingLog{}
	var warned atomic.Int64
	logs := &logFile{stdout: out, stderr: out, warn: func(error) { warned.Add(1) }}
	l, err := openLogIO(cio.Config{Stdout: filepath.Join(dir, "stdout")}, logs)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	w, err := os.OpenFile(filepath.Join(dir, "stdout"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	written := make(chan error, 1)
	go func() {
		chunk := make([]byte, 4096)
		for i := range chunk {
			chunk[i] = 'x'
		}
		chunk[len(chunk)-1] = '\n'
		var err error
		for n := 0; n < 1<<20 && err == nil; n += len(chunk) {
			_, err = w.Write(chunk)
		}
		written <- err
	}()
	select {
	case err := <-written:
		if err != nil {
			t.Fatalf("container side write: %v", err)
		}
	case <-time.After(30 * time.Second):
		w.Close() // unblocks the writer
		t.Fatalf("1 MiB of output not drained after a log write error (%d log writes tried)", out.writes.Load())
	}
	w.Close()
	l.Wait()
	if out.writes.Load() < 2 {
		t.Errorf("%d log writes tried, want one per read (later writes may succeed again)", out.writes.Load())
	}
	if warned.Load() != 1 {
		t.Errorf("warned %d times, want once per stream", warned.Load())
	}
}

// testLogs is a logFile whose streams write into buffers.
type testLogs struct{ stdout, stderr testsync.Buffer }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (tl *testLogs) logFile() *logFile {
	return &logFile{stdout: nopCloser{&tl.stdout}, stderr: nopCloser{&tl.stderr}}
}

// fifoPaths makes a folder for a task's FIFOs.
func fifoPaths(t *testing.T) cio.Config {
	dir := t.TempDir()
	return cio.Config{Stdout: filepath.Join(dir, "stdout"), Stderr: filepath.Join(dir, "stderr")}
}

// openWriter opens a FIFO's write end as the shim does (our read end is
// open, so this does not block).
func openWriter(t *testing.T, path string) *os.File {
	t.Helper()
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func write(t *testing.T, w io.Writer, s string) {
	t.Helper()
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
}

// waitCopied waits, with a deadline, for Wait to return.
func waitCopied(t *testing.T, l *logIO) {
	t.Helper()
	done := make(chan struct{})
	go func() { l.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the log copy did not end")
	}
}

func TestLogIOCopiesUntilWritersGo(t *testing.T) {
	for _, tc := range []struct {
		name           string
		stdout, stderr string // written, then the writer closes
	}{
		{"both streams", "one\ntwo\n", "err\n"},
		{"partial line", "no newline", ""},
		{"writers that say nothing", "", ""},
		{"more than a buffer", strings.Repeat("x", 3*logBufSize+17) + "\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fifoPaths(t)
			var tl testLogs
			l, err := openLogIO(cfg, tl.logFile())
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			wo, we := openWriter(t, cfg.Stdout), openWriter(t, cfg.Stderr)
			go func() {
				io.WriteString(wo, tc.stdout)
				wo.Close()
			}()
			write(t, we, tc.stderr)
			we.Close()
			waitCopied(t, l)
			if tl.stdout.String() != tc.stdout || tl.stderr.String() != tc.stderr {
				t.Fatalf("copied stdout %d bytes, stderr %q; want %d bytes, %q", len(tl.stdout.String()), tl.stderr.String(),
					len(tc.stdout), tc.stderr)
			}
		})
	}
}

// TestLogIOCancel: Cancel ends the copying of streams no writer has opened
// (as cio's stops a FIFO open in progress) and leaves those with a writer
// to copy on until it closes.
func TestLogIOCancel(t *testing.T) {
	t.Run("no writer", func(t *testing.T) {
		cfg := fifoPaths(t)
		var tl testLogs
		l, err := openLogIO(cfg, tl.logFile())
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		l.Cancel()
		waitCopied(t, l)
	})
	t.Run("writer open", func(t *testing.T) {
		cfg := fifoPaths(t)
		var tl testLogs
		l, err := openLogIO(cfg, tl.logFile())
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		wo, we := openWriter(t, cfg.Stdout), openWriter(t, cfg.Stderr)
		l.Cancel()
		write(t, wo, "after cancel\n")
		testsync.Until(t, "output written after Cancel copied", 30*time.Second, func() (bool, string) {
			return tl.stdout.String() == "after cancel\n", tl.stdout.String()
		})
		write(t, wo, "and more\n")
		wo.Close()
		we.Close()
		waitCopied(t, l)
		if got := tl.stdout.String(); got != "after cancel\nand more\n" {
			t.Fatalf("copied %q", got)
		}
	})
}

// TestLogIODetachAttach: output written while no runtime reads (the shim
// keeps a read end of its own, so the pipe holds it) reaches the log once
// a later runtime attaches; Detach leaves the FIFOs in place.
func TestLogIODetachAttach(t *testing.T) {
	cfg := fifoPaths(t)
	var first, second testLogs
	l, err := openLogIO(cfg, first.logFile())
	if err != nil {
		t.Fatal(err)
	}
	w := openWriter(t, cfg.Stdout)
	shimR, err := os.OpenFile(cfg.Stdout, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer shimR.Close()
	write(t, w, "one\n")
	testsync.Until(t, "first line copied", 30*time.Second, func() (bool, string) {
		return first.stdout.String() == "one\n", first.stdout.String()
	})
	l.Detach()
	for _, p := range []string{cfg.Stdout, cfg.Stderr} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("after Detach: %v", err)
		}
	}
	write(t, w, "two\n")
	l2, err := openLogIO(cfg, second.logFile())
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	write(t, w, "three\n")
	w.Close()
	l2.Cancel() // stderr never had a writer
	waitCopied(t, l2)
	if first.stdout.String() != "one\n" || second.stdout.String() != "two\nthree\n" {
		t.Fatalf("first runtime copied %q, second %q", first.stdout.String(), second.stdout.String())
	}
}

// TestLogIOHoldsNoThreads: copiers of streams with no writer yet wait in
// the runtime's poller, not in a blocking open(2) or read(2) that would
// hold an OS thread each (and the runtime keeps every thread it made).
func TestLogIOHoldsNoThreads(t *testing.T) {
	const n = 100
	before := threads(t)
	var ls []*logIO
	for i := 0; i < n; i++ {
		var tl testLogs
		l, err := openLogIO(fifoPaths(t), tl.logFile())
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	defer func() {
		for _, l := range ls {
			l.Close()
			l.Wait()
		}
	}()
	if after := threads(t); after-before > n/4 {
		t.Fatalf("%d copiers of streams without a writer: %d threads, %d before", 2*n, after, before)
	}
}

func threads(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "\nThreads:")
	f := strings.Fields(rest)
	if len(f) == 0 {
		t.Fatalf("no Threads in /proc/self/status")
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFIFOReaderEnd: a reader tells "no writer yet" (wait) from "the
// writers have gone" (end) whenever it looks, also when the writer came
// and went before its first read.
func TestFIFOReaderEnd(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before func(t *testing.T, path string) // after the read end is open, before the first read
		want   string
	}{
		{"writer came and went, silent", func(t *testing.T, path string) { openWriter(t, path).Close() }, ""},
		{"writer came and went, with output", func(t *testing.T, path string) {
			w := openWriter(t, path)
			write(t, w, "left behind")
			w.Close()
		}, "left behind"},
		{"two writers came and went", func(t *testing.T, path string) {
			a, b := openWriter(t, path), openWriter(t, path)
			write(t, a, "a")
			a.Close()
			write(t, b, "b")
			b.Close()
		}, "ab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "fifo")
			r, err := openFIFO(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.f.Close()
			tc.before(t, path)
			got := make(chan string, 1)
			go func() {
				var out strings.Builder
				r.copyTo(&out, nil)
				got <- out.String()
			}()
			select {
			case s := <-got:
				if s != tc.want {
					t.Fatalf("copied %q, want %q", s, tc.want)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the reader did not see the end")
			}
		})
	}
	t.Run("no writer yet: a later one is read, closing ends it", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "fifo")
		r, err := openFIFO(path)
		if err != nil {
			t.Fatal(err)
		}
		var out testsync.Buffer
		done := make(chan struct{})
		go func() { r.copyTo(&out, nil); close(done) }()
		// A writer that comes later is read.
		w := openWriter(t, path)
		write(t, w, "late\n")
		testsync.Until(t, "late output copied", 30*time.Second, func() (bool, string) { return out.String() == "late\n", out.String() })
		select {
		case <-done:
			t.Fatal("the copy ended with a writer open")
		default:
		}
		r.f.Close()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("closing the read end did not end the copy")
		}
	})
}
