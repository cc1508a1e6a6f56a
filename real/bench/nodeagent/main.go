// Command nodeagent is real/node's agent alone, for the memory benchmark: the
// same node.Config defaults as `drydock node`, in a binary that links only
// the node side (no embedded etcd, API server, simulator or terminal UI), so
// that its resident memory shows how much of `drydock node`'s is the shared
// binary. On SIGUSR1 it writes a heap profile (after a GC) to --heap-profile.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/drydock-sim/drydock/real/node"
)

func main() {
	cfg := node.Config{KubeletAddress: "0.0.0.0", KubeletPort: node.DefaultKubeletPort, ClusterCIDR: node.DefaultClusterCIDR,
		ContainerdAddress: node.DefaultContainerdAddress, ContainerdNamespace: "drydock", ClusterDomain: "cluster.local",
		BusyboxPath: "/bin/busybox", Bridge: "drydock0", LogRoot: "/var/log/pods", CleanupOnExit: true, DataDir: node.DefaultDataDir}
	var caHash, heapProfile string
	flag.StringVar(&cfg.Server, "server", "", "API server URL")
	flag.StringVar(&cfg.Token, "token", "", "bootstrap token")
	flag.StringVar(&caHash, "ca-cert-hash", "", "pin of the cluster CA")
	flag.StringVar(&cfg.Name, "name", "", "node name")
	flag.StringVar(&cfg.NodeIP, "node-ip", "", "InternalIP")
	flag.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "state directory")
	flag.StringVar(&cfg.LogRoot, "pod-log-dir", cfg.LogRoot, "container logs")
	flag.StringVar(&cfg.ContainerdNamespace, "containerd-namespace", cfg.ContainerdNamespace, "containerd namespace")
	flag.StringVar(&cfg.Bridge, "bridge", cfg.Bridge, "pod bridge")
	flag.StringVar(&heapProfile, "heap-profile", "", "write a heap profile here on SIGUSR1")
	flag.Parse()
	if caHash != "" {
		cfg.CACertHashes = []string{caHash}
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	a, err := node.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if heapProfile != "" {
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		go func() {
			for range usr1 {
				if err := writeHeap(heapProfile); err != nil {
					cfg.Logger.Error("heap profile", "err", err)
				} else {
					cfg.Logger.Info("heap profile written", "path", heapProfile)
				}
			}
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}

func writeHeap(path string) error {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
