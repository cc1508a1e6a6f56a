package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drydock-sim/drydock/core/scheduler/schedbench"
	"github.com/drydock-sim/drydock/sim"
	"github.com/drydock-sim/drydock/sim/scenario"
)

func newBenchCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Run the benchmarks from the binary"}
	cmd.AddCommand(newBenchSchedulerCommand(), newBenchSimCommand())
	return cmd
}

// benchReport is the common output of the bench commands.
type benchReport struct {
	Benchmark     string   `json:"benchmark"`
	PodsPerSecond float64  `json:"podsPerSecond"`
	WallSeconds   float64  `json:"wallSeconds"`
	PeakRSSBytes  int64    `json:"peakRSSBytes"`
	GOMAXPROCS    int      `json:"gomaxprocs"`
	GC            *gcStats `json:"gc,omitempty"`
	Details       any      `json:"details"`
}

// gcStats summarises the Go runtime's memory statistics at the end of a run.
type gcStats struct {
	Cycles          uint32  `json:"cycles"`
	HeapInUseBytes  uint64  `json:"heapInUseBytes"`
	HeapSysBytes    uint64  `json:"heapSysBytes"`
	TotalAllocBytes uint64  `json:"totalAllocBytes"`
	CPUFraction     float64 `json:"cpuFraction"`
	// MemoryLimitBytes is the runtime's soft memory limit (0: none).
	MemoryLimitBytes int64 `json:"memoryLimitBytes,omitempty"`
}

func newBenchSchedulerCommand() *cobra.Command {
	var nodes, placed, pods int
	var percent int32
	var seed uint64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Scheduling throughput in the shape of kube-scheduler's SchedulingBasic test",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nodes <= 0 || pods <= 0 || placed < 0 || percent < 0 || percent > 100 {
				return badInput(fmt.Errorf("need --nodes > 0, --pods > 0, --placed >= 0, 0 <= --score-percent <= 100"))
			}
			res := schedbench.RunSchedulingBenchmark(nodes, placed, pods, percent, seed, time.Now)
			rep := benchReport{Benchmark: "scheduler", PodsPerSecond: res.PodsPerSecond, WallSeconds: res.WallSeconds,
				PeakRSSBytes: peakRSS(), GOMAXPROCS: runtime.GOMAXPROCS(0), Details: res}
			return report(cmd.OutOrStdout(), asJSON, rep, res.String())
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 5000, "nodes in the cluster")
	cmd.Flags().IntVar(&placed, "placed", 1000, "pods placed before measuring")
	cmd.Flags().IntVar(&pods, "pods", 10000, "pods measured")
	cmd.Flags().Int32Var(&percent, "score-percent", 0, "percentageOfNodesToScore: 0 = adaptive, 100 = every node")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newBenchSimCommand() *cobra.Command {
	var nodes, pods int
	var duration time.Duration
	var seed uint64
	var asJSON bool
	var cpuProfile, memProfile, tracePath string
	var liveEvery time.Duration
	var softLimitMiB int64
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Simulate a cluster that creates pods through Deployments and loses a node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nodes < 2 || pods <= 0 || duration <= 0 {
				return badInput(fmt.Errorf("need --nodes >= 2, --pods > 0 and --duration > 0"))
			}
			sc, err := scenario.Parse("bench-sim.yaml", []byte(BenchScenario(nodes, pods, duration, seed)))
			if err != nil {
				return fmt.Errorf("generated scenario: %w", err)
			}
			if softLimitMiB > 0 && os.Getenv("GOMEMLIMIT") == "" {
				// A soft limit makes the collector run before the heap
				// doubles once it nears the limit (docs/BENCHMARKS.md
				// gives its cost); GOMEMLIMIT, when set, decides instead.
				debug.SetMemoryLimit(softLimitMiB << 20)
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return badInput(err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			var opts sim.Options
			if tracePath != "" {
				f, err := os.Create(tracePath)
				if err != nil {
					return badInput(err)
				}
				defer f.Close()
				bw := bufio.NewWriterSize(f, 1<<20)
				defer bw.Flush()
				opts.Trace = bw
			}
			// sim.Run's steps, so the heap profile can be taken while the
			// world is still alive.
			start := time.Now()
			if err := sim.Preflight(sc); err != nil {
				return err
			}
			w, err := sim.New(sc, opts)
			if err != nil {
				return err
			}
			if liveEvery > 0 {
				// Forced collections at fixed simulated times: the live
				// heap they leave is deterministic where the collector's
				// own cycles are not (for comparing builds; this changes
				// the collector's pacing, so not the run's peak RSS).
				for at := liveEvery; at < duration; at += liveEvery {
					w.RunUntil(at)
					runtime.GC()
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					fmt.Fprintf(cmd.ErrOrStderr(), "live heap at %s: %d MiB (%d objects)\n", at, ms.HeapAlloc>>20, ms.HeapObjects)
				}
			}
			w.Run()
			res := w.Result()
			wall := time.Since(start).Seconds()
			if memProfile != "" {
				if err := writeHeapProfile(memProfile); err != nil {
					return err
				}
			}
			runtime.KeepAlive(w)
			res.WallSeconds = wall
			rep := benchReport{Benchmark: "sim", PodsPerSecond: float64(res.Metrics.PodStartup.Count) / wall,
				WallSeconds: wall, PeakRSSBytes: peakRSS(), GOMAXPROCS: runtime.GOMAXPROCS(0), Details: res}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			rep.GC = &gcStats{Cycles: ms.NumGC, HeapInUseBytes: ms.HeapInuse, HeapSysBytes: ms.HeapSys,
				TotalAllocBytes: ms.TotalAlloc, CPUFraction: ms.GCCPUFraction}
			limit := "none"
			if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
				rep.GC.MemoryLimitBytes = l
				limit = fmt.Sprintf("%d MiB", l>>20)
			}
			text := fmt.Sprintf("%d nodes, %d pods, %s simulated: %.2fs wall, %d events, %d pods ready, peak RSS %d MiB\n"+
				"gc: %d cycles, %.0f%% of CPU, %d MiB allocated, heap in use at end %d MiB (of %d MiB from the OS), soft memory limit %s",
				nodes, pods, duration, wall, res.Events, res.Metrics.PodStartup.Count, rep.PeakRSSBytes>>20,
				ms.NumGC, 100*ms.GCCPUFraction, ms.TotalAlloc>>20, ms.HeapInuse>>20, ms.HeapSys>>20, limit)
			runtime.KeepAlive(w)
			return report(cmd.OutOrStdout(), asJSON, rep, text)
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 1000, "simulated nodes")
	cmd.Flags().IntVar(&pods, "pods", 30000, "pods, created through Deployments of up to 100 replicas")
	cmd.Flags().DurationVar(&duration, "duration", time.Hour, "simulated time")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile (pprof) to this file")
	cmd.Flags().StringVar(&memProfile, "memprofile", "", "write a heap profile (pprof, allocations and in-use) at the end of the run")
	// No limit by default: a limit below the live heap makes the collector
	// run back to back (3,000 nodes / 90,000 pods: 85 s instead of 47 s
	// with 960 MiB; docs/BENCHMARKS.md).
	cmd.Flags().Int64Var(&softLimitMiB, "soft-memory-limit-mib", 0,
		"soft memory limit for the Go runtime in MiB (debug.SetMemoryLimit; 0: none); ignored when GOMEMLIMIT is set. "+
			"It saves memory only while the live heap stays well under it")
	cmd.Flags().DurationVar(&liveEvery, "live-heap-every", 0, "collect garbage every this much simulated time and print the live heap (changes GC pacing)")
	cmd.Flags().StringVar(&tracePath, "trace", "", "write the JSON-lines event trace to this file (for comparing runs; slows the run)")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// writeHeapProfile writes the heap profile after a collection, with the
// world still alive: in-use figures show what the simulation holds at its
// end, allocation figures what it churned on the way.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return badInput(err)
	}
	defer f.Close()
	runtime.GC()
	return pprof.Lookup("heap").WriteTo(f, 0)
}

