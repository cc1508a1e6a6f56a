// Package nodeipam assigns each Node a pod CIDR (spec.podCIDR and
// spec.podCIDRs) cut from the cluster CIDR, as kube-controller-manager's
// node IPAM controller does with its range allocator (--cluster-cidr,
// --node-cidr-mask-size, --allocate-node-cidrs):
//
//   - one subnet per cluster CIDR (one for single stack, an IPv4 and an IPv6
//     one for dual stack), of mask /24 (IPv4) or /64 (IPv6) by default;
//   - allocations already written on Nodes are kept: the set of used subnets
//     is rebuilt from the Nodes as they are listed, before any allocation;
//   - a deleted Node's subnets go back to the pool;
//   - the service CIDR, if it overlaps, is never handed out;
//   - when the range is full the Node gets a Warning event CIDRNotAvailable
//     and the allocation is retried with backoff.
//
// Keys are node names.
package nodeipam

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/controller"
	"github.com/drydock-sim/drydock/core/events"
	"github.com/drydock-sim/drydock/core/informer"
)

// Defaults, as Kubernetes' (kubeadm's usual pod network and
// kube-controller-manager's node CIDR mask sizes).
const (
	DefaultClusterCIDR          = "10.244.0.0/16"
	DefaultNodeCIDRMaskSizeIPv4 = 24
	DefaultNodeCIDRMaskSizeIPv6 = 64
)

// Event reasons (Kubernetes' node status change events of the allocator).
const (
	ReasonCIDRNotAvailable     = "CIDRNotAvailable"
	ReasonCIDRAssignmentFailed = "CIDRAssignmentFailed"
)

// Config wires the controller.
type Config struct {
	Client   client.Interface
	Clock    clock.Clock
	Recorder events.Recorder
	Nodes    *informer.Informer
	// ClusterCIDR is kube-controller-manager's --cluster-cidr: one CIDR, or
	// an IPv4 and an IPv6 one separated by a comma. Empty: DefaultClusterCIDR.
	ClusterCIDR string
	// Node CIDR mask sizes; zero means the defaults (24, 64).
	NodeCIDRMaskSizeIPv4 int
	NodeCIDRMaskSizeIPv6 int
	// ServiceCIDR (optional, may be dual stack like ClusterCIDR) is kept out
	// of the pool where it overlaps the cluster CIDR.
	ServiceCIDR string
}

// ParseCIDRs parses a comma-separated list of at most two CIDRs, at most
// one per IP family (the form of --cluster-cidr and
// --service-cluster-ip-range). flag names the setting in errors.
func ParseCIDRs(flag, s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a CIDR: %v", flag, part, err)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("%s: %q has host bits set (network is %s)", flag, part, p.Masked())
		}
		out = append(out, p)
	}
	if len(out) > 2 {
		return nil, fmt.Errorf("%s: %q: at most two CIDRs (one IPv4, one IPv6)", flag, s)
	}
	if len(out) == 2 && out[0].Addr().Is4() == out[1].Addr().Is4() {
		return nil, fmt.Errorf("%s: %q: a dual-stack value needs one IPv4 and one IPv6 CIDR", flag, s)
	}
	return out, nil
}

// Controller is the node IPAM controller.
type Controller struct {
	cfg    Config
	Runner *controller.Controller
	sets   []*cidrSet
	// held is what each node holds in sets, index by index (an invalid
	// prefix where it holds nothing in that set).
	held map[string][]netip.Prefix
}

// New validates cfg and builds the controller. Nodes that already carry
// pod CIDRs (in the informer now, or listed later) have them marked used
// as soon as they are seen, before any allocation runs.
func New(cfg Config) (*Controller, error) {
	if cfg.ClusterCIDR == "" {
		cfg.ClusterCIDR = DefaultClusterCIDR
	}
	if cfg.NodeCIDRMaskSizeIPv4 == 0 {
		cfg.NodeCIDRMaskSizeIPv4 = DefaultNodeCIDRMaskSizeIPv4
	}
	if cfg.NodeCIDRMaskSizeIPv6 == 0 {
		cfg.NodeCIDRMaskSizeIPv6 = DefaultNodeCIDRMaskSizeIPv6
	}
	if cfg.Recorder == nil {
		cfg.Recorder = events.Discard
	}
	clusters, err := ParseCIDRs("cluster CIDR", cfg.ClusterCIDR)
	if err != nil {
		return nil, err
	}
	c := &Controller{cfg: cfg, held: map[string][]netip.Prefix{}}
	for _, p := range clusters {
		mask := cfg.NodeCIDRMaskSizeIPv4
		if !p.Addr().Is4() {
			mask = cfg.NodeCIDRMaskSizeIPv6
		}
		s, err := newCIDRSet(p, mask)
		if err != nil {
			return nil, err
		}
		c.sets = append(c.sets, s)
	}
	if cfg.ServiceCIDR != "" {
		svcs, err := ParseCIDRs("service CIDR", cfg.ServiceCIDR)
		if err != nil {
			return nil, err
		}
		for _, svc := range svcs {
			for _, s := range c.sets {
				if s.cluster.Addr().Is4() == svc.Addr().Is4() && s.cluster.Overlaps(svc) {
					s.reserve(svc)
				}
			}
		}
	}
	c.Runner = controller.New("nodeipam", cfg.Clock, c)
	h := informer.Handler{
		OnAdd: func(obj api.Object) { c.seen(obj.(*corev1.Node)) },
		OnUpdate: func(_, cur api.Object) {
			c.seen(cur.(*corev1.Node))
		},
		OnDelete: func(obj api.Object) {
			n := obj.(*corev1.Node)
			c.release(n.Name)
			c.Runner.Enqueue(n.Name)
		},
	}
	cfg.Nodes.AddHandler(h)
	for _, obj := range cfg.Nodes.List() {
		h.OnAdd(obj)
	}
	return c, nil
}

