package nodeipam

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
)

// maxSubnetBits caps how many subnets one cluster CIDR is cut into (2^16),
// as Kubernetes' cidrset does (clusterSubnetMaxDiff).
const maxSubnetBits = 16

// ErrCIDRRangeNoCIDRsRemaining is returned when a cluster CIDR has no free
// subnet left (Kubernetes' cidrset error of the same name and text).
var ErrCIDRRangeNoCIDRsRemaining = errors.New("CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range")

// cidrSet cuts one cluster CIDR into subnets of a fixed mask size and keeps
// which are in use, like Kubernetes' cidrset.CidrSet: allocation scans from
// the subnet after the last one handed out, so released subnets are reused
// only after the rest of the range has been tried.
type cidrSet struct {
	cluster    netip.Prefix
	subnetBits int // mask size of each subnet
	max        int // number of subnets
	used       []uint64
	// refs counts node claims per subnet index; reserved marks subnets
	// taken out of the pool for good (the service range).
	refs     map[int]int
	reserved map[int]bool
	next     int
}

func newCIDRSet(cluster netip.Prefix, subnetBits int) (*cidrSet, error) {
	cluster = cluster.Masked()
	if subnetBits < cluster.Bits() {
		return nil, fmt.Errorf("node CIDR mask size %d is smaller than the cluster CIDR %s mask", subnetBits, cluster)
	}
	if subnetBits > cluster.Addr().BitLen() {
		return nil, fmt.Errorf("node CIDR mask size %d is too big for the %d-bit addresses of cluster CIDR %s", subnetBits, cluster.Addr().BitLen(), cluster)
	}
	if subnetBits-cluster.Bits() > maxSubnetBits {
		return nil, fmt.Errorf("node CIDR mask size %d is too big for cluster CIDR %s: at most %d bits more than the cluster mask", subnetBits, cluster, maxSubnetBits)
	}
	n := 1 << (subnetBits - cluster.Bits())
	return &cidrSet{cluster: cluster, subnetBits: subnetBits, max: n, used: make([]uint64, (n+63)/64),
		refs: map[int]int{}, reserved: map[int]bool{}}, nil
}

func (s *cidrSet) isUsed(i int) bool { return s.used[i/64]&(1<<(i%64)) != 0 }
func (s *cidrSet) set(i int)         { s.used[i/64] |= 1 << (i % 64) }
func (s *cidrSet) clear(i int)       { s.used[i/64] &^= 1 << (i % 64) }

// free is the number of subnets left.
func (s *cidrSet) free() int {
	n := 0
	for i := 0; i < s.max; i++ {
		if !s.isUsed(i) {
			n++
		}
	}
	return n
}

// subnet is the prefix of subnet index i.
func (s *cidrSet) subnet(i int) netip.Prefix {
	base := new(big.Int).SetBytes(s.cluster.Addr().AsSlice())
	off := new(big.Int).Lsh(big.NewInt(int64(i)), uint(s.cluster.Addr().BitLen()-s.subnetBits))
	b := base.Add(base, off).Bytes()
	buf := make([]byte, s.cluster.Addr().BitLen()/8)
	copy(buf[len(buf)-len(b):], b)
	a, _ := netip.AddrFromSlice(buf)
	return netip.PrefixFrom(a, s.subnetBits)
}

// index is the subnet index holding address a (which must be in the cluster CIDR).
func (s *cidrSet) index(a netip.Addr) int {
	base := new(big.Int).SetBytes(s.cluster.Addr().AsSlice())
	off := new(big.Int).SetBytes(a.AsSlice())
	off.Sub(off, base)
	off.Rsh(off, uint(a.BitLen()-s.subnetBits))
	return int(off.Int64())
}

// span gives the subnet indices [begin, end] that p covers.
func (s *cidrSet) span(p netip.Prefix) (int, int, error) {
	p = p.Masked()
	if p.Addr().Is4() != s.cluster.Addr().Is4() || !s.cluster.Overlaps(p) {
		return 0, 0, fmt.Errorf("cidr %s is out the range of cluster cidr %s", p, s.cluster)
	}
	if p.Bits() <= s.cluster.Bits() {
		return 0, s.max - 1, nil
	}
	begin := s.index(p.Addr())
	if p.Bits() >= s.subnetBits {
		return begin, begin, nil
	}
	return begin, s.index(lastAddr(p)), nil
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for bit := p.Bits(); bit < len(b)*8; bit++ {
		b[bit/8] |= 0x80 >> (bit % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// allocateNext hands out the next free subnet.
func (s *cidrSet) allocateNext() (netip.Prefix, error) {
	for i := 0; i < s.max; i++ {
		c := (s.next + i) % s.max
		if !s.isUsed(c) {
			s.set(c)
			s.refs[c]++
			s.next = (c + 1) % s.max
			return s.subnet(c), nil
		}
	}
	return netip.Prefix{}, ErrCIDRRangeNoCIDRsRemaining
}

// occupy marks p as held by one more node.
func (s *cidrSet) occupy(p netip.Prefix) error {
	b, e, err := s.span(p)
	if err != nil {
		return err
	}
	for i := b; i <= e; i++ {
		s.set(i)
		s.refs[i]++
	}
	return nil
}

// release drops one node's hold on p; subnets no node holds become free.
func (s *cidrSet) release(p netip.Prefix) error {
	b, e, err := s.span(p)
	if err != nil {
		return err
	}
	for i := b; i <= e; i++ {
		if s.refs[i]--; s.refs[i] <= 0 {
			delete(s.refs, i)
			if !s.reserved[i] {
				s.clear(i)
			}
		}
	}
	return nil
}

// reserve takes the subnets overlapping p out of the pool for good.
func (s *cidrSet) reserve(p netip.Prefix) {
	b, e, err := s.span(p)
	if err != nil {
		return
	}
	for i := b; i <= e; i++ {
		s.set(i)
		s.reserved[i] = true
	}
}
