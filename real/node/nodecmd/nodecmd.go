// Package nodecmd is the command line of drydock's node agent: its flags,
// help text and run (logger, signals, exit codes). `drydock node` (in
// cmd/drydock, with the rest of drydock) and drydock-node (cmd/drydock-node,
// the agent alone, without the server side linked in) are both this one
// command under two names.
package nodecmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/drydock-sim/drydock/real/node"
)

// Exit codes, as every drydock command has them.
const (
	ExitOK       = 0
	ExitFailed   = 1 // the agent stopped with an error
	ExitBadInput = 2 // the flags could not be used; nothing ran
)

// ExitError is a failed run with its exit code. Errors the command returns
// that are not ExitErrors come from cobra's flag and argument checks: bad
// input (ExitBadInput).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the exit code for what the command's Execute returned.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitBadInput
}

// New returns the node agent's command. path is how it is typed: "drydock
// node" for the subcommand, "drydock-node" for the binary of its own; its
// last word is the command's name.
func New(path string) *cobra.Command {
	var cfg node.Config
	var level, heapProfile string
	name := path[strings.LastIndexByte(path, ' ')+1:]
	cmd := &cobra.Command{
		Use:   name,
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
the Service rules and node routes are removed unless --cleanup-on-exit=false.

'drydock node' and 'drydock-node' are the same agent: drydock-node is built
without the server side (go build ./cmd/drydock-node) and needs less memory.`,
		Example: "  " + path + ` --server https://192.168.56.10:6443 --token abcdef.0123456789abcdef \
    --ca-cert-hash sha256:... --name worker-1`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(level)); err != nil {
				return &ExitError{Code: ExitBadInput, Err: fmt.Errorf("--log-level %q: want debug, info, warn or error", level)}
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl}))
			a, err := node.New(cfg)
			if err != nil {
				return &ExitError{Code: ExitBadInput, Err: err}
			}
			if heapProfile != "" {
				stop := heapProfileOnSignal(heapProfile, cfg.Logger)
				defer stop()
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			if err := a.Run(ctx); err != nil {
				return &ExitError{Code: ExitFailed, Err: err}
			}
			return nil
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
	f.StringVar(&heapProfile, "heap-profile", "", "on SIGUSR1, write a heap profile (after a garbage collection, text form with the runtime's memory statistics) to this file, for go tool pprof")
	return cmd
}

// heapProfileOnSignal writes a heap profile to path at every SIGUSR1 until
// stop is called.
func heapProfileOnSignal(path string, log *slog.Logger) (stop func()) {
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-usr1:
				if err := writeHeapProfile(path); err != nil {
					log.Error("heap profile", "err", err)
				} else {
					log.Info("heap profile written", "path", path)
				}
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(usr1); close(done) }
}

func writeHeapProfile(path string) error {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	// The text form (debug=1): go tool pprof reads it, and it ends with
	// the runtime's MemStats (heap, stacks, GC metadata) for reading RSS.
	if err := pprof.Lookup("heap").WriteTo(f, 1); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
