package cni_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/real/cni"
	"github.com/drydock-sim/drydock/real/cni/netnstest"
)

// TestMain lets the test binary act as a node agent's network side when
// started with DRYDOCK_CNI_AGENT set: that is how TestAgentInNetns runs it
// under `ip netns exec`, as `drydock node` runs on the e2e hosts.
func TestMain(m *testing.M) {
	if cmd := os.Getenv("DRYDOCK_CNI_AGENT"); cmd != "" {
		if err := agent(cmd); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// agent does one network operation in the process's own namespace.
func agent(cmd string) error {
	n, err := cni.New(cni.Config{StateDir: os.Getenv("STATE"), ClusterCIDR: clusterCIDR})
	if err != nil {
		return err
	}
	if err := n.SetPodCIDRs([]string{os.Getenv("PODCIDR")}); err != nil {
		return err
	}
	sb := &cri.SandboxConfig{Name: "p", Namespace: "default", UID: "u"}
	switch cmd {
	case "setup":
		ip, err := n.SetUp(context.Background(), os.Getenv("SANDBOX"), os.Getenv("NETNS"), sb)
		if err != nil {
			return err
		}
		fmt.Print(ip)
	case "teardown":
		return n.TearDown(context.Background(), os.Getenv("SANDBOX"), os.Getenv("NETNS"), sb)
	case "cleanup":
		return n.Cleanup()
	default:
		return fmt.Errorf("unknown agent command %q", cmd)
	}
	return nil
}

// TestAgentInNetns runs the network side in a separate process inside a
// node namespace, with no thread tricks, started the two ways a node agent
// can be put in a namespace: `ip netns exec` (which also gives it a mount
// namespace of its own with a fresh /sys) and `nsenter --net` (which keeps
// the host's mounts). The bridge, the pod veth and the masquerade rules land
// in the node's namespace and nowhere else.
func TestAgentInNetns(t *testing.T) {
	netnstest.Require(t, "ip", "nsenter", "iptables", "/bin/busybox", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback")
	launchers := []struct {
		name string
		argv func(ns *netnstest.NS) []string
	}{
		{"ip netns exec", func(ns *netnstest.NS) []string { return []string{"ip", "netns", "exec", ns.Name} }},
		{"nsenter", func(ns *netnstest.NS) []string { return []string{"nsenter", "--net=" + ns.Path} }},
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range launchers {
		t.Run(l.name, func(t *testing.T) {
			tag := netnstest.Tag(t)
			node := netnstest.New(t, "dd"+tag+"-node")
			podNS := netnstest.New(t, "dd"+tag+"-pod")
			state := filepath.Join(t.TempDir(), "node")
			agentCmd := func(cmd string) *exec.Cmd {
				argv := append(l.argv(node), self)
				c := exec.Command(argv[0], argv[1:]...)
				c.Env = append(os.Environ(), "DRYDOCK_CNI_AGENT="+cmd, "STATE="+state, "PODCIDR=10.244.7.0/24",
					"SANDBOX=sb-"+tag, "NETNS="+podNS.Path)
				return c
			}
			run := func(cmd string) string {
				t.Helper()
				out, err := agentCmd(cmd).CombinedOutput()
				if err != nil {
					t.Fatalf("agent %s: %v\n%s", cmd, err, out)
				}
				return string(out)
			}
			t.Cleanup(func() { _ = agentCmd("teardown").Run() })
			ip := run("setup")
			if ip != "10.244.7.2" {
				t.Fatalf("agent setup printed %q, want 10.244.7.2", ip)
			}
			// The node reaches its pod over the bridge; the test's own
			// namespace has no such bridge.
			node.Run(t, "/bin/busybox", "ping", "-c1", "-W3", ip)
			if out := node.Run(t, "ip", "-4", "addr", "show", "dev", cni.DefaultBridge); !strings.Contains(out, "10.244.7.1/24") {
				t.Errorf("bridge in node namespace:\n%s", out)
			}
			if _, err := exec.Command("ip", "link", "show", cni.DefaultBridge).CombinedOutput(); err == nil {
				t.Errorf("bridge %s appeared in the test's own namespace", cni.DefaultBridge)
			}
			if out := node.Run(t, "iptables", "-t", "nat", "-S", "POSTROUTING"); !strings.Contains(out, "-j "+cni.MasqChain) {
				t.Errorf("masquerade jump missing in node namespace:\n%s", out)
			}
			run("teardown")
			if _, err := os.Stat(filepath.Join(state, "networks", cni.DefaultNetworkName, ip)); !os.IsNotExist(err) {
				t.Errorf("address %s still allocated after teardown (%v)", ip, err)
			}
			run("cleanup")
			if out, _ := node.Exec("iptables", "-t", "nat", "-S"); strings.Contains(out, cni.MasqChain) {
				t.Errorf("masquerade rules left:\n%s", out)
			}
			if out, err := node.Exec("ip", "link", "show", cni.DefaultBridge); err == nil {
				t.Errorf("bridge left:\n%s", out)
			}
		})
	}
}

// TestConcurrentSetUp sets up several pods on one node at once: every pod
// gets its own address and TearDown returns them all.
func TestConcurrentSetUp(t *testing.T) {
	netnstest.Require(t, "ip", "iptables", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback")
	tag := netnstest.Tag(t)
	node := netnstest.New(t, "dd"+tag+"-node")
	state := filepath.Join(t.TempDir(), "node")
	n, err := cni.New(cni.Config{StateDir: state, ClusterCIDR: clusterCIDR})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Do(func() error { return n.SetPodCIDRs([]string{"10.244.8.0/24"}) }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Do(n.Cleanup) })
	const pods = 6
	nss := make([]*netnstest.NS, pods)
	for i := range nss {
		nss[i] = netnstest.New(t, fmt.Sprintf("dd%s-p%d", tag, i))
	}
	ips := make([]string, pods)
	errs := make([]error, pods)
	var wg sync.WaitGroup
	for i := range nss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = node.Do(func() error {
				var err error
				ips[i], err = n.SetUp(context.Background(), fmt.Sprintf("sb%d", i), nss[i].Path, nil)
				return err
			})
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, ip := range ips {
		if errs[i] != nil {
			t.Fatalf("SetUp %d: %v", i, errs[i])
		}
		if seen[ip] || !strings.HasPrefix(ip, "10.244.8.") {
			t.Errorf("pod %d got %s (all: %v)", i, ip, ips)
		}
		seen[ip] = true
	}
	for i := range nss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = node.Do(func() error { return n.TearDown(context.Background(), fmt.Sprintf("sb%d", i), nss[i].Path, nil) })
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("TearDown %d: %v", i, err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(state, "networks", cni.DefaultNetworkName, "10.*"))
	if len(left) != 0 {
		t.Errorf("addresses still allocated: %v", left)
	}
}
