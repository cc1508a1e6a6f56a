package tui_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBinaryInTmux builds drydock and drives `drydock tui` in a real
// terminal: it starts, pauses, steps one event, opens a pod's detail,
// filters, and quits with exit status 0.
func TestBinaryInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is required in CI")
		}
		t.Skip("tmux not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "drydock")
	build := exec.Command("go", "build", "-o", bin, "../cmd/drydock")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	scen, err := filepath.Abs(recoveryFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("bad input", func(t *testing.T) { badInput(t, bin, scen) })
	t.Run("drive", func(t *testing.T) { driveInTmux(t, bin, scen, dir) })
	t.Run("NO_COLOR", func(t *testing.T) { colourInTmux(t, bin, scen, dir, true) })
	t.Run("colour", func(t *testing.T) { colourInTmux(t, bin, scen, dir, false) })
}

// badInput: mistakes are reported before any screen is drawn, with exit
// status 2 and a message naming the problem.
func badInput(t *testing.T, bin, scen string) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"tui"}, "give a scenario file"},
		{[]string{"tui", "no-such-file.yaml"}, "no-such-file.yaml"},
		{[]string{"tui", scen, "--speed", "0"}, "--speed 0: must be between 1 and 10000"},
		{[]string{"tui", scen, "--kubeconfig", "k"}, "not both"},
		{[]string{"tui", "--kubeconfig", "no-such-kubeconfig"}, "--kubeconfig no-such-kubeconfig"},
		{[]string{"tui", "--kubeconfig", "k", "--paused"}, "--paused is for a scenario"},
		{[]string{"tui", "--kubeconfig", "k", "--seed", "3"}, "--seed is for a scenario"},
	}
	for _, tc := range tests {
		cmd := exec.Command(bin, tc.args...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("drydock %v: status %d, output %q; want 2 and %q", tc.args, code, out, tc.want)
		}
	}
}

// tmuxSession runs drydock with args in a new detached 100x30 session and
// returns a tmux runner, the session name and the file its exit status
// lands in.
func tmuxSession(t *testing.T, dir, env, bin string, args ...string) (tmux func(...string) string, session, exitFile string) {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	session = "drydock-tui-test-" + hex.EncodeToString(rnd[:])
	exitFile = filepath.Join(dir, session+".exit")
	// The shell keeps the pane alive after drydock exits, so its status
	// can be read; TERM is fixed so the capture does not depend on the host,
	// and CI is unset because termenv takes CI=... to mean "no terminal, no
	// colour" (the pane is a terminal even when the test runs in CI).
	script := "unset NO_COLOR CI; TERM=xterm-256color " + env + " " + bin + " " + strings.Join(args, " ") +
		"; echo $? > " + exitFile + ".tmp; mv " + exitFile + ".tmp " + exitFile + "; sleep 600"
	// A server of our own (-S): no other test's sessions, and no race
	// with a shared server exiting when its last session is killed.
	// Its socket lives in the test's temporary directory, removed with it.
	socket := filepath.Join(dir, hex.EncodeToString(rnd[:4])+".sock")
	tmux = func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-S", socket}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", "sh", "-c", script)
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", socket, "kill-server").Run() })
	return tmux, session, exitFile
}

