package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNodeFailsWhileRunning: a node agent that stops with an error exits 1
// (cmd/drydock-node's TestCommandLine has the same case).
func TestNodeFailsWhileRunning(t *testing.T) {
	want := "not an address of this host"
	if os.Geteuid() != 0 {
		want = "must run as root"
	}
	code, _, stderr := runCLI(t, "node", "--server", "https://127.0.0.1:1", "--name", "n1", "--node-ip", "192.0.2.77",
		"--data-dir", filepath.Join(t.TempDir(), "data"))
	if code != exitFailed || !strings.Contains(stderr, "drydock: ") || !strings.Contains(stderr, want) {
		t.Fatalf("exit %d, stderr %q; want exit 1 naming %q", code, stderr, want)
	}
}
