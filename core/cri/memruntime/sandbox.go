package memruntime

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/drydock-sim/drydock/core/cri"
)

type sandbox struct {
	st    cri.SandboxStatus
	seq   uint64
	ipOff uint32 // 0: no address held
}

// RunPodSandbox implements cri.Runtime.
func (r *Runtime) RunPodSandbox(cfg *cri.SandboxConfig, done func(*cri.SandboxStatus, error)) {
	r.after(OpRunSandbox, func() {
		off, ip, ok := r.ips.allocate()
		if !ok {
			done(nil, fmt.Errorf("failed to set up sandbox network: no IP addresses available in range %s", r.cfg.PodCIDR))
			return
		}
		r.seq++
		s := &sandbox{seq: r.seq, ipOff: off, st: cri.SandboxStatus{
			ID: r.newID(), Name: cfg.Name, Namespace: cfg.Namespace, UID: cfg.UID, Attempt: cfg.Attempt,
			State: cri.SandboxReady, IP: ip, CreatedAt: r.clock.Now(), Labels: cfg.Labels, Annotations: cfg.Annotations,
		}}
		r.sandboxes[s.st.ID] = s
		st := s.st
		done(&st, nil)
	})
}

// StopPodSandbox implements cri.Runtime: running containers are killed at once.
func (r *Runtime) StopPodSandbox(id string, done func(error)) {
	r.after(OpStopSandbox, func() {
		s, ok := r.sandboxes[id]
		if !ok {
			done(fmt.Errorf("sandbox %s: %w", id, cri.ErrNotFound))
			return
		}
		r.killSandboxContainers(id)
		r.releaseIP(s)
		s.st.State = cri.SandboxNotReady
		done(nil)
	})
}

// RemovePodSandbox implements cri.Runtime.
func (r *Runtime) RemovePodSandbox(id string, done func(error)) {
	r.after(OpRemoveSandbox, func() {
		s, ok := r.sandboxes[id]
		if !ok {
			done(nil)
			return
		}
		r.killSandboxContainers(id)
		r.releaseIP(s)
		for cid, c := range r.containers {
			if c.st.SandboxID == id {
				delete(r.containers, cid)
			}
		}
		delete(r.sandboxes, id)
		done(nil)
	})
}

// killSandboxContainers SIGKILLs every running container of a sandbox, in
// creation order so that exit events come in a fixed order.
func (r *Runtime) killSandboxContainers(id string) {
	var list []*container
	for _, c := range r.containers {
		if c.st.SandboxID == id && c.st.State != cri.ContainerExited {
			list = append(list, c)
		}
	}
	sortContainers(list)
	for _, c := range list {
		r.exit(c, 137, cri.ReasonError)
	}
}

func (r *Runtime) releaseIP(s *sandbox) {
	if s.ipOff != 0 {
		r.ips.release(s.ipOff)
		s.ipOff = 0
	}
}

// ipPool hands out pod addresses round-robin from a prefix, like the CNI
// host-local plugin: a freed address is reused only after the others.
type ipPool struct {
	base uint32
	size uint32
	next uint32
	used map[uint32]bool
}

func newIPPool(cidr string) (*ipPool, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
		return nil, fmt.Errorf("memruntime: pod CIDR %q: want an IPv4 prefix of /30 or wider", cidr)
	}
	p = p.Masked()
	b := p.Addr().As4()
	return &ipPool{base: binary.BigEndian.Uint32(b[:]), size: 1 << (32 - p.Bits()), next: 2, used: map[uint32]bool{}}, nil
}

func mustPool(cidr string) *ipPool {
	p, err := newIPPool(cidr)
	if err != nil {
		panic(err)
	}
	return p
}

// allocate skips the network address, .1 (the gateway) and broadcast.
func (p *ipPool) allocate() (uint32, string, bool) {
	n := p.size - 3
	for i := uint32(0); i < n; i++ {
		off := p.next
		p.next++
		if p.next >= p.size-1 {
			p.next = 2
		}
		if !p.used[off] {
			p.used[off] = true
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], p.base+off)
			return off, netip.AddrFrom4(b).String(), true
		}
	}
	return 0, "", false
}

func (p *ipPool) release(off uint32) { delete(p.used, off) }
