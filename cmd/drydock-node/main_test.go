package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandLine: drydock-node answers as `drydock node` does
// (cmd/drydock's TestRealCommandsBadInput and TestRealCommandsHelp): help
// on stdout with exit 0, exit 2 with the reason on stderr when the flags
// cannot be used, exit 1 when the agent fails while running.
func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	failing := "not an address of this host"
	if os.Geteuid() != 0 {
		failing = "must run as root"
	}
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		stdout    []string
		stderr    string
		stderrNot string
	}{
		{name: "help", args: []string{"--help"}, code: 0, stdout: []string{
			"drydock-node [flags]", "--server", "--token", "--name", "--node-ip", "--ca-cert-hash", "--ca-file",
			"--containerd-namespace", "--kubelet-port", "--cluster-cidr", "--pod-log-dir", "--cleanup-on-exit", "--log-level"}},
		{name: "unknown flag", args: []string{"--bogus"}, code: 2, stderr: "drydock-node: unknown flag: --bogus", stderrNot: "Usage:"},
		{name: "bad flag value", args: []string{"--kubelet-port", "abc"}, code: 2, stderr: `"--kubelet-port"`},
		{name: "stray argument", args: []string{"extra"}, code: 2, stderr: "unknown command"},
		{name: "no server", args: []string{"--name", "n1"}, code: 2, stderr: "drydock-node: --server is required"},
		{name: "bad token", args: []string{"--server", "https://10.0.0.1:6443", "--name", "n1", "--token", "x"}, code: 2, stderr: "--token"},
		{name: "bad name", args: []string{"--server", "https://10.0.0.1:6443", "--name", "N_1"}, code: 2, stderr: "--name"},
		{name: "bad log level", args: []string{"--server", "https://10.0.0.1:6443", "--name", "n1", "--log-level", "loud"}, code: 2, stderr: "--log-level"},
		{name: "fails while running", args: []string{"--server", "https://127.0.0.1:1", "--name", "n1", "--node-ip", "192.0.2.77",
			"--data-dir", filepath.Join(dir, "data")}, code: 1, stderr: failing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.code, out.String(), errb.String())
			}
			for _, w := range tc.stdout {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			if !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.stderr)
			}
			if tc.stderrNot != "" && strings.Contains(errb.String(), tc.stderrNot) {
				t.Errorf("stderr %q has %q", errb.String(), tc.stderrNot)
			}
		})
	}
}
