// Package apiserver is drydock's API server without a transport: create, get,
// list, update, patch, delete and watch of typed Kubernetes objects over the
// store port, with defaulting, admission and validation, and errors shaped
// like Kubernetes' (apimachinery api/errors). The simulator calls it in
// process; real mode puts HTTP in front of it.
package apiserver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/store"
)

// Config wires a Server to its ports.
type Config struct {
	Store store.Store
	Clock clock.Clock
	// Rand generates names for generateName, UIDs and Service IPs.
	Rand *rand.Rand
	// ServiceCIDR is the range ClusterIPs are allocated from (default 10.96.0.0/12).
	ServiceCIDR string
	// WatchWindow is how many recent events per resource a watch may resume
	// from; older resourceVersions get 410 Expired (default 4096).
	WatchWindow int
}

// Server is the transport-free API server. It is safe for concurrent use:
// writes are serialised by one mutex (the store does compare-and-swap anyway),
// reads go straight to the store.
type Server struct {
	store  store.Store
	clock  clock.Clock
	mu     sync.Mutex // guards rand, ip allocation and the write path
	rand   *rand.Rand
	ips    *ipAllocator
	hubs   map[*api.Resource]*hub
	closed []func()
	nsKeys map[string]string // namespace name -> its storage key (every create looks it up)
	pods   siblings          // recently created pods, whose parts new pods may share
}

// New creates a server and the namespaces and priority classes every
// Kubernetes cluster has (default, kube-system, kube-public, kube-node-lease;
// system-cluster-critical, system-node-critical) if they are missing.
func New(cfg Config) (*Server, error) {
	if cfg.ServiceCIDR == "" {
		cfg.ServiceCIDR = "10.96.0.0/12"
	}
	if cfg.WatchWindow <= 0 {
		cfg.WatchWindow = 4096
	}
	ips, err := newIPAllocator(cfg.ServiceCIDR)
	if err != nil {
		return nil, err
	}
	s := &Server{store: cfg.Store, clock: cfg.Clock, rand: cfg.Rand, ips: ips, hubs: map[*api.Resource]*hub{}, nsKeys: map[string]string{}}
	for _, r := range api.All {
		h := newHub(r, cfg.WatchWindow)
		// lastRev is set before the store watch starts: an asynchronous
		// store may dispatch (and move lastRev on) before Watch returns, and
		// a second Revision() call could name a revision whose events the
		// watch, started at the first, delivers.
		rev := cfg.Store.Revision()
		h.lastRev = rev
		cancel, err := cfg.Store.Watch(r.KeyPrefix(""), rev, h.dispatch)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("apiserver: watch %s: %w", r.Name, err)
		}
		s.hubs[r] = h
		s.closed = append(s.closed, cancel)
	}
	if err := s.loadServiceIPs(); err != nil {
		return nil, err
	}
	if err := s.bootstrap(); err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops the server's store watches.
func (s *Server) Close() {
	for _, c := range s.closed {
		c()
	}
}

// Store exposes the underlying store (for compaction by the driver).
func (s *Server) Store() store.Store { return s.store }

func (s *Server) bootstrap() error {
	ctx := context.Background()
	for _, ns := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease} {
		_, err := s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	for _, pc := range []struct {
		name  string
		value int32
	}{{"system-cluster-critical", 2000000000}, {"system-node-critical", 2000001000}} {
		_, err := s.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: pc.name}, Value: pc.value,
			Description: "Used for system critical pods that must not be moved from their current node."}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

// now is the API's notion of the current time: seconds precision, as
// Kubernetes serialises timestamps, so the simulator and real mode agree.
func (s *Server) now() metav1.Time {
	return metav1.NewTime(s.clock.Now().Truncate(time.Second))
}

const nameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// randomSuffixBytes is the 5-character suffix Kubernetes appends to
// generateName.
func (s *Server) randomSuffixBytes() (b [5]byte) {
	for i := range b {
		b[i] = nameAlphabet[s.rand.IntN(len(nameAlphabet))]
	}
	return b
}

// newUIDBytes draws a random (version 4) UUID.
func (s *Server) newUIDBytes() (b [16]byte) {
	for i := 0; i < 16; i += 8 {
		v := s.rand.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

// identity gives a new object of r its storage key (r.Key(ns, name)), its
// name (generateName plus a random suffix when generated) and a new
// UID, all in one allocation: the key ends with the name and the UID
// follows the key. Every Create needs all three (at 1,000 nodes, 216,000
// an hour, Events above all, which live for their hour): one 112-byte
// block instead of three, 64 bytes less per stored object. The random
// draws are made in the order Kubernetes' would be: the suffix, then the
// UID.
func (s *Server) identity(r *api.Resource, ns, name, generateName string, generated bool) (key, outName string, uid types.UID) {
	var suffix []byte
	if generated {
		sb := s.randomSuffixBytes()
		suffix = sb[:]
		name = generateName
	}
	u := s.newUIDBytes()
	n := len("/registry/") + len(r.Name) + 1 + len(name) + len(suffix) + 36
	if r.Namespaced {
		n += len(ns) + 1
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString("/registry/")
	b.WriteString(r.Name)
	b.WriteByte('/')
	if r.Namespaced {
		b.WriteString(ns)
		b.WriteByte('/')
	}
	nameAt := b.Len()
	b.WriteString(name)
	b.Write(suffix)
	keyEnd := b.Len()
	var out [36]byte
	b.Write(appendUUID(out[:0], &u))
	all := b.String()
	return all[:keyEnd], all[nameAt:keyEnd], types.UID(all[keyEnd:])
}

// formatUUID is fmt.Sprintf("%x-%x-%x-%x-%x") of b's 4, 2, 2, 2 and 6-byte
// groups, built in one allocation (TestFormatUUID).
func formatUUID(b *[16]byte) string {
	var out [36]byte
	return string(appendUUID(out[:0], b))
}

// appendUUID appends formatUUID(b) to dst.
func appendUUID(dst []byte, b *[16]byte) []byte {
	const hexDigits = "0123456789abcdef"
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0x0f])
	}
	return dst
}
