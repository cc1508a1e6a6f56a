package apiserver

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/api"
)

// ipAllocator hands out Service ClusterIPs from a CIDR. The first address
// (network) is never used; the second is reserved for the "kubernetes"
// Service as in Kubernetes.
type ipAllocator struct {
	base  uint32
	size  uint32
	used  map[uint32]bool
	ports map[int32]bool // NodePorts in use
}

func newIPAllocator(cidr string) (*ipAllocator, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return nil, fmt.Errorf("apiserver: service CIDR %q: want an IPv4 prefix such as 10.96.0.0/12", cidr)
	}
	p = p.Masked()
	b := p.Addr().As4()
	size := uint32(1) << (32 - p.Bits())
	if size < 8 {
		return nil, fmt.Errorf("apiserver: service CIDR %q is too small", cidr)
	}
	return &ipAllocator{base: binary.BigEndian.Uint32(b[:]), size: size, used: map[uint32]bool{}, ports: map[int32]bool{}}, nil
}

func (a *ipAllocator) offset(ip string) (uint32, bool) {
	addr, err := netip.ParseAddr(ip)
	if err != nil || !addr.Is4() {
		return 0, false
	}
	b := addr.As4()
	v := binary.BigEndian.Uint32(b[:])
	if v < a.base || v >= a.base+a.size {
		return 0, false
	}
	return v - a.base, true
}

func (a *ipAllocator) ip(off uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], a.base+off)
	return netip.AddrFrom4(b).String()
}

// allocate picks a free address at random (as Kubernetes does) with rnd.
func (a *ipAllocator) allocate(rnd func(n int) int) (string, error) {
	n := int(a.size) - 3 // network, .1 (kubernetes service), broadcast
	if len(a.used) >= n {
		return "", fmt.Errorf("range is full")
	}
	start := rnd(n)
	for i := 0; i < n; i++ {
		off := uint32((start+i)%n) + 2
		if !a.used[off] {
			a.used[off] = true
			return a.ip(off), nil
		}
	}
	return "", fmt.Errorf("range is full")
}

func (a *ipAllocator) claim(ip string) error {
	off, ok := a.offset(ip)
	if !ok {
		return fmt.Errorf("the provided IP (%s) is not in the valid range", ip)
	}
	if a.used[off] {
		return fmt.Errorf("provided IP is already allocated")
	}
	a.used[off] = true
	return nil
}

func (a *ipAllocator) release(ip string) {
	if off, ok := a.offset(ip); ok {
		delete(a.used, off)
	}
}

// allocatePort picks a free NodePort in 30000-32767.
func (a *ipAllocator) allocatePort(rnd func(n int) int) (int32, error) {
	const lo, n = 30000, 2768
	start := rnd(n)
	for i := 0; i < n; i++ {
		p := int32(lo + (start+i)%n)
		if !a.ports[p] {
			a.ports[p] = true
			return p, nil
		}
	}
	return 0, fmt.Errorf("range is full")
}

// loadServiceIPs rebuilds the allocation table from stored Services, so a
// restarted server does not hand out an address twice.
func (s *Server) loadServiceIPs() error {
	objs, _, err := s.store.List(api.Services.KeyPrefix(""))
	if err != nil {
		return err
	}
	for _, o := range objs {
		svc := o.(*corev1.Service)
		if off, ok := s.ips.offset(svc.Spec.ClusterIP); ok {
			s.ips.used[off] = true
		}
		for _, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				s.ips.ports[p.NodePort] = true
			}
		}
	}
	return nil
}
