// Package cni is the node agent's pod network: it implements the containerd
// runtime's Network port (SetUp/TearDown of a sandbox's network namespace)
// with the CNI library and the standard plugins (bridge, host-local,
// loopback, optionally portmap) found in /usr/lib/cni, as kubenet did:
//
//   - one Linux bridge per node (default "drydock0") that is the pods'
//     gateway, with hairpin mode for service traffic back to the same pod;
//   - host-local IPAM over the node's pod CIDR(s), learned from the Node
//     object (SetPodCIDRs) — until then SetUp fails with ErrNotReady;
//   - masquerade only for traffic that leaves the cluster CIDR (pod-to-pod
//     traffic between nodes keeps its source address), in a chain of its own
//     (CNI-DRYDOCK-MASQ in the nat table, jumped to from POSTROUTING);
//   - all state under Config.StateDir (host-local's data dir, libcni's result
//     cache, the generated conflist), so several node agents on one machine
//     do not share IP allocations.
//
// Plugins are exec'ed by the calling thread and act in its network
// namespace: a node agent started inside a network namespace (ip netns
// exec) gets its bridge, routes and rules there.
package cni

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/coreos/go-iptables/iptables"

	"github.com/drydock-sim/drydock/core/cri"
)

// Defaults.
const (
	DefaultNetworkName = "drydock"
	DefaultBridge      = "drydock0"
	DefaultIfName      = "eth0"
	// CNIVersion is the spec version of the generated config (the plugins
	// of containernetworking-plugins 1.1 speak up to 1.0.0).
	CNIVersion = "1.0.0"
	// MasqChain is the nat chain holding the pod masquerade rules.
	MasqChain = "CNI-DRYDOCK-MASQ"
)

// DefaultPluginDirs are searched for plugin binaries (Debian's, then the
// upstream default).
var DefaultPluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}

// ErrNotReady means the node has no pod CIDR yet: sandboxes cannot get
// addresses (the kubelet's NetworkPluginNotReady).
var ErrNotReady = errors.New("network plugin not ready: the node has no pod CIDR yet")

// Config configures the network of one node agent.
type Config struct {
	// StateDir holds everything the network keeps on disk: networks/
	// (host-local allocations), cache/ (libcni results) and net.d/ (the
	// generated conflist). Required, and distinct per node agent.
	StateDir string
	// PluginDirs are searched for plugins; default DefaultPluginDirs.
	PluginDirs []string
	// NetworkName is the CNI network name; default "drydock".
	NetworkName string
	// Bridge is the node's pod bridge; default "drydock0".
	Bridge string
	// IfName is the interface name inside pods; default "eth0".
	IfName string
	// ClusterCIDR (one, or IPv4,IPv6) is where pod traffic is not
	// masqueraded. Empty: only traffic within the node's pod CIDR is left
	// alone (the bridge plugin's ipMasq behaviour).
	ClusterCIDR string
	// MTU of the bridge and pod interfaces (0: the plugin default, 1500).
	MTU int
	// PortMap adds the portmap plugin to the chain, for hostPorts through
	// the portMappings capability. The cri port carries no port mappings
	// yet, so SetUp always passes an empty list: hostPort is not served.
	PortMap bool
	// NoHostRules leaves the node's iptables rules and sysctls alone (no
	// masquerade chain, bridge-nf-call-iptables untouched): for hosts whose
	// pod network is routed from outside, or where they are managed elsewhere.
	NoHostRules bool
	// PluginStderr receives the plugins' diagnostics (default os.Stderr).
	PluginStderr io.Writer
}

// Network sets up and tears down pod networking. It is safe for
// concurrent use.
type Network struct {
	cfg     Config
	cni     *libcni.CNIConfig
	cluster []netip.Prefix

	mu       sync.Mutex
	podCIDRs []netip.Prefix
	list     *libcni.NetworkConfigList
}

