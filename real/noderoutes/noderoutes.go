// Package noderoutes keeps this host's routes to the other nodes' pod CIDRs
// via their InternalIP, as Kubernetes' kubenet / the cloud route
// controller's host-gw equivalent does: one route per remote pod CIDR,
// "PODCIDR via INTERNAL-IP". Every route it installs carries its own route
// protocol number (Config.Protocol, default 210, shown by `ip route` as
// "proto 210"), so it only ever changes or removes its own routes and
// Cleanup finds them all after a crash.
package noderoutes

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// DefaultProtocol marks drydock's routes (a number no routing daemon in
// /etc/iproute2/rt_protos uses).
const DefaultProtocol = 210

// Node is what routing needs to know about a node.
type Node struct {
	Name       string
	PodCIDRs   []string
	InternalIP string
}

// NodesFrom extracts Name, spec.podCIDRs (or the older spec.podCIDR) and
// the first InternalIP address of each Node.
func NodesFrom(nodes []*corev1.Node) []Node {
	out := make([]Node, 0, len(nodes))
	for _, n := range nodes {
		rn := Node{Name: n.Name, PodCIDRs: n.Spec.PodCIDRs}
		if len(rn.PodCIDRs) == 0 && n.Spec.PodCIDR != "" {
			rn.PodCIDRs = []string{n.Spec.PodCIDR}
		}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				rn.InternalIP = a.Address
				break
			}
		}
		out = append(out, rn)
	}
	return out
}

// Config configures the reconciler.
type Config struct {
	// Self is this node's name: its own pod CIDR is on its bridge, not routed.
	Self string
	// Protocol marks the routes (default DefaultProtocol); 1 to 4 are the
	// kernel's own and not allowed.
	Protocol int
	// Table holds the routes (default the main table).
	Table int
	// Handle is the netlink handle to use (default: the calling thread's
	// network namespace).
	Handle *netlink.Handle
}

// Reconciler installs and removes the routes. Not safe for concurrent use:
// call it from one goroutine (the node agent's loop).
type Reconciler struct {
	cfg Config
	h   *netlink.Handle
}

// New checks cfg.
func New(cfg Config) (*Reconciler, error) {
	if cfg.Protocol == 0 {
		cfg.Protocol = DefaultProtocol
	}
	if cfg.Protocol <= unix.RTPROT_STATIC || cfg.Protocol > 255 {
		return nil, fmt.Errorf("noderoutes: Config.Protocol %d: must be 5..255 (0-4 belong to the kernel)", cfg.Protocol)
	}
	if cfg.Table == 0 {
		cfg.Table = unix.RT_TABLE_MAIN
	}
	h := cfg.Handle
	if h == nil {
		h = &netlink.Handle{}
	}
	return &Reconciler{cfg: cfg, h: h}, nil
}

// Route is one wanted or installed route.
type Route struct {
	Dst netip.Prefix
	Via netip.Addr
}

func (r Route) String() string { return r.Dst.String() + " via " + r.Via.String() }

