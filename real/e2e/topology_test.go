package e2e

import (
	"crypto/rand"
	"fmt"
	"os/exec"
	"testing"

	"github.com/drydock-sim/drydock/real/cni/netnstest"
)

// requireRoot fails under CI and skips elsewhere when the test cannot run:
// a skipped real-mode test in CI would be a hidden gap.
func requireRoot(t *testing.T, tools ...string) {
	t.Helper()
	netnstest.Require(t, tools...)
}

// host is one machine of the test cluster: a network namespace with a veth
// into the test bridge and its own address.
type host struct {
	Name  string // netns name
	IP    string // address on the bridge
	veth  string // host-side end
	inner string // end inside the namespace
}

// topology is the test's network: a bridge in the root namespace (which the
// server uses, at GatewayIP) and one namespace per node host.
type topology struct {
	Bridge    string
	GatewayIP string
	Prefix    int
	Hosts     []*host
}

// randomTag gives names unique to this run, so that a run left behind by a
// killed test never collides with a new one.
func randomTag(t *testing.T) string { return netnstest.Tag(t) }

// randomByte is a random number in [0, 256).
func randomByte(t *testing.T) int {
	b := make([]byte, 1)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return int(b[0])
}

// run executes a command and fails the test with its output on error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	return netnstest.Run(t, name, args...)
}

// newTopology creates the bridge and n host namespaces on 10.<a>.<b>.0/24,
// and registers their removal (namespaces first, then the bridge) with
// t.Cleanup so they go even when the test fails.
func newTopology(t *testing.T, n int, subnet string) *topology {
	t.Helper()
	tag := randomTag(t)
	tp := &topology{Bridge: "ddbr" + tag, GatewayIP: subnet + ".1", Prefix: 24}
	run(t, "ip", "link", "add", tp.Bridge, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", tp.Bridge).Run() })
	run(t, "ip", "addr", "add", fmt.Sprintf("%s/%d", tp.GatewayIP, tp.Prefix), "dev", tp.Bridge)
	run(t, "ip", "link", "set", tp.Bridge, "up")
	for i := 0; i < n; i++ {
		h := &host{
			Name:  fmt.Sprintf("dd%s-n%d", tag, i),
			IP:    fmt.Sprintf("%s.%d", subnet, 10+i),
			veth:  fmt.Sprintf("dd%sv%d", tag, i),
			inner: "eth0",
		}
		run(t, "ip", "netns", "add", h.Name)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", h.Name).Run() })
		run(t, "ip", "link", "add", h.veth, "type", "veth", "peer", "name", h.veth+"p")
		t.Cleanup(func() { _ = exec.Command("ip", "link", "del", h.veth).Run() })
		run(t, "ip", "link", "set", h.veth+"p", "netns", h.Name)
		run(t, "ip", "link", "set", h.veth, "master", tp.Bridge, "up")
		in := func(args ...string) { run(t, "ip", append([]string{"netns", "exec", h.Name}, args...)...) }
		in("ip", "link", "set", h.veth+"p", "name", h.inner)
		in("ip", "addr", "add", fmt.Sprintf("%s/%d", h.IP, tp.Prefix), "dev", h.inner)
		in("ip", "link", "set", h.inner, "up")
		in("ip", "link", "set", "lo", "up")
		in("ip", "route", "add", "default", "via", tp.GatewayIP)
		in("sysctl", "-qw", "net.ipv4.ip_forward=1")
		tp.Hosts = append(tp.Hosts, h)
	}
	return tp
}

// TestTopology checks the harness itself: every host reaches the server's
// address and the other hosts across the bridge.
func TestTopology(t *testing.T) {
	requireRoot(t, "ip", "/bin/busybox")
	tp := newTopology(t, 3, "10.231.7")
	for _, h := range tp.Hosts {
		run(t, "ip", "netns", "exec", h.Name, "/bin/busybox", "ping", "-c1", "-W2", tp.GatewayIP)
		for _, o := range tp.Hosts {
			if o != h {
				run(t, "ip", "netns", "exec", h.Name, "/bin/busybox", "ping", "-c1", "-W2", o.IP)
			}
		}
	}
}
