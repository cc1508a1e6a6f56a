package iptables

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/net/ipv4"
	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/proxy"
	"github.com/drydock-sim/drydock/real/cni/netnstest"
)

// requireRoot fails under CI and skips elsewhere when the test cannot run:
// a skipped real-mode test in CI would be a hidden gap.
func requireRoot(t testing.TB) {
	t.Helper()
	netnstest.Require(t, "ip", "iptables", "iptables-restore", "iptables-save")
}

// worker runs functions on one OS thread that has entered a network
// namespace, so sockets and iptables commands act in that namespace.
type worker struct {
	fns chan func()
}

func startWorker(t testing.TB, name string) *worker {
	t.Helper()
	w := &worker{fns: make(chan func())}
	ready := make(chan error)
	go func() {
		// The thread is never unlocked: when the goroutine returns, the
		// runtime throws the thread (and its namespace) away.
		runtime.LockOSThread()
		h, err := netns.GetFromName(name)
		if err == nil {
			err = netns.Set(h)
			h.Close()
		}
		ready <- err
		if err != nil {
			return
		}
		for f := range w.fns {
			f()
		}
	}()
	if err := <-ready; err != nil {
		t.Fatalf("enter netns %s: %v", name, err)
	}
	t.Cleanup(func() { close(w.fns) })
	return w
}

// do runs f in the worker's namespace and waits for it.
func (w *worker) do(f func()) {
	done := make(chan struct{})
	w.fns <- func() { defer close(done); f() }
	<-done
}

func randomTag(t testing.TB) string { return netnstest.Tag(t) }

func run(t testing.TB, args ...string) {
	t.Helper()
	netnstest.Run(t, args[0], args[1:]...)
}

// newNetns creates a named network namespace that is deleted when the test
// ends, with everything in it (interfaces, routes, iptables, conntrack).
func newNetns(t testing.TB, name string) *worker {
	t.Helper()
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return startWorker(t, name)
}

// Test network, all in namespaces the test creates:
//
//	pod (10.244.1.200) ──vc┐
//	local pods (AnyIP     ─vl┤ node (backend's rules, ip_forward on)
//	  10.244.1.0/25)         │   10.244.1.129 on vc and vl
//	remote node (AnyIP    ─vr┤   NodeIP 172.18.0.1 ── remote 172.18.0.2
//	  10.244.2.0/24)         │
//	external client       ─ve┘   198.51.100.1 ── external 198.51.100.2
//
// The node's default route leads to the external client's link. Local
// endpoints live in "local pods", remote ones behind the remote node; both
// answer on every address of their range. In the node, after the
// backend's jumps (which are inserted at the top), the test rejects every
// new connection its rules did not DNAT with icmp-admin-prohibited: that
// is how "not intercepted" shows (ErrNoRule), distinct from the backend's
// REJECT (port unreachable: ErrRejected) and DROP (timeout: ErrDropped).
const (
	testNode       = "proxytest-node"
	testNodeIP     = "172.18.0.1"
	testClusterNet = "10.244.0.0/16"
	podGateway     = "10.244.1.129"
	clientIP       = "10.244.1.200"
	dropTimeout    = time.Second
)

// endpointPorts are the ports the endpoint namespaces listen on, TCP and
// UDP: every target port the behaviour suite uses.
var endpointPorts = []int{1053, 2053, 8080, 9090, 9253}

type topology struct {
	node, pod, ext *worker
	nodeNS         string
}