// Desired computes the routes for nodes: each other node's pod CIDRs via its
// InternalIP of the same family. Nodes without a pod CIDR or InternalIP are
// skipped; bad values are returned as errors naming the node and field,
// alongside the routes of the good nodes. Sorted by destination.
func (r *Reconciler) Desired(nodes []Node) ([]Route, error) {
	var out []Route
	var errs []error
	for _, n := range nodes {
		if n.Name == r.cfg.Self || n.InternalIP == "" || len(n.PodCIDRs) == 0 {
			continue
		}
		via, err := netip.ParseAddr(n.InternalIP)
		if err != nil {
			errs = append(errs, fmt.Errorf("node %s: status.addresses InternalIP %q: %v", n.Name, n.InternalIP, err))
			continue
		}
		for i, c := range n.PodCIDRs {
			dst, err := netip.ParsePrefix(c)
			if err != nil {
				errs = append(errs, fmt.Errorf("node %s: spec.podCIDRs[%d] %q: %v", n.Name, i, c, err))
				continue
			}
			if dst.Addr().Is4() != via.Unmap().Is4() {
				continue // no InternalIP of this family
			}
			out = append(out, Route{Dst: dst.Masked(), Via: via.Unmap()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { // stable: a clash keeps the first node
		if c := out[i].Dst.Addr().Compare(out[j].Dst.Addr()); c != 0 {
			return c < 0
		}
		return out[i].Dst.Bits() < out[j].Dst.Bits()
	})
	// Two nodes claiming one CIDR: keep the first (by destination, then
	// node order), report the clash.
	dedup := out[:0]
	for _, rt := range out {
		if len(dedup) > 0 && dedup[len(dedup)-1].Dst == rt.Dst {
			if dedup[len(dedup)-1].Via != rt.Via {
				errs = append(errs, fmt.Errorf("pod CIDR %s is claimed by nodes at %s and %s", rt.Dst, dedup[len(dedup)-1].Via, rt.Via))
			}
			continue
		}
		dedup = append(dedup, rt)
	}
	return dedup, errors.Join(errs...)
}

// Installed lists the routes this reconciler owns (its protocol and table).
func (r *Reconciler) Installed() ([]Route, error) {
	rs, err := r.list()
	if err != nil {
		return nil, err
	}
	out := make([]Route, 0, len(rs))
	for _, nr := range rs {
		out = append(out, fromNetlink(nr))
	}
	return out, nil
}

func (r *Reconciler) list() ([]netlink.Route, error) {
	filter := &netlink.Route{Protocol: netlink.RouteProtocol(r.cfg.Protocol), Table: r.cfg.Table}
	rs, err := r.h.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("noderoutes: list routes: %w", err)
	}
	return rs, nil
}

func fromNetlink(nr netlink.Route) Route {
	var rt Route
	if nr.Dst != nil {
		if a, ok := netip.AddrFromSlice(nr.Dst.IP); ok {
			ones, _ := nr.Dst.Mask.Size()
			rt.Dst = netip.PrefixFrom(a.Unmap(), ones)
		}
	}
	if a, ok := netip.AddrFromSlice(nr.Gw); ok {
		rt.Via = a.Unmap()
	}
	return rt
}

// Sync makes this host's own routes match nodes: missing ones are added,
// changed ones replaced, ones for gone nodes removed. Other routes are never
// touched. It goes on past a failing route and returns all errors.
func (r *Reconciler) Sync(nodes []Node) error {
	want, err := r.Desired(nodes)
	errs := []error{err}
	have, lerr := r.list()
	if lerr != nil {
		return errors.Join(append(errs, lerr)...)
	}
	installed := map[Route]netlink.Route{}
	for _, nr := range have {
		installed[fromNetlink(nr)] = nr
	}
	wanted := map[netip.Prefix]bool{}
	for _, rt := range want {
		wanted[rt.Dst] = true
		if _, ok := installed[rt]; ok {
			continue
		}
		nr := r.toNetlink(rt)
		if other, err := r.foreign(nr); err != nil {
			errs = append(errs, err)
			continue
		} else if other != "" {
			errs = append(errs, fmt.Errorf("noderoutes: route %s not installed: the table has a route to %s that is not ours (%s)", rt, rt.Dst, other))
			continue
		}
		if err := r.h.RouteReplace(nr); err != nil {
			errs = append(errs, fmt.Errorf("noderoutes: route %s: %w", rt, err))
		}
	}
	stale := make([]Route, 0)
	for rt := range installed {
		if !wanted[rt.Dst] { // a changed gateway was replaced above
			stale = append(stale, rt)
		}
	}
	sort.Slice(stale, func(i, j int) bool { return stale[i].String() < stale[j].String() })
	for _, rt := range stale {
		nr := installed[rt]
		if err := r.h.RouteDel(&nr); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("noderoutes: remove route %s: %w", rt, err))
		}
	}
	return errors.Join(errs...)
}

// foreign describes a route of another owner to the same destination in
// the table ("" if there is none): replacing it would hijack it.
func (r *Reconciler) foreign(nr *netlink.Route) (string, error) {
	family := netlink.FAMILY_V4
	if nr.Dst.IP.To4() == nil {
		family = netlink.FAMILY_V6
	}
	rs, err := r.h.RouteListFiltered(family, &netlink.Route{Dst: nr.Dst, Table: r.cfg.Table}, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	if err != nil {
		return "", fmt.Errorf("noderoutes: list routes to %s: %w", nr.Dst, err)
	}
	for _, o := range rs {
		if int(o.Protocol) != r.cfg.Protocol {
			return o.String(), nil
		}
	}
	return "", nil
}

func (r *Reconciler) toNetlink(rt Route) *netlink.Route {
	return &netlink.Route{
		Dst:      &net.IPNet{IP: rt.Dst.Addr().AsSlice(), Mask: net.CIDRMask(rt.Dst.Bits(), rt.Dst.Addr().BitLen())},
		Gw:       rt.Via.AsSlice(),
		Protocol: netlink.RouteProtocol(r.cfg.Protocol),
		Table:    r.cfg.Table,
	}
}

// Cleanup removes every route of this reconciler's protocol and table (on
// clean exit, or to clear what a crashed run left).
func (r *Reconciler) Cleanup() error {
	have, err := r.list()
	if err != nil {
		return err
	}
	var errs []string
	for _, nr := range have {
		if err := r.h.RouteDel(&nr); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Sprintf("%s: %v", fromNetlink(nr), err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("noderoutes: cleanup: %s", strings.Join(errs, "; "))
	}
	return nil
}

// SyncNodes is Sync over Node objects (see NodesFrom), for a node agent
// feeding it from its Node cache.
func (r *Reconciler) SyncNodes(nodes []*corev1.Node) error { return r.Sync(NodesFrom(nodes)) }
