package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drydock-sim/drydock/sim"
	"github.com/drydock-sim/drydock/sim/scenario"
)

func newSimCommand() *cobra.Command {
	var (
		seed      uint64
		traceFile string
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "sim FILE",
		Short: "Run a scenario in the deterministic simulator",
		Long: "Run a scenario file in the simulator and print a summary. Exit status: 0 when every\n" +
			"expectation holds, 1 when one fails, 2 when the input is bad (nothing runs).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := scenario.Load(args[0])
			if err != nil {
				return badInput(err)
			}
			opts := sim.Options{Seed: seed, HasSeed: cmd.Flags().Changed("seed")}
			var tw *bufio.Writer
			if traceFile != "" {
				f, err := os.Create(traceFile)
				if err != nil {
					return badInput(fmt.Errorf("--trace: %w", err))
				}
				defer f.Close()
				tw = bufio.NewWriterSize(f, 1<<20)
				opts.Trace = tw
			}
			start := time.Now()
			res, err := sim.Run(sc, opts)
			if err != nil {
				return badInput(err)
			}
			res.WallSeconds = time.Since(start).Seconds()
			if tw != nil {
				if err := tw.Flush(); err != nil {
					return &exitError{code: exitFailed, err: fmt.Errorf("--trace: %w", err)}
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else {
				printSummary(out, res)
			}
			if !res.Passed {
				return &exitError{code: exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", 0, "random seed (default: the scenario's)")
	cmd.Flags().StringVar(&traceFile, "trace", "", "write the JSON-lines event trace to this file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object instead of the summary")
	return cmd
}

func printSummary(w io.Writer, r *sim.Result) {
	fmt.Fprintf(w, "scenario   %s (seed %d)\n", r.Scenario, r.Seed)
	fmt.Fprintf(w, "simulated  %s in %.2fs wall, %d events\n", time.Duration(r.SimulatedSeconds*float64(time.Second)), r.WallSeconds, r.Events)
	fmt.Fprintf(w, "cluster    %d nodes, %d pods at the end (%d running, %d pending)\n", r.Cluster.Nodes, r.Cluster.Pods, r.Cluster.Running, r.Cluster.Pending)
	m := r.Metrics
	fmt.Fprintf(w, "scheduling p50 %.3fs  p90 %.3fs  p99 %.3fs  max %.3fs  (%d pods)\n",
		m.SchedulingLatency.P50, m.SchedulingLatency.P90, m.SchedulingLatency.P99, m.SchedulingLatency.Max, m.SchedulingLatency.Count)
	fmt.Fprintf(w, "startup    p50 %.3fs  p90 %.3fs  p99 %.3fs  max %.3fs  (%d pods)\n",
		m.PodStartup.P50, m.PodStartup.P90, m.PodStartup.P99, m.PodStartup.Max, m.PodStartup.Count)
	for _, rc := range m.Recoveries {
		if rc.Seconds < 0 {
			fmt.Fprintf(w, "recovery   node %s crashed at %.0fs: %d pods lost, not recovered by the end\n", rc.Node, rc.AtSeconds, rc.PodsLost)
		} else {
			fmt.Fprintf(w, "recovery   node %s crashed at %.0fs: %d pods lost, recovered in %.1fs\n", rc.Node, rc.AtSeconds, rc.PodsLost, rc.Seconds)
		}
	}
	for _, t := range r.Traffic {
		printTraffic(w, t)
	}
	fmt.Fprintln(w, "expectations")
	for _, e := range r.Expectations {
		mark := "PASS"
		if !e.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %s", mark, e.Name)
		if e.Detail != "" {
			fmt.Fprintf(w, ": %s", e.Detail)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "trace      %s (%d lines)\n", r.TraceHash, r.TraceLines)
	if r.Passed {
		fmt.Fprintln(w, "result     PASS")
	} else {
		fmt.Fprintln(w, "result     FAIL")
	}
}

// printTraffic prints one traffic entry's totals on one line:
// "traffic    web-clients -> default/web:80 from worker-4: 10639 of 10800 answered (98.51%); 161 failed: unreachable 161".
func printTraffic(w io.Writer, t sim.TrafficResult) {
	fmt.Fprintf(w, "traffic    %s -> %s from %s: %d of %d answered", t.Name, t.Service, t.Client, t.OK, t.Sent)
	if t.Sent > 0 {
		// Rounded down, so that a single failure never shows as 100%.
		fmt.Fprintf(w, " (%.2f%%)", math.Floor(float64(t.OK)*10000/float64(t.Sent))/100)
	}
	if t.Failed > 0 {
		causes := make([]string, 0, len(t.Failures))
		for c := range t.Failures {
			causes = append(causes, c)
		}
		sort.Strings(causes)
		for i, c := range causes {
			causes[i] = fmt.Sprintf("%s %d", c, t.Failures[c])
		}
		fmt.Fprintf(w, "; %d failed: %s", t.Failed, strings.Join(causes, ", "))
	}
	fmt.Fprintln(w)
}