func newTopology(t testing.TB) *topology {
	t.Helper()
	requireRoot(t)
	tag := randomTag(t)
	name := func(s string) string { return "ddipt-" + tag + "-" + s }
	n, c, l, r, e := name("node"), name("pod"), name("lpods"), name("remote"), name("ext")
	top := &topology{nodeNS: n}
	top.node = newNetns(t, n)
	top.pod = newNetns(t, c)
	lw := newNetns(t, l)
	rw := newNetns(t, r)
	top.ext = newNetns(t, e)

	cmds := [][]string{
		{"-n", n, "link", "add", "vc", "type", "veth", "peer", "name", "eth0", "netns", c},
		{"-n", n, "link", "add", "vl", "type", "veth", "peer", "name", "eth0", "netns", l},
		{"-n", n, "link", "add", "vr", "type", "veth", "peer", "name", "eth0", "netns", r},
		{"-n", n, "link", "add", "ve", "type", "veth", "peer", "name", "eth0", "netns", e},
		{"-n", n, "addr", "add", podGateway + "/32", "dev", "vc"},
		{"-n", n, "addr", "add", podGateway + "/32", "dev", "vl"},
		{"-n", n, "addr", "add", testNodeIP + "/24", "dev", "vr"},
		{"-n", n, "addr", "add", "198.51.100.1/24", "dev", "ve"},
	}
	for _, dev := range []string{"vc", "vl", "vr", "ve"} {
		cmds = append(cmds, []string{"-n", n, "link", "set", dev, "up"})
	}
	for _, ns := range []string{c, l, r, e} {
		cmds = append(cmds, []string{"-n", ns, "link", "set", "eth0", "up"})
	}
	cmds = append(cmds,
		[]string{"-n", n, "route", "add", clientIP + "/32", "dev", "vc"},
		[]string{"-n", n, "route", "add", "10.244.1.0/24", "dev", "vl"},
		[]string{"-n", n, "route", "add", "10.244.2.0/24", "via", "172.18.0.2"},
		[]string{"-n", n, "route", "add", "default", "via", "198.51.100.2"},
		[]string{"-n", c, "addr", "add", clientIP + "/32", "dev", "eth0"},
		[]string{"-n", c, "route", "add", podGateway, "dev", "eth0", "scope", "link"},
		[]string{"-n", c, "route", "add", "default", "via", podGateway},
		[]string{"-n", l, "addr", "add", "10.244.1.250/32", "dev", "eth0"},
		[]string{"-n", l, "route", "add", "local", "10.244.1.0/25", "dev", "lo"},
		[]string{"-n", l, "route", "add", podGateway, "dev", "eth0", "scope", "link"},
		[]string{"-n", l, "route", "add", "default", "via", podGateway},
		[]string{"-n", r, "addr", "add", "172.18.0.2/24", "dev", "eth0"},
		[]string{"-n", r, "route", "add", "local", "10.244.2.0/24", "dev", "lo"},
		[]string{"-n", r, "route", "add", "default", "via", testNodeIP},
		[]string{"-n", e, "addr", "add", "198.51.100.2/24", "dev", "eth0"},
		[]string{"-n", e, "route", "add", "default", "via", "198.51.100.1"},
	)
	for _, cmd := range cmds {
		run(t, append([]string{"ip"}, cmd...)...)
	}
	var err error
	top.node.do(func() {
		for _, s := range []string{"net/ipv4/ip_forward", "net/ipv4/conf/all/rp_filter", "net/ipv4/conf/default/rp_filter"} {
			v := "0"
			if s == "net/ipv4/ip_forward" {
				v = "1"
			}
			if err = os.WriteFile("/proc/sys/"+s, []byte(v), 0o644); err != nil {
				return
			}
		}
		for _, rule := range [][]string{
			{"-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW", "-j", "REJECT", "--reject-with", "icmp-admin-prohibited"},
			{"-A", "FORWARD", "-m", "conntrack", "--ctstate", "NEW", "-m", "conntrack", "!", "--ctstate", "DNAT",
				"-j", "REJECT", "--reject-with", "icmp-admin-prohibited"},
		} {
			if out, e := exec.Command("iptables", append([]string{"-w", "5"}, rule...)...).CombinedOutput(); e != nil {
				err = fmt.Errorf("iptables %v: %v: %s", rule, e, out)
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	serveEndpoints(t, lw)
	serveEndpoints(t, rw)
	return top
}

// serveEndpoints answers every connection (TCP) or datagram (UDP) on
// endpointPorts with the address it was sent to, "ip:port".
func serveEndpoints(t testing.TB, w *worker) {
	t.Helper()
	var wg sync.WaitGroup
	var closers []io.Closer
	t.Cleanup(func() {
		for _, c := range closers {
			c.Close()
		}
		wg.Wait()
	})
	for _, port := range endpointPorts {
		var ln net.Listener
		var pc net.PacketConn
		var err error
		w.do(func() {
			if ln, err = net.Listen("tcp4", ":"+strconv.Itoa(port)); err != nil {
				return
			}
			pc, err = net.ListenPacket("udp4", ":"+strconv.Itoa(port))
		})
		if err != nil {
			t.Fatal(err)
		}
		closers = append(closers, ln, pc)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Write([]byte(c.LocalAddr().String()))
				c.Close()
			}
		}()
		go func() {
			defer wg.Done()
			p := ipv4.NewPacketConn(pc)
			if err := p.SetControlMessage(ipv4.FlagDst, true); err != nil {
				t.Errorf("IP_PKTINFO: %v", err)
				return
			}
			buf := make([]byte, 64)
			for {
				_, cm, from, err := p.ReadFrom(buf)
				if err != nil {
					return
				}
				if cm == nil {
					continue
				}
				// Answer from the address the datagram was sent to, so
				// that conntrack can undo the DNAT on the way back.
				reply := net.JoinHostPort(cm.Dst.String(), strconv.Itoa(port))
				p.WriteTo([]byte(reply), &ipv4.ControlMessage{Src: cm.Dst}, from)
			}
		}()
	}
}

// connect opens one connection from the worker's namespace and returns
// the answer, mapping failures to the proxy package's outcomes.
func connect(w *worker, ip string, port int32, proto corev1.Protocol) (string, error) {
	return connectFrom(w, 0, ip, port, proto)
}

// connectFrom is connect from a fixed source port (0: any).
func connectFrom(w *worker, srcPort int, ip string, port int32, proto corev1.Protocol) (string, error) {
	addr := net.JoinHostPort(ip, strconv.Itoa(int(port)))
	var answer string
	var err error
	w.do(func() {
		var c net.Conn
		d := net.Dialer{Timeout: dropTimeout}
		switch proto {
		case corev1.ProtocolTCP:
			if srcPort != 0 {
				d.LocalAddr = &net.TCPAddr{Port: srcPort}
			}
			c, err = d.Dial("tcp4", addr)
		case corev1.ProtocolUDP:
			if srcPort != 0 {
				d.LocalAddr = &net.UDPAddr{Port: srcPort}
			}
			c, err = d.Dial("udp4", addr)
		default:
			err = fmt.Errorf("protocol %s not supported by the test", proto)
		}
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(dropTimeout))
		if proto == corev1.ProtocolUDP {
			if _, err = c.Write([]byte("?")); err != nil {
				return
			}
		}
		buf := make([]byte, 64)
		var n int
		n, err = c.Read(buf)
		if n > 0 {
			answer, err = string(buf[:n]), nil
		}
	})
	return answer, classify(err)
}

func classify(err error) error {
	var ne net.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: %v", proxy.ErrRejected, err)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Errorf("%w: %v", proxy.ErrNoRule, err)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%w: %v", proxy.ErrDropped, err)
	}
	return err
}

// nsBackend is a Backend programming the test node's namespace.
type nsBackend struct {
	top *topology
	b   *Backend
}

func newNSBackend(t testing.TB) *nsBackend {
	top := newTopology(t)
	b, err := New(Config{NodeName: testNode, ClusterCIDR: testClusterNet})
	if err != nil {
		t.Fatal(err)
	}
	return &nsBackend{top: top, b: b}
}

func (n *nsBackend) Apply(rs proxy.RuleSet) error {
	var err error
	n.top.node.do(func() { err = n.b.Apply(rs) })
	return err
}

func (n *nsBackend) Node() string   { return testNode }
func (n *nsBackend) NodeIP() string { return testNodeIP }

func (n *nsBackend) Connect(ip string, port int32, proto corev1.Protocol) (string, error) {
	return connect(n.top.pod, ip, port, proto)
}

func (n *nsBackend) ConnectExternal(ip string, port int32, proto corev1.Protocol) (string, error) {
	return connect(n.top.ext, ip, port, proto)
}

// iptablesSave returns iptables-save output of the node namespace.
func (n *nsBackend) iptablesSave(t testing.TB) string {
	t.Helper()
	var out []byte
	var err error
	n.top.node.do(func() { out, err = exec.Command("iptables-save").Output() })
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
