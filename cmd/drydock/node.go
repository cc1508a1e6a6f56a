package main

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/drydock-sim/drydock/real/node"
)

func newNodeCommand() *cobra.Command {
	var cfg node.Config
	var level string
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run a node agent: join the cluster, run pods with containerd, program Service rules",
		Long: `Run drydock's node agent on this machine (as root, with containerd running).

The first start joins the cluster with the bootstrap token and stores the
node's certificates in --data-dir/pki; later starts reuse them (no token
needed). The server is trusted through --ca-cert-hash (printed by
'drydock server') or --ca-file. The agent registers the Node, waits for its pod
CIDR, then runs pods over containerd with a bridge network, installs iptables
rules for Services, routes to the other nodes' pod CIDRs, and serves container
logs to the API server on --kubelet-port. The built-in image "busybox" is made
from /bin/busybox (busybox-static) at start.

SIGTERM or SIGINT stops the agent; pods keep running (as with the kubelet),
the Service rules and node routes are removed unless --cleanup-on-exit=false.`,
		Example: `  drydock node --server https://192.168.56.10:6443 --token abcdef.0123456789abcdef \
    --ca-cert-hash sha256:... --name worker-1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDaemon(cmd, level, func(log *slog.Logger) (interface{ Run(context.Context) error }, error) {
				cfg.Logger = log
				return node.New(cfg)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Server, "server", "", "API server URL, https://HOST:PORT (required)")
	f.StringVar(&cfg.Token, "token", "", "bootstrap token <id>.<secret> (first join only)")
	f.StringVar(&cfg.Name, "name", "", "node name (default: the host name)")
	f.StringVar(&cfg.DataDir, "data-dir", node.DefaultDataDir, "directory for the node's credentials and network and runtime state")
	f.StringVar(&cfg.NodeIP, "node-ip", "", "the node's InternalIP (default: the address of the default-route interface)")
	f.StringSliceVar(&cfg.CACertHashes, "ca-cert-hash", nil, "pin of the cluster CA, sha256:<hex> (repeatable)")
	f.StringVar(&cfg.CAFile, "ca-file", "", "cluster CA certificate file, instead of --ca-cert-hash")
	f.BoolVar(&cfg.InsecureSkipCAVerification, "discovery-token-unsafe-skip-ca-verification", false, "join without verifying the server (unsafe)")
	f.StringVar(&cfg.ContainerdAddress, "containerd-address", node.DefaultContainerdAddress, "containerd socket")
	f.StringVar(&cfg.ContainerdNamespace, "containerd-namespace", "drydock", "containerd namespace of the node's containers (distinct per agent sharing one containerd)")
	f.StringVar(&cfg.KubeletAddress, "kubelet-address", "0.0.0.0", "address the kubelet HTTPS server listens on")
	f.IntVar(&cfg.KubeletPort, "kubelet-port", node.DefaultKubeletPort, "port of the kubelet HTTPS server (advertised in the Node)")
	f.StringVar(&cfg.ClusterCIDR, "cluster-cidr", node.DefaultClusterCIDR, "the cluster's pod network (the server's --cluster-cidr)")
	f.StringSliceVar(&cfg.ClusterDNS, "cluster-dns", nil, "DNS server addresses for pods (default: the node's resolv.conf)")
	f.StringVar(&cfg.ClusterDomain, "cluster-domain", "cluster.local", "cluster DNS domain")
	f.StringVar(&cfg.BusyboxPath, "busybox", "/bin/busybox", "static busybox binary the built-in image is made from")
	f.StringVar(&cfg.Bridge, "bridge", "drydock0", "name of the pod bridge")
	f.StringVar(&cfg.LogRoot, "pod-log-dir", "/var/log/pods", "where container logs are written")
	f.BoolVar(&cfg.CleanupOnExit, "cleanup-on-exit", true, "remove Service rules and node routes when stopping")
	f.Uint64Var(&cfg.Seed, "seed", 0, "seed of the node's random choices (0: random)")
	f.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	return cmd
}
