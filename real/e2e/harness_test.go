package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// eventually polls cond every `every` until it reports true or timeout
// passes; then it fails the test with what, the time waited and the last
// detail cond gave. It returns that detail on success.
func eventually(t *testing.T, what string, timeout, every time.Duration, cond func() (bool, string)) string {
	t.Helper()
	detail, err := poll(capTimeout(t, timeout), every, cond)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return detail
}

// cleanupMargin is the time kept before the test binary's deadline (go
// test -timeout) for the cleanups: a test killed by the timeout panic runs
// none, and would leave namespaces, links and containers behind.
const cleanupMargin = 60 * time.Second

// capTimeout shortens timeout so that waiting ends cleanupMargin before
// the test's deadline.
func capTimeout(t *testing.T, timeout time.Duration) time.Duration {
	if dl, ok := t.Deadline(); ok {
		if left := time.Until(dl) - cleanupMargin; left < timeout {
			if left < 0 {
				left = 0
			}
			return left
		}
	}
	return timeout
}

// poll is eventually without the test: it returns an error naming the last
// detail when the deadline passes first.
func poll(timeout, every time.Duration, cond func() (bool, string)) (string, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		ok, detail := cond()
		if ok {
			return detail, nil
		}
		if time.Now().After(deadline) {
			return detail, fmt.Errorf("not reached after %s; last: %s", time.Since(start).Round(time.Millisecond), detail)
		}
		<-tick.C
	}
}

// proc is a process the test started in a process group of its own, with
// its stdout and stderr in a log file.
type proc struct {
	Name string
	Log  string // path of the combined output
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been reaped
	err  error         // Wait's result, valid after done
	file *os.File
}

// nsenterArgv prefixes argv so that it runs in network namespace netns (a
// name under /var/run/netns). nsenter --net enters only the network
// namespace: unlike `ip netns exec` it keeps the host's mount namespace, so
// that network namespaces the process bind-mounts are visible to the host's
// containerd.
func nsenterArgv(netns string, argv ...string) []string {
	if netns == "" {
		return argv
	}
	return append([]string{"nsenter", "--net=/var/run/netns/" + netns, "--"}, argv...)
}

// startProc starts argv (in network namespace netns unless empty) with its
// output in logDir/name.log, in a new process group; t.Cleanup kills the
// group (SIGTERM, then SIGKILL after grace) and reaps it, even when the
// test fails.
func startProc(t *testing.T, name, logDir, netns string, env []string, argv ...string) *proc {
	t.Helper()
	p, err := launch(name, logDir, netns, env, argv...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(10 * time.Second) })
	return p
}

func launch(name, logDir, netns string, env []string, argv ...string) (*proc, error) {
	argv = nsenterArgv(netns, argv...)
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	// A group of its own, so that the whole tree can be signalled; and
	// SIGKILL should the test binary die without running its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, strings.Join(argv, " "), err)
	}
	p := &proc{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{}), file: f}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process's id (with nsenter: the program's, nsenter execs it).
func (p *proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended, and its Wait error.
func (p *proc) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Kill sends SIGKILL to the process group and waits for the process.
func (p *proc) Kill() error {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s (pid %d) not reaped 30s after SIGKILL", p.Name, p.Pid())
	}
}

// Stop sends SIGTERM to the group, and SIGKILL when the process has not
// ended within grace; then SIGKILL to what is left of the group.
func (p *proc) Stop(grace time.Duration) {
	if ok, _ := p.Exited(); !ok {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
		}
	}
	_ = p.Kill() // the rest of the group, if any
}

// Tail is the last n lines of the process's log.
func (p *proc) Tail(n int) string { return tailFile(p.Log, n) }

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cmdResult runs argv with a timeout and returns its stdout; the error
// carries stderr.
func cmdOutput(ctx context.Context, timeout time.Duration, env []string, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %s: %w", timeout, err)
	}
	if err != nil {
		return out.String(), fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// logf is a goroutine-safe line collector for the test's own timeline,
// printed on failure.
type timeline struct {
	mu    sync.Mutex
	start time.Time
	lines []string
}

func newTimeline() *timeline { return &timeline{start: time.Now()} }

func (tl *timeline) add(format string, args ...any) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.lines = append(tl.lines, fmt.Sprintf("%7.2fs ", time.Since(tl.start).Seconds())+fmt.Sprintf(format, args...))
}

func (tl *timeline) String() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return strings.Join(tl.lines, "\n")
}
