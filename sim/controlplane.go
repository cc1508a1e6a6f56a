package sim

import (
	"github.com/drydock-sim/drydock/core/controlplane"
	"github.com/drydock-sim/drydock/core/rng"
	"github.com/drydock-sim/drydock/sim/trace"
)

// controlPlane runs the scheduler and controllers of core/controlplane on
// the simulated clock, over an in-process client with simulated latency.
type controlPlane struct {
	*controlplane.ControlPlane
}

func newControlPlane(w *World) *controlPlane {
	s := w.sc.Settings
	cp := controlplane.New(controlplane.Config{
		Client: w.loopback("controlplane"), Clock: w.clock, Rand: rng.Stream(w.seed, "scheduler"),
		NodeMonitorPeriod: s.NodeMonitorPeriod, NodeMonitorGracePeriod: s.NodeMonitorGracePeriod,
		DecisionSink: w.decisionSink, TerminatedPodGCThreshold: &s.TerminatedPodGCThreshold,
		OnError: func(component string, err error) {
			w.trace.Add(w.since(), trace.Record{Kind: "error", Op: component, Detail: err.Error()})
		},
	})
	return &controlPlane{ControlPlane: cp}
}

func (cp *controlPlane) start() { cp.Start(bg) }
