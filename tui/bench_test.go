package tui_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drydock-sim/drydock/core/feed"
	"github.com/drydock-sim/drydock/sim"
	"github.com/drydock-sim/drydock/sim/scenario"
	"github.com/drydock-sim/drydock/tui"
)

// bigScenario is 1,000 nodes running 3,000 pods; ten nodes crash at 2m and
// come back at 10m, so frames carry evictions and rescheduling too.
func bigScenario(tb testing.TB, nodes, replicas int, duration string) *scenario.Scenario {
	tb.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `name: dashboard-bench
seed: 1
duration: %s
nodePools:
  - name: node
    count: %d
    capacity: {cpu: "8", memory: 32Gi}
objects:
  - inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: %d
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            tolerations:
              - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 30}
              - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 30}
            containers:
              - name: web
                image: nginx:1.27
                resources: {requests: {cpu: 500m, memory: 256Mi}}
timeline:
`, duration, nodes, replicas)
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&b, "  - {at: 2m, action: crashNode, node: node-%d}\n", i*97)
		fmt.Fprintf(&b, "  - {at: 10m, action: restoreNode, node: node-%d}\n", i*97)
	}
	sc, err := scenario.Parse("bench.yaml", []byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return sc
}

// BenchmarkDashboardFrame measures one dashboard frame at 10,000x on a
// 1,000-node cluster: Update with the frame's batch (50ms of wall time,
// i.e. 500s simulated) and View. The batches are recorded first, so the
// figure is the dashboard's cost alone; the simulator's cost of producing
// them is reported as sim-ms/frame.
func BenchmarkDashboardFrame(b *testing.B) {
	const frame = 50 * time.Millisecond
	sc := bigScenario(b, 1000, 3000, "1h")
	src, err := sim.NewFeed(sc, sim.FeedOptions{Speed: feed.MaxSpeed})
	if err != nil {
		b.Fatal(err)
	}
	var batches []feed.Batch
	var simTime time.Duration
	changes := 0
	for {
		start := time.Now()
		bt := src.Frame(frame, nil)
		simTime += time.Since(start)
		batches = append(batches, bt)
		changes += len(bt.Changes)
		if bt.Status.Done {
			break
		}
	}
	src.Close()
	for _, mode := range []struct {
		name string
		keys []string
	}{{"map", nil}, {"grid", []string{"a"}}, {"pods", []string{"2"}}, {"recovery", []string{"5"}}} {
		b.Run(mode.name, func(b *testing.B) {
			var m *tui.Model
			i := 0
			var worst time.Duration
			for b.Loop() {
				if i%len(batches) == 0 {
					m = tui.New(nil, tui.Options{Width: 120, Height: 40})
					h := &harness{m: m}
					h.keys(mode.keys...)
				}
				start := time.Now()
				m.Update(tui.BatchMsg{Batch: batches[i%len(batches)]})
				_ = m.View()
				worst = max(worst, time.Since(start))
				i++
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms/frame")
			b.ReportMetric(float64(changes)/float64(len(batches)), "changes/frame")
			b.ReportMetric(float64(simTime.Milliseconds())/float64(len(batches)), "sim-ms/frame")
		})
		// View alone: the redraw of a frame without changes (a paused
		// simulation, or a key press) on the whole cluster.
		b.Run(mode.name+"/view-only", func(b *testing.B) {
			m := tui.New(nil, tui.Options{Width: 120, Height: 40})
			(&harness{m: m}).keys(mode.keys...)
			for _, bt := range batches {
				m.Update(tui.BatchMsg{Batch: bt})
			}
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}