// New checks cfg and prepares the state directories. The network is not
// ready until SetPodCIDRs is called.
func New(cfg Config) (*Network, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("cni: Config.StateDir is required (a directory per node agent)")
	}
	if len(cfg.PluginDirs) == 0 {
		cfg.PluginDirs = DefaultPluginDirs
	}
	if cfg.NetworkName == "" {
		cfg.NetworkName = DefaultNetworkName
	}
	if cfg.Bridge == "" {
		cfg.Bridge = DefaultBridge
	}
	if len(cfg.Bridge) > 15 {
		return nil, fmt.Errorf("cni: Config.Bridge %q: interface names have at most 15 characters", cfg.Bridge)
	}
	if cfg.IfName == "" {
		cfg.IfName = DefaultIfName
	}
	n := &Network{cfg: cfg}
	if cfg.ClusterCIDR != "" {
		cl, err := parseCIDRs("cluster CIDR", cfg.ClusterCIDR)
		if err != nil {
			return nil, fmt.Errorf("cni: Config.ClusterCIDR: %w", err)
		}
		n.cluster = cl
	}
	for _, d := range []string{n.dataDir(), n.cacheDir(), n.confDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("cni: state dir: %w", err)
		}
	}
	stderr := cfg.PluginStderr
	if stderr == nil {
		stderr = os.Stderr
	}
	// An explicit Exec: libcni would otherwise set one lazily, racing
	// between concurrent calls.
	n.cni = libcni.NewCNIConfigWithCacheDir(cfg.PluginDirs, n.cacheDir(), &invoke.DefaultExec{
		RawExec: &invoke.RawExec{Stderr: stderr}, PluginDecoder: version.PluginDecoder{}})
	return n, nil
}

func (n *Network) dataDir() string  { return filepath.Join(n.cfg.StateDir, "networks") }
func (n *Network) cacheDir() string { return filepath.Join(n.cfg.StateDir, "cache") }
func (n *Network) confDir() string  { return filepath.Join(n.cfg.StateDir, "net.d") }

// ConfListPath is where the generated conflist is written (for operators;
// the network uses it from memory).
func (n *Network) ConfListPath() string {
	return filepath.Join(n.confDir(), "10-"+n.cfg.NetworkName+".conflist")
}

func parseCIDRs(what, s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("%s %q: %v", what, part, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// SetPodCIDRs gives the node's pod CIDRs (Node.spec.podCIDRs): it builds
// the CNI config over them and installs the masquerade rules. Calling it
// again with the same CIDRs does nothing; new CIDRs apply to later sandboxes.
func (n *Network) SetPodCIDRs(cidrs []string) error {
	if len(cidrs) == 0 {
		return errors.New("cni: SetPodCIDRs: no pod CIDR given")
	}
	pods, err := parseCIDRs("pod CIDR", strings.Join(cidrs, ","))
	if err != nil {
		return fmt.Errorf("cni: Node spec.podCIDRs: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if equalPrefixes(pods, n.podCIDRs) && n.list != nil {
		return nil
	}
	raw, err := n.confList(pods)
	if err != nil {
		return err
	}
	list, err := libcni.ConfListFromBytes(raw)
	if err != nil {
		return fmt.Errorf("cni: generated conflist: %w", err)
	}
	if err := writeFileAtomic(n.ConfListPath(), raw); err != nil {
		return fmt.Errorf("cni: %w", err)
	}
	if !n.cfg.NoHostRules {
		if err := n.syncMasquerade(pods); err != nil {
			return err
		}
		if err := bridgeNetfilter(); err != nil {
			return err
		}
	}
	n.podCIDRs, n.list = pods, list
	return nil
}

// PodCIDRs returns the pod CIDRs in use (nil until SetPodCIDRs).
func (n *Network) PodCIDRs() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, len(n.podCIDRs))
	for i, p := range n.podCIDRs {
		out[i] = p.String()
	}
	return out
}

// Status is nil when sandboxes can be networked, ErrNotReady before.
func (n *Network) Status() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.list == nil {
		return ErrNotReady
	}
	return nil
}

func equalPrefixes(a, b []netip.Prefix) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// confList renders the network configuration list.
func (n *Network) confList(pods []netip.Prefix) ([]byte, error) {
	var ranges [][]map[string]string
	for _, p := range pods {
		if p.Bits() > p.Addr().BitLen()-2 {
			return nil, fmt.Errorf("cni: pod CIDR %s is too small for a gateway and pods", p)
		}
		ranges = append(ranges, []map[string]string{{"subnet": p.String()}})
	}
	routes := []map[string]string{}
	for _, p := range pods {
		if p.Addr().Is4() {
			routes = append(routes, map[string]string{"dst": "0.0.0.0/0"})
		} else {
			routes = append(routes, map[string]string{"dst": "::/0"})
		}
	}
	bridge := map[string]any{
		"type":        "bridge",
		"bridge":      n.cfg.Bridge,
		"isGateway":   true,
		"ipMasq":      false, // masquerade is ours: only traffic leaving the cluster CIDR
		"hairpinMode": true,
		"ipam": map[string]any{
			"type":    "host-local",
			"dataDir": n.dataDir(),
			"ranges":  ranges,
			"routes":  routes,
		},
	}
	if n.cfg.MTU > 0 {
		bridge["mtu"] = n.cfg.MTU
	}
	plugins := []any{bridge, map[string]any{"type": "loopback"}}
	if n.cfg.PortMap {
		plugins = append(plugins, map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}, "snat": true})
	}
	return json.MarshalIndent(map[string]any{
		"cniVersion": CNIVersion,
		"name":       n.cfg.NetworkName,
		"plugins":    plugins,
	}, "", "  ")
}

