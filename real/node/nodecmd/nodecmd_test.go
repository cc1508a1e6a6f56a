package nodecmd

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drydock-sim/drydock/internal/testsync"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, ExitOK},
		{"agent failed", &ExitError{Code: ExitFailed, Err: errors.New("x")}, ExitFailed},
		{"bad configuration", &ExitError{Code: ExitBadInput, Err: errors.New("x")}, ExitBadInput},
		{"wrapped", errors.Join(errors.New("a"), &ExitError{Code: ExitFailed, Err: errors.New("b")}), ExitFailed},
		{"cobra's flag error", errors.New("unknown flag: --x"), ExitBadInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExitCode(tc.err); got != tc.want {
				t.Fatalf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ path, use string }{
		{"drydock node", "node"},
		{"drydock-node", "drydock-node"},
	} {
		cmd := New(tc.path)
		if cmd.Use != tc.use || !strings.HasPrefix(cmd.Example, "  "+tc.path+" --server") {
			t.Errorf("New(%q): Use %q, Example %q", tc.path, cmd.Use, cmd.Example)
		}
	}
}

// TestHeapProfileOnSignal: --heap-profile writes the profile at SIGUSR1.
func TestHeapProfileOnSignal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heap.pprof")
	var logs testsync.Buffer
	stop := heapProfileOnSignal(path, slog.New(slog.NewTextHandler(&logs, nil)))
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	testsync.Until(t, "heap profile written", 30*time.Second, func() (bool, string) {
		return strings.Contains(logs.String(), "heap profile written"), logs.String()
	})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"heap profile:", "# runtime.MemStats", "# HeapInuse = ", "# Stack = "} {
		if !strings.Contains(string(b), want) {
			t.Errorf("profile lacks %q:\n%s", want, b)
		}
	}
}
