package cni_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/real/cni"
	"github.com/drydock-sim/drydock/real/cni/netnstest"
	"github.com/drydock-sim/drydock/real/noderoutes"
)

const clusterCIDR = "10.244.0.0/16"

// testNode is one node host: a network namespace on the test link with its
// own pod network and routes, as a node agent running in it would have.
type testNode struct {
	name    string
	ns      *netnstest.NS
	ip      string
	podCIDR string
	state   string
	net     *cni.Network
	routes  *noderoutes.Reconciler
}

// pod is a sandbox network namespace attached to a node.
type pod struct {
	ns   *netnstest.NS
	id   string
	ip   string
	node *testNode
}

func newNode(t *testing.T, ns *netnstest.NS, name, ip, podCIDR string) *testNode {
	t.Helper()
	n := &testNode{name: name, ns: ns, ip: ip, podCIDR: podCIDR, state: filepath.Join(t.TempDir(), name)}
	var err error
	n.net, err = cni.New(cni.Config{StateDir: n.state, ClusterCIDR: clusterCIDR})
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Do(func() error { return n.net.SetPodCIDRs([]string{podCIDR}) }); err != nil {
		t.Fatalf("%s: SetPodCIDRs: %v", name, err)
	}
	t.Cleanup(func() { _ = ns.Do(n.net.Cleanup) })
	if err := ns.Do(func() error {
		var err error
		n.routes, err = noderoutes.New(noderoutes.Config{Self: name})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ns.Do(n.routes.Cleanup) })
	return n
}

func (n *testNode) addPod(t *testing.T, name string) *pod {
	t.Helper()
	p := &pod{ns: netnstest.New(t, name), id: "sandbox-" + name, node: n}
	sb := &cri.SandboxConfig{Name: name, Namespace: "default", UID: "uid-" + name}
	err := n.ns.Do(func() error {
		var err error
		p.ip, err = n.net.SetUp(context.Background(), p.id, p.ns.Path, sb)
		return err
	})
	if err != nil {
		t.Fatalf("SetUp %s on %s: %v", name, n.name, err)
	}
	// Registered after the pod netns' removal, so it runs before it.
	t.Cleanup(func() {
		_ = n.ns.Do(func() error { return n.net.TearDown(context.Background(), p.id, p.ns.Path, sb) })
	})
	return p
}

func (n *testNode) tearDown(t *testing.T, p *pod) {
	t.Helper()
	sb := &cri.SandboxConfig{Name: p.ns.Name, Namespace: "default"}
	if err := n.ns.Do(func() error { return n.net.TearDown(context.Background(), p.id, p.ns.Path, sb) }); err != nil {
		t.Fatalf("TearDown %s: %v", p.id, err)
	}
}

// listen starts a TCP server inside ns at addr that answers every
// connection with the client address it sees.
func listen(t *testing.T, ns *netnstest.NS, addr string) {
	t.Helper()
	var ln net.Listener
	if err := ns.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		t.Fatalf("listen %s in %s: %v", addr, ns.Name, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			_, _ = io.WriteString(c, host)
			c.Close()
		}
	}()
}

// whoami connects from ns to addr and returns the client address the
// server saw.
func whoami(ns *netnstest.NS, addr string) (string, error) {
	var seen string
	err := ns.Do(func() error {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		b, err := io.ReadAll(c)
		seen = string(b)
		return err
	})
	return seen, err
}

func nodeList(nodes ...*testNode) []noderoutes.Node {
	var out []noderoutes.Node
	for _, n := range nodes {
		out = append(out, noderoutes.Node{Name: n.name, PodCIDRs: []string{n.podCIDR}, InternalIP: n.ip})
	}
	return out
}

