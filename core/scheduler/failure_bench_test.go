package scheduler

import (
	"fmt"
	"testing"

	"github.com/drydock-sim/drydock/core/scheduler/internal/testobj"
)

// BenchmarkFailedAttempt measures one scheduling attempt of a pod that fits
// nowhere in a full 5,000-node cluster (30 pods per node), including the
// preemption check and the FitError message: the cost each unschedulable
// pod pays whenever a cluster event requeues it.
func BenchmarkFailedAttempt(b *testing.B) {
	for _, prio := range []int32{0, 100} {
		b.Run(fmt.Sprintf("priority=%d", prio), func(b *testing.B) {
			h := newHarness(&testing.T{}, 0, 1)
			h.s.cfg.DecisionSink = nil
			for i := range 5000 {
				n := fmt.Sprintf("n%04d", i)
				h.addNode(testobj.Node(n, "4", "32Gi", 110))
				for j := range 30 {
					h.addPod(testobj.Pod(fmt.Sprintf("b%04d-%02d", i, j), "130m", "1Gi", testobj.OnNode(n)))
				}
			}
			pod := testobj.Pod("pending", "1", "1Gi", testobj.Priority(prio))
			b.ResetTimer()
			for b.Loop() {
				h.s.DeletePod(pod)
				h.s.AddPod(pod)
				h.s.ScheduleOne()
				h.log = h.log[:0]
			}
		})
	}
}