// runtimeConf is the per-sandbox invocation: the CNI_ARGS a kubelet passes.
func (n *Network) runtimeConf(sandboxID, netnsPath string, sb *cri.SandboxConfig) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{ContainerID: sandboxID, NetNS: netnsPath, IfName: n.cfg.IfName,
		Args: [][2]string{{"IgnoreUnknown", "1"}, {"K8S_POD_INFRA_CONTAINER_ID", sandboxID}}}
	if sb != nil {
		rt.Args = append(rt.Args, [2]string{"K8S_POD_NAMESPACE", sb.Namespace}, [2]string{"K8S_POD_NAME", sb.Name},
			[2]string{"K8S_POD_UID", sb.UID})
	}
	if n.cfg.PortMap {
		rt.CapabilityArgs = map[string]any{"portMappings": []any{}}
	}
	return rt
}

// SetUp attaches the sandbox's network namespace to the node's pod network
// and returns the pod IP (the first address, in pod CIDR order). If a
// plugin fails, what was set up is torn down again.
func (n *Network) SetUp(ctx context.Context, sandboxID, netnsPath string, sb *cri.SandboxConfig) (string, error) {
	if sandboxID == "" || netnsPath == "" {
		return "", fmt.Errorf("cni: SetUp needs a sandbox ID and a network namespace path (got %q, %q)", sandboxID, netnsPath)
	}
	n.mu.Lock()
	list := n.list
	n.mu.Unlock()
	if list == nil {
		return "", ErrNotReady
	}
	rt := n.runtimeConf(sandboxID, netnsPath, sb)
	res, err := n.cni.AddNetworkList(ctx, list, rt)
	if err != nil {
		if derr := n.cni.DelNetworkList(context.WithoutCancel(ctx), list, rt); derr != nil {
			return "", fmt.Errorf("cni: set up sandbox %s: %w (and the cleanup failed: %v)", sandboxID, err, derr)
		}
		return "", fmt.Errorf("cni: set up sandbox %s: %w", sandboxID, err)
	}
	ip, err := sandboxIP(res)
	if err != nil {
		_ = n.cni.DelNetworkList(context.WithoutCancel(ctx), list, rt)
		return "", fmt.Errorf("cni: set up sandbox %s: %w", sandboxID, err)
	}
	return ip, nil
}

// sandboxIP picks the first address assigned inside the sandbox.
func sandboxIP(res types.Result) (string, error) {
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return "", fmt.Errorf("plugin result: %w", err)
	}
	for _, ipc := range r.IPs {
		if ipc.Interface != nil && *ipc.Interface >= 0 && *ipc.Interface < len(r.Interfaces) &&
			r.Interfaces[*ipc.Interface].Sandbox == "" {
			continue // an address of a host-side interface
		}
		return ipc.Address.IP.String(), nil
	}
	return "", errors.New("the plugins returned no address for the pod")
}

// TearDown detaches the sandbox: the pod's veth goes and its address goes
// back to host-local. It uses the configuration the sandbox was set up
// with (from libcni's cache) so it works across pod CIDR changes and
// restarts; netnsPath may be empty or gone (only the address is released).
// Tearing down an unknown sandbox is not an error (before SetPodCIDRs, a
// sandbox without a cached result is taken as never set up).
func (n *Network) TearDown(ctx context.Context, sandboxID, netnsPath string, sb *cri.SandboxConfig) error {
	if sandboxID == "" {
		return errors.New("cni: TearDown needs a sandbox ID")
	}
	if netnsPath != "" {
		if _, err := os.Stat(netnsPath); err != nil {
			netnsPath = "" // gone already: the plugins then only release the address
		}
	}
	rt := n.runtimeConf(sandboxID, netnsPath, sb)
	n.mu.Lock()
	list := n.list
	n.mu.Unlock()
	probe := list
	if probe == nil {
		probe = &libcni.NetworkConfigList{Name: n.cfg.NetworkName, CNIVersion: CNIVersion}
	}
	if raw, _, err := n.cni.GetNetworkListCachedConfig(probe, rt); err == nil && raw != nil {
		if cached, err := libcni.ConfListFromBytes(raw); err == nil {
			list = cached
		}
	}
	if list == nil {
		// Neither set up by this state dir nor configurable yet: nothing
		// of ours to undo.
		return nil
	}
	if err := n.cni.DelNetworkList(ctx, list, rt); err != nil {
		return fmt.Errorf("cni: tear down sandbox %s: %w", sandboxID, err)
	}
	return nil
}

