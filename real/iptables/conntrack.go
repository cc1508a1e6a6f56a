package iptables

import (
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/proxy"
)

// staleUDP matches the conntrack entries that kube-proxy clears after a
// sync: UDP flows to a Service's ClusterIP, external IP or NodePort that
// are not DNATed to one of the Service port's current endpoints. Without
// this, a UDP client that keeps its source port (DNS resolvers do) would
// keep reaching a removed endpoint, or keep being rejected after the
// Service got endpoints, until the entry times out.
type staleUDP struct {
	byAddr     map[netip.AddrPort]map[netip.Addr]bool
	byNodePort map[uint16]map[netip.Addr]bool
}

// newStaleUDP builds the filter for rs; nil when no UDP Service port has
// endpoints (then there is nothing to clear).
func newStaleUDP(rs proxy.RuleSet) *staleUDP {
	f := &staleUDP{byAddr: map[netip.AddrPort]map[netip.Addr]bool{}, byNodePort: map[uint16]map[netip.Addr]bool{}}
	for i := range rs.Ports {
		sp := &rs.Ports[i]
		if sp.Name.Protocol != corev1.ProtocolUDP {
			continue
		}
		eps := map[netip.Addr]bool{}
		for _, e := range sp.Endpoints {
			if a, err := netip.ParseAddr(e.IP); err == nil && a.Is4() {
				eps[a] = true
			}
		}
		if len(eps) == 0 {
			continue
		}
		for _, ip := range append([]string{sp.ClusterIP}, sp.ExternalIPs...) {
			if a, err := netip.ParseAddr(ip); err == nil && a.Is4() {
				f.byAddr[netip.AddrPortFrom(a, uint16(sp.Port))] = eps
			}
		}
		if sp.NodePort != 0 {
			f.byNodePort[uint16(sp.NodePort)] = eps
		}
	}
	if len(f.byAddr) == 0 && len(f.byNodePort) == 0 {
		return nil
	}
	return f
}

// MatchConntrackFlow implements netlink.CustomConntrackFilter.
func (f *staleUDP) MatchConntrackFlow(fl *netlink.ConntrackFlow) bool {
	if fl.Forward.Protocol != unix.IPPROTO_UDP {
		return false
	}
	dst, ok1 := netip.AddrFromSlice(fl.Forward.DstIP)
	src, ok2 := netip.AddrFromSlice(fl.Reverse.SrcIP)
	if !ok1 || !ok2 {
		return false
	}
	dst, src = dst.Unmap(), src.Unmap()
	if eps, ok := f.byAddr[netip.AddrPortFrom(dst, fl.Forward.DstPort)]; ok && !eps[src] {
		return true
	}
	if eps, ok := f.byNodePort[fl.Forward.DstPort]; ok && !eps[src] {
		return true
	}
	return false
}

// clearStaleUDP deletes the matching entries from the conntrack table of
// the current network namespace.
func clearStaleUDP(f *staleUDP) error {
	_, err := netlink.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, f)
	return err
}