// waitExit waits for drydock to exit and checks its status is 0.
func waitExit(t *testing.T, exitFile string, screen func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, err := os.ReadFile(exitFile)
		if err == nil {
			if code := strings.TrimSpace(string(data)); code != "0" {
				t.Fatalf("drydock exited with status %s; screen:\n%s", code, screen())
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("drydock did not exit; screen:\n%s", screen())
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
}

func waitScreen(t *testing.T, screen func() string, what string, cond func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := screen()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; screen:\n%s", what, s)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not a wait for an effect
	}
}

// colourInTmux checks NO_COLOR: no colour escapes with it, colours without.
func colourInTmux(t *testing.T, bin, scen, dir string, noColor bool) {
	env := ""
	if noColor {
		env = "NO_COLOR=1"
	}
	tmux, session, exitFile := tmuxSession(t, dir, env, bin, "tui", scen, "--paused")
	plain := func() string { return tmux("capture-pane", "-p", "-t", session) }
	waitScreen(t, plain, "the dashboard", func(s string) bool { return strings.Contains(s, "worker-4") })
	raw := tmux("capture-pane", "-p", "-e", "-t", session)
	colour := regexp.MustCompile(`\x1b\[[0-9;]*3[0-9;]*m`)
	if got := colour.MatchString(raw); got == noColor {
		t.Errorf("NO_COLOR=%v but colour escapes present=%v:\n%q", noColor, got, raw)
	}
	tmux("send-keys", "-t", session, "q")
	waitExit(t, exitFile, plain)
}

func driveInTmux(t *testing.T, bin, scen, dir string) {
	tmux, session, exitFile := tmuxSession(t, dir, "", bin, "tui", scen, "--speed", "5")

	screen := func() string { return tmux("capture-pane", "-p", "-t", session) }
	waitFor := func(what string, cond func(string) bool) string {
		t.Helper()
		return waitScreen(t, screen, what, cond)
	}
	contains := func(subs ...string) func(string) bool {
		return func(s string) bool {
			for _, sub := range subs {
				if !strings.Contains(s, sub) {
					return false
				}
			}
			return true
		}
	}
	keys := func(k ...string) { tmux(append([]string{"send-keys", "-t", session}, k...)...) }
	eventsRe := regexp.MustCompile(`(\d+) events`)
	events := func(s string) int {
		m := eventsRe.FindStringSubmatch(s)
		if m == nil {
			return -1
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}

	waitFor("the dashboard running with its pods", contains("drydock · sim node-failure-recovery", "▶ 5x", "worker-4", "pods 10 (10 Running"))
	keys("Space")
	s := waitFor("paused", contains("❚❚ paused"))
	// The header shows the event count of the frame that paused; wait for
	// it to stand still (one more frame) before stepping.
	before := events(waitFor("a stable count", func(s string) bool { return strings.Contains(s, "events") }))
	keys("n")
	s = waitFor("one event stepped", func(s string) bool { return events(s) == before+1 })

	keys("2")
	waitFor("the pods view", contains("[2 Pods]", "default/web-"))
	keys("Enter")
	s = waitFor("a pod's detail", contains("› Pod default/web-", "Scheduling", "★", "Status history"))

	keys("Escape")
	waitFor("back to the list", contains("NAMESPACE/NAME"))
	keys("/", "w", "o", "r", "k", "e", "r", "-", "3", "Enter")
	s = waitFor("the filter applied", contains("/worker-3 ·"))
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "default/web-") && !strings.Contains(l, "worker-3") {
			t.Errorf("filtered list shows a row off worker-3: %q", l)
		}
	}
	if !strings.Contains(s, "worker-3") {
		t.Fatalf("no pod on worker-3 after filtering:\n%s", s)
	}

	// A resize redraws for the new width: the READY column moves left.
	col := func(s string) int {
		for _, l := range strings.Split(s, "\n") {
			if i := strings.Index(l, "READY"); strings.Contains(l, "NAMESPACE/NAME") && i >= 0 {
				return i
			}
		}
		return -1
	}
	wide := col(s)
	tmux("resize-window", "-t", session, "-x", "80", "-y", "24")
	s = waitFor("a redraw at 80x24", func(s string) bool { c := col(s); return c > 0 && c < wide })
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 24 || !strings.HasPrefix(lines[0], "drydock · sim") || !strings.HasPrefix(lines[len(lines)-1], "/worker-3") {
		t.Errorf("80x24 screen:\n%s", s)
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line of %d columns at 80x24: %q", n, l)
		}
	}

	keys("q")
	waitExit(t, exitFile, screen)
	// The alternate screen is gone: the shell's terminal is back.
	if s := screen(); strings.Contains(s, "drydock · sim") {
		t.Errorf("dashboard left on screen after quitting:\n%s", s)
	}
}