// TestPodsAcrossNodes: two node namespaces on one link, each with a pod;
// pods reach each other through the node routes with their own addresses,
// traffic leaving the cluster CIDR is masqueraded, and TearDown gives the
// address back and removes the veth.
func TestPodsAcrossNodes(t *testing.T) {
	netnstest.Require(t, "ip", "iptables", "/bin/busybox", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback")
	tag := netnstest.Tag(t)
	nsA := netnstest.New(t, "dd"+tag+"-na")
	nsB := netnstest.New(t, "dd"+tag+"-nb")
	netnstest.Link(t, nsA, "eth0", "172.31.250.1/24", nsB, "eth0", "172.31.250.2/24")
	a := newNode(t, nsA, "node-a", "172.31.250.1", "10.244.0.0/24")
	b := newNode(t, nsB, "node-b", "172.31.250.2", "10.244.1.0/24")

	pa := a.addPod(t, "dd"+tag+"-pa")
	pb := b.addPod(t, "dd"+tag+"-pb")
	if pa.ip != "10.244.0.2" || pb.ip != "10.244.1.2" {
		t.Fatalf("pod IPs %s, %s: want the first addresses after the gateways, 10.244.0.2 and 10.244.1.2", pa.ip, pb.ip)
	}
	// The pod sees its address on eth0 and a default route via the bridge.
	if out := pa.ns.Run(t, "ip", "-4", "addr", "show", "dev", "eth0"); !strings.Contains(out, "inet 10.244.0.2/24") {
		t.Errorf("pod eth0:\n%s", out)
	}
	if out := pa.ns.Run(t, "ip", "route", "show", "default"); !strings.Contains(out, "via 10.244.0.1") {
		t.Errorf("pod default route: %s", out)
	}

	listen(t, pb.ns, pb.ip+":8080")
	listen(t, nsB, b.ip+":8081")

	// No routes yet: node A does not know where 10.244.1.0/24 is.
	if _, err := whoami(pa.ns, pb.ip+":8080"); err == nil {
		t.Fatal("pod A reached pod B before node routes existed: the test proves nothing")
	}

	for _, n := range []*testNode{a, b} {
		if err := n.ns.Do(func() error { return n.routes.Sync(nodeList(a, b)) }); err != nil {
			t.Fatalf("%s: routes: %v", n.name, err)
		}
	}
	if out := pa.ns.Run(t, "/bin/busybox", "ping", "-c1", "-W3", pb.ip); !strings.Contains(out, "1 packets received") {
		t.Errorf("ping pod A -> pod B:\n%s", out)
	}
	seen, err := whoami(pa.ns, pb.ip+":8080")
	if err != nil {
		t.Fatalf("pod A -> pod B: %v", err)
	}
	if seen != pa.ip {
		t.Errorf("pod B saw the client as %s, want pod A's own address %s (no masquerade inside the cluster CIDR)", seen, pa.ip)
	}
	seen, err = whoami(pa.ns, b.ip+":8081")
	if err != nil {
		t.Fatalf("pod A -> node B's host address: %v", err)
	}
	if seen != a.ip {
		t.Errorf("node B saw the client as %s, want node A's address %s (masqueraded: outside the cluster CIDR)", seen, a.ip)
	}
	if out := nsA.Run(t, "iptables", "-t", "nat", "-S", cni.MasqChain); !strings.Contains(out,
		"-A CNI-DRYDOCK-MASQ -d 10.244.0.0/16 -j RETURN\n-A CNI-DRYDOCK-MASQ -d 224.0.0.0/4 -j RETURN\n-A CNI-DRYDOCK-MASQ -s 10.244.0.0/24 -j MASQUERADE") {
		t.Errorf("masquerade chain:\n%s", out)
	}

	// TearDown: the veth leaves the bridge, host-local forgets the address.
	ipFile := filepath.Join(b.state, "networks", cni.DefaultNetworkName, pb.ip)
	if _, err := os.Stat(ipFile); err != nil {
		t.Fatalf("host-local record of %s: %v", pb.ip, err)
	}
	if out := nsB.Run(t, "ip", "-o", "link", "show", "master", cni.DefaultBridge); strings.Count(out, "\n") != 1 {
		t.Fatalf("bridge ports on node B before TearDown:\n%s", out)
	}
	b.tearDown(t, pb)
	if _, err := os.Stat(ipFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("host-local still holds %s after TearDown: %v", pb.ip, err)
	}
	if out := nsB.Run(t, "ip", "-o", "link", "show", "master", cni.DefaultBridge); out != "" {
		t.Errorf("bridge ports on node B after TearDown:\n%s", out)
	}
	if out := pb.ns.Run(t, "ip", "-o", "link", "show"); strings.Contains(out, "eth0") {
		t.Errorf("pod B still has eth0:\n%s", out)
	}
	b.tearDown(t, pb) // again: nothing to do, no error
	if _, err := whoami(pa.ns, pb.ip+":8080"); err == nil {
		t.Error("pod B still reachable after TearDown")
	}

	// A pod set up after the teardown gets an address again.
	pc := b.addPod(t, "dd"+tag+"-pc")
	if !strings.HasPrefix(pc.ip, "10.244.1.") {
		t.Errorf("new pod on node B got %s", pc.ip)
	}

	// Clean exit: routes and masquerade rules go, the bridge goes.
	if err := nsA.Do(a.routes.Cleanup); err != nil {
		t.Errorf("routes cleanup: %v", err)
	}
	if out := nsA.Run(t, "ip", "route", "show", "proto", fmt.Sprint(noderoutes.DefaultProtocol)); out != "" {
		t.Errorf("routes left on node A:\n%s", out)
	}
	a.tearDown(t, pa)
	if err := nsA.Do(a.net.Cleanup); err != nil {
		t.Errorf("network cleanup: %v", err)
	}
	if out, _ := nsA.Exec("iptables", "-t", "nat", "-S"); strings.Contains(out, cni.MasqChain) {
		t.Errorf("masquerade rules left on node A:\n%s", out)
	}
	if out, err := nsA.Exec("ip", "link", "show", cni.DefaultBridge); err == nil {
		t.Errorf("bridge left on node A:\n%s", out)
	}
}
