package containerd

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/drydock-sim/drydock/core/cri"
)

// Network wires a sandbox's network namespace to the node's pod network.
// real/cni implements it with CNI plugins; Loopback is for tests.
type Network interface {
	// SetUp configures the namespace at netnsPath (created by the runtime
	// for sandboxID) and returns the pod IP.
	SetUp(ctx context.Context, sandboxID, netnsPath string, sb *cri.SandboxConfig) (ip string, err error)
	// TearDown undoes SetUp. It is called once per sandbox stop, also when
	// SetUp failed half way or the namespace is gone already, so it must
	// tolerate what is missing.
	TearDown(ctx context.Context, sandboxID, netnsPath string, sb *cri.SandboxConfig) error
}

// Loopback is a Network with no link out of the namespace: it brings up lo
// and gives each sandbox its own address from 127.1.0.0/16 on it, so pods
// have distinct IPs that probes reach from inside the pod's namespace. It
// is for tests; nothing outside the pod can reach it.
type Loopback struct {
	mu   sync.Mutex
	next uint32
	used map[string]string // sandbox ID → IP
}

// SetUp implements Network.
func (l *Loopback) SetUp(_ context.Context, sandboxID, netnsPath string, _ *cri.SandboxConfig) (string, error) {
	l.mu.Lock()
	if l.used == nil {
		l.used = map[string]string{}
	}
	var ip net.IP
	for {
		l.next++
		n := l.next % (1 << 16)
		if n == 0 || n == 0xffff {
			continue
		}
		ip = net.IPv4(127, 1, byte(n>>8), byte(n))
		taken := false
		for _, u := range l.used {
			if u == ip.String() {
				taken = true
			}
		}
		if !taken {
			break
		}
	}
	l.used[sandboxID] = ip.String()
	l.mu.Unlock()

	ns, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return "", fmt.Errorf("loopback network: %w", err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return "", fmt.Errorf("loopback network: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return "", fmt.Errorf("loopback network: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return "", fmt.Errorf("loopback network: lo up: %w", err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(32, 32)}}
	if err := h.AddrAdd(lo, addr); err != nil {
		return "", fmt.Errorf("loopback network: add %s: %w", ip, err)
	}
	return ip.String(), nil
}

// TearDown implements Network: it releases the address (the namespace,
// and the address on it, go with the sandbox).
func (l *Loopback) TearDown(_ context.Context, sandboxID, _ string, _ *cri.SandboxConfig) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.used, sandboxID)
	return nil
}
