// Package netnstest gives real-mode network tests throwaway network
// namespaces: unique names, removed in t.Cleanup even when the test fails,
// and a way to run Go code inside one on a locked OS thread (so the CNI
// plugins, iptables and netlink calls it makes act there).
package netnstest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

// Require skips the test when it cannot run (not root, a tool missing), but
// fails it under CI=true, where a skipped real-mode test would be a gap.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, tool := range tools {
		if strings.HasPrefix(tool, "/") {
			if _, err := os.Stat(tool); err != nil {
				missing = append(missing, tool)
			}
		} else if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("test needs %s (CI must provide them)", strings.Join(missing, ", "))
	}
	t.Skipf("needs %s", strings.Join(missing, ", "))
}

// Tag returns a short random hex string for unique names.
func Tag(t testing.TB) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Run runs a command and fails the test with its output on error.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// NS is a named network namespace (ip netns).
type NS struct {
	Name string
	Path string
}

// New creates namespace name with lo up, removed at cleanup.
func New(t testing.TB, name string) *NS {
	t.Helper()
	Run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	ns := &NS{Name: name, Path: "/var/run/netns/" + name}
	ns.Run(t, "ip", "link", "set", "lo", "up")
	return ns
}

// Run runs a command inside the namespace (ip netns exec).
func (ns *NS) Run(t testing.TB, args ...string) string {
	t.Helper()
	return Run(t, "ip", append([]string{"netns", "exec", ns.Name}, args...)...)
}

// Exec runs a command inside the namespace and returns its output and error.
func (ns *NS) Exec(args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns.Name}, args...)...).CombinedOutput()
	return string(out), err
}

// Do runs fn on a locked OS thread that has entered the namespace; child
// processes fn starts inherit it. The thread goes back to its namespace
// afterwards (or is discarded if that fails).
func (ns *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread() // the thread has not left its namespace
			errc <- err
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(ns.Path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open netns %s: %w", ns.Name, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter netns %s: %w", ns.Name, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err == nil {
			runtime.UnlockOSThread()
		} // else: leave the thread locked, the runtime ends it with the goroutine
		errc <- ferr
	}()
	return <-errc
}

// Link connects a and b with a veth pair named ifA (in a) and ifB (in b),
// with addresses addrA and addrB (CIDR notation), both up.
func Link(t testing.TB, a *NS, ifA, addrA string, b *NS, ifB, addrB string) {
	t.Helper()
	tmp := "vt" + Tag(t)
	Run(t, "ip", "link", "add", tmp+"a", "type", "veth", "peer", "name", tmp+"b")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", tmp+"a").Run() }) // if the move failed
	Run(t, "ip", "link", "set", tmp+"a", "netns", a.Name)
	Run(t, "ip", "link", "set", tmp+"b", "netns", b.Name)
	a.Run(t, "ip", "link", "set", tmp+"a", "name", ifA)
	b.Run(t, "ip", "link", "set", tmp+"b", "name", ifB)
	a.Run(t, "ip", "addr", "add", addrA, "dev", ifA)
	b.Run(t, "ip", "addr", "add", addrB, "dev", ifB)
	a.Run(t, "ip", "link", "set", ifA, "up")
	b.Run(t, "ip", "link", "set", ifB, "up")
}