// BenchScenario generates the bench sim scenario: one pool sized so the
// pods fit at about a third of its cpu, Deployments of up to 100 replicas,
// and one node crash a third of the way through.
func BenchScenario(nodes, pods int, duration time.Duration, seed uint64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: bench-sim\nseed: %d\nduration: %s\n", seed, duration)
	fmt.Fprintf(&b, "nodePools:\n  - name: node\n    count: %d\n    capacity: {cpu: \"32\", memory: 128Gi, pods: 110}\n", nodes)
	b.WriteString("objects:\n")
	for i := 0; pods > 0; i++ {
		n := min(pods, 100)
		pods -= n
		fmt.Fprintf(&b, `  - inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: app-%d}
      spec:
        replicas: %d
        selector: {matchLabels: {app: app-%d}}
        template:
          metadata: {labels: {app: app-%d}}
          spec:
            containers:
              - name: main
                image: registry.local/app:1
                resources: {requests: {cpu: 100m, memory: 128Mi}}
`, i, n, i, i)
	}
	fmt.Fprintf(&b, "timeline:\n  - at: %s\n    action: crashNode\n    node: node-0\n", (duration / 3).Round(time.Second))
	return b.String()
}

func report(w io.Writer, asJSON bool, rep benchReport, text string) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintln(w, text)
	fmt.Fprintf(w, "podsPerSecond %.0f  wallSeconds %.2f  peakRSSBytes %d  GOMAXPROCS %d\n",
		rep.PodsPerSecond, rep.WallSeconds, rep.PeakRSSBytes, rep.GOMAXPROCS)
	return nil
}

// peakRSS reads the process's peak resident set size (VmHWM) from Linux's
// /proc; 0 where that is not available.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
