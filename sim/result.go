package sim

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/sim/metrics"
	"github.com/drydock-sim/drydock/sim/scenario"
)

// ExpectationResult is the verdict on one expectation (or failed action).
type ExpectationResult struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail,omitempty"`
}

// ClusterCounts describes the cluster at the end of the run.
type ClusterCounts struct {
	Nodes   int `json:"nodes"`
	Pods    int `json:"pods"`
	Running int `json:"running"`
	Pending int `json:"pending"`
}

// Result is what `drydock sim` reports.
type Result struct {
	Scenario         string              `json:"scenario"`
	Seed             uint64              `json:"seed"`
	SimulatedSeconds float64             `json:"simulatedSeconds"`
	WallSeconds      float64             `json:"wallSeconds"`
	Events           uint64              `json:"events"`
	TraceHash        string              `json:"traceHash"`
	TraceLines       int64               `json:"traceLines"`
	Passed           bool                `json:"passed"`
	Expectations     []ExpectationResult `json:"expectations"`
	Metrics          metrics.Summary     `json:"metrics"`
	Cluster          ClusterCounts       `json:"cluster"`

	Traffic []TrafficResult `json:"traffic,omitempty"` // per traffic entry (traffic.go)
}

// Run simulates sc to its end and reports. An error means the scenario
// could not be set up (bad input); failed expectations are in the result.
func Run(sc *scenario.Scenario, opts Options) (*Result, error) {
	if err := Preflight(sc); err != nil {
		return nil, err
	}
	w, err := New(sc, opts)
	if err != nil {
		return nil, err
	}
	w.Run()
	return w.Result(), nil
}

// Result reports on the run so far.
func (w *World) Result() *Result {
	res := &Result{Scenario: w.sc.Name, Seed: w.seed, SimulatedSeconds: w.since().Seconds(),
		Events: w.clock.Fired, TraceHash: w.trace.Hash(), TraceLines: w.trace.Lines(),
		Metrics: w.metrics.Summary(), Passed: true}
	res.Expectations = w.checks.results()
	res.Traffic = w.trafficResults()
	for _, f := range w.failed {
		res.Expectations = append(res.Expectations, ExpectationResult{
			Name:   fmt.Sprintf("timeline[%d] %s (line %d)", f.Index, f.Kind, f.Line),
			Detail: f.Err,
		})
	}
	for _, e := range res.Expectations {
		if !e.Passed {
			res.Passed = false
		}
	}
	ctx := context.Background()
	nodes, _, _ := w.api.List(ctx, api.Nodes, "", metav1.ListOptions{})
	pods, _, _ := w.api.List(ctx, api.Pods, "", metav1.ListOptions{})
	res.Cluster.Nodes, res.Cluster.Pods = len(nodes), len(pods)
	for _, o := range pods {
		switch o.(*corev1.Pod).Status.Phase {
		case corev1.PodRunning:
			res.Cluster.Running++
		case corev1.PodPending:
			res.Cluster.Pending++
		}
	}
	return res
}