// seen marks a node's recorded CIDRs as used at once (so a relist rebuilds
// the pool before any allocation runs) and queues the node.
func (c *Controller) seen(n *corev1.Node) {
	if len(podCIDRsOf(n)) > 0 && n.DeletionTimestamp == nil {
		// An error here is reported by the reconcile, which retries.
		_ = c.occupy(n)
	}
	c.Runner.Enqueue(n.Name)
}

// Free reports how many subnets are left in each cluster CIDR, in order.
func (c *Controller) Free() []int {
	out := make([]int, len(c.sets))
	for i, s := range c.sets {
		out[i] = s.free()
	}
	return out
}

// Reconcile makes sure node key has pod CIDRs, or frees them when it is gone.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	obj, ok := c.cfg.Nodes.Get("", key)
	if !ok {
		c.release(key)
		return controller.Result{}, nil
	}
	n := obj.(*corev1.Node)
	if n.DeletionTimestamp != nil {
		c.release(key)
		return controller.Result{}, nil
	}
	if len(podCIDRsOf(n)) > 0 {
		return controller.Result{}, c.occupy(n)
	}
	cidrs, had := c.held[key]
	if !had {
		cidrs = make([]netip.Prefix, len(c.sets))
		for i, s := range c.sets {
			p, err := s.allocateNext()
			if err != nil {
				c.held[key] = cidrs
				c.release(key)
				c.cfg.Recorder.Event(n, corev1.EventTypeWarning, ReasonCIDRNotAvailable, statusChange(n, ReasonCIDRNotAvailable))
				return controller.Result{}, fmt.Errorf("failed to allocate cidr from cluster cidr at idx:%d: %w", i, err)
			}
			cidrs[i] = p
		}
		c.held[key] = cidrs
	}
	if err := c.patch(ctx, key, cidrs); err != nil {
		c.release(key)
		if apierrors.IsNotFound(err) {
			return controller.Result{}, nil
		}
		c.cfg.Recorder.Event(n, corev1.EventTypeWarning, ReasonCIDRAssignmentFailed, statusChange(n, ReasonCIDRAssignmentFailed))
		return controller.Result{}, fmt.Errorf("failed to update node %s PodCIDR to %v: %w", key, strs(cidrs), err)
	}
	return controller.Result{}, nil
}

// statusChange is the message of Kubernetes' node status change events.
func statusChange(n *corev1.Node, status string) string {
	return fmt.Sprintf("Node %s status is now: %s", n.Name, status)
}

// patch writes spec.podCIDR and spec.podCIDRs, as Kubernetes' PatchNodeCIDRs.
func (c *Controller) patch(ctx context.Context, name string, cidrs []netip.Prefix) error {
	s := strs(cidrs)
	body, err := json.Marshal(map[string]any{"spec": map[string]any{"podCIDR": s[0], "podCIDRs": s}})
	if err != nil {
		return err
	}
	_, err = c.cfg.Client.Patch(ctx, api.Nodes, "", name, types.MergePatchType, body, "")
	return err
}

func strs(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// occupy makes what the pool holds for n match n.spec.podCIDRs.
func (c *Controller) occupy(n *corev1.Node) error {
	cidrs := podCIDRsOf(n)
	want := make([]netip.Prefix, len(cidrs))
	for i, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("node %s: spec.podCIDRs[%d]: %q is not a CIDR", n.Name, i, s)
		}
		if i >= len(c.sets) {
			return fmt.Errorf("node:%s has an allocated cidr: %v at index:%d that does not exist in cluster cidrs configuration", n.Name, s, i)
		}
		want[i] = p.Masked()
	}
	if slices.Equal(c.held[n.Name], want) {
		return nil
	}
	c.release(n.Name)
	for i, p := range want {
		if err := c.sets[i].occupy(p); err != nil {
			c.held[n.Name] = want[:i]
			c.release(n.Name)
			return fmt.Errorf("failed to mark cidr[%v] at idx [%d] as occupied for node: %s: %v", p, i, n.Name, err)
		}
	}
	c.held[n.Name] = want
	return nil
}

// podCIDRsOf is spec.podCIDRs, or the older single spec.podCIDR when only
// that is set (Kubernetes' API conversion fills one from the other).
func podCIDRsOf(n *corev1.Node) []string {
	if len(n.Spec.PodCIDRs) == 0 && n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return n.Spec.PodCIDRs
}

// release gives back whatever node name holds.
func (c *Controller) release(name string) {
	for i, p := range c.held[name] {
		if p.IsValid() {
			_ = c.sets[i].release(p) // held prefixes were occupied, so they are in range
		}
	}
	delete(c.held, name)
}