// syncMasquerade writes the masquerade chain for the pod CIDRs: traffic from
// a pod to anything outside the cluster CIDR (or, without one, outside the
// node's pod CIDR) and not multicast is masqueraded.
func (n *Network) syncMasquerade(pods []netip.Prefix) error {
	for _, v4 := range []bool{true, false} {
		var src []netip.Prefix
		for _, p := range pods {
			if p.Addr().Is4() == v4 {
				src = append(src, p)
			}
		}
		if len(src) == 0 {
			continue
		}
		var keep []netip.Prefix
		for _, k := range n.cluster {
			if k.Addr().Is4() == v4 {
				keep = append(keep, k)
			}
		}
		if len(keep) == 0 {
			keep = src
		}
		ipt, err := newIPTables(v4)
		if err != nil {
			return err
		}
		var rules [][]string
		for _, k := range keep {
			rules = append(rules, []string{"-d", k.String(), "-j", "RETURN"})
		}
		mcast := "224.0.0.0/4"
		if !v4 {
			mcast = "ff00::/8"
		}
		rules = append(rules, []string{"-d", mcast, "-j", "RETURN"})
		for _, s := range src {
			rules = append(rules, []string{"-s", s.String(), "-j", "MASQUERADE"})
		}
		if err := ipt.ClearChain("nat", MasqChain); err != nil { // creates it if missing
			return fmt.Errorf("cni: masquerade chain: %w", err)
		}
		for _, r := range rules {
			if err := ipt.Append("nat", MasqChain, r...); err != nil {
				return fmt.Errorf("cni: masquerade rule %v: %w", r, err)
			}
		}
		if err := ipt.AppendUnique("nat", "POSTROUTING", jumpRule...); err != nil {
			return fmt.Errorf("cni: masquerade jump: %w", err)
		}
	}
	return nil
}

var jumpRule = []string{"-m", "comment", "--comment", "drydock pod masquerade", "-j", MasqChain}

func newIPTables(v4 bool) (*iptables.IPTables, error) {
	proto := iptables.ProtocolIPv4
	if !v4 {
		proto = iptables.ProtocolIPv6
	}
	ipt, err := iptables.New(iptables.IPFamily(proto), iptables.Timeout(10))
	if err != nil {
		return nil, fmt.Errorf("cni: iptables: %w", err)
	}
	return ipt, nil
}

// Cleanup removes what the network installed in the node's network
// namespace: the masquerade rules and the bridge. Tear the sandboxes down
// first. Host-local's files stay in StateDir for the caller to remove.
func (n *Network) Cleanup() error {
	var errs []error
	for _, v4 := range []bool{true, false} {
		ipt, err := newIPTables(v4)
		if err != nil {
			continue // no ip6tables: nothing was installed with it
		}
		if ok, _ := ipt.ChainExists("nat", MasqChain); !ok {
			continue
		}
		if err := ipt.DeleteIfExists("nat", "POSTROUTING", jumpRule...); err != nil {
			errs = append(errs, err)
		}
		if err := ipt.ClearAndDeleteChain("nat", MasqChain); err != nil {
			errs = append(errs, err)
		}
	}
	if err := deleteLink(n.cfg.Bridge); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// bridgeNetfilter makes bridged pod-to-pod traffic pass iptables, which
// service rules need when client and backend share the node's bridge (the
// kubelet's kubenet required the same). Where br_netfilter is not loaded
// the setting is absent and nothing is done.
func bridgeNetfilter() error {
	const path = "/proc/sys/net/bridge/bridge-nf-call-iptables"
	cur, err := os.ReadFile(path)
	if err != nil {
		return nil // no br_netfilter: bridged traffic skips iptables
	}
	if strings.TrimSpace(string(cur)) == "1" {
		return nil
	}
	if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("cni: enable %s: %w", path, err)
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
