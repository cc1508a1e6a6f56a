package containerd

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/cio"
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
