package main

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/drydock-sim/drydock/core/controllers/podgc"
	"github.com/drydock-sim/drydock/real/server"
)

// logLevel parses --log-level.
func logLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// runDaemon is the body of the long-running commands (server, node): the
// logger from --log-level, the component from build (a bad configuration is
// bad input, exit 2), then run until SIGTERM or SIGINT (a failure: exit 1).
func runDaemon(cmd *cobra.Command, level string, build func(*slog.Logger) (interface {
	Run(context.Context) error
}, error)) error {
	lvl, err := logLevel(level)
	if err != nil {
		return badInput(err)
	}
	d, err := build(slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl})))
	if err != nil {
		return badInput(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := d.Run(ctx); err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	return nil
}

func newServerCommand() *cobra.Command {
	var cfg server.Config
	var level string
	var gcThreshold int32
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: API server (HTTPS), etcd, scheduler and controllers",
		Long: `Run drydock's control plane on this machine.

On first start it creates, in --data-dir: the cluster CA and the API server's
certificates (pki/), an admin kubeconfig (admin.kubeconfig), a bootstrap token
valid for 24 hours (bootstrap-tokens; more with 'drydock token create') and,
unless --etcd-servers is given, an embedded etcd (etcd/). It logs the command
that joins a node:

  drydock-node --server https://ADDR:6443 --token TOKEN --ca-cert-hash sha256:HASH --name NODE

Use the cluster with kubectl --kubeconfig DATA-DIR/admin.kubeconfig.
SIGTERM or SIGINT shuts it down gracefully. Logs go to stderr.`,
		Example: `  drydock server --advertise-address 192.168.56.10
  drydock server --etcd-servers https://10.0.0.5:2379 --etcd-cafile ca.pem --etcd-certfile c.pem --etcd-keyfile k.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDaemon(cmd, level, func(log *slog.Logger) (interface{ Run(context.Context) error }, error) {
				cfg.Logger = log
				cfg.TerminatedPodGCThreshold = &gcThreshold
				return server.New(cfg)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", server.DefaultDataDir, "directory for etcd data, PKI, tokens and the admin kubeconfig")
	f.StringSliceVar(&cfg.EtcdEndpoints, "etcd-servers", nil, "external etcd endpoints (comma-separated); empty runs etcd embedded")
	f.StringVar(&cfg.EtcdCAFile, "etcd-cafile", "", "CA bundle to verify external etcd's certificates")
	f.StringVar(&cfg.EtcdCertFile, "etcd-certfile", "", "client certificate for external etcd")
	f.StringVar(&cfg.EtcdKeyFile, "etcd-keyfile", "", "client key for external etcd")
	f.StringVar(&cfg.EtcdPrefix, "etcd-prefix", "/drydock", "key prefix in external etcd")
	f.DurationVar(&cfg.CompactionInterval, "etcd-compaction-interval", server.DefaultCompactionInterval, "how often etcd history is compacted (0: default, negative: never)")
	f.StringVar(&cfg.BindAddress, "bind-address", "0.0.0.0", "address the HTTPS API listens on")
	f.IntVar(&cfg.SecurePort, "secure-port", server.DefaultSecurePort, "port of the HTTPS API")
	f.IntVar(&cfg.InsecurePort, "insecure-port", 0, "if non-zero, also serve plain HTTP WITHOUT authentication on 127.0.0.1 at this port")
	f.StringVar(&cfg.AdvertiseAddress, "advertise-address", "", "address nodes and kubeconfigs use to reach the server (default: --bind-address if specific, else the default-route interface's address)")
	f.StringSliceVar(&cfg.TLSSANs, "tls-san", nil, "extra names or addresses for the serving certificate (repeatable)")
	f.StringVar(&cfg.ServiceCIDR, "service-cluster-ip-range", server.DefaultServiceCIDR, "range Service ClusterIPs come from")
	f.StringVar(&cfg.ClusterCIDR, "cluster-cidr", server.DefaultClusterCIDR, "pod network; each node gets a /24 (IPv4) of it")
	f.DurationVar(&cfg.NodeMonitorPeriod, "node-monitor-period", 5*time.Second, "how often node health is checked")
	f.DurationVar(&cfg.NodeMonitorGracePeriod, "node-monitor-grace-period", 40*time.Second, "how long a node may go without renewing its Lease before it is marked NotReady")
	f.Int32Var(&gcThreshold, "terminated-pod-gc-threshold", podgc.DefaultTerminatedPodThreshold,
		"number of terminated pods that may exist before the pod garbage collector deletes the oldest (0 or less: never by count)")
	f.Uint64Var(&cfg.Seed, "seed", 0, "seed of the control plane's random choices (0: random, logged)")
	f.BoolVar(&cfg.LogRequests, "log-requests", false, "log every API request at info level")
	f.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	return cmd
}
