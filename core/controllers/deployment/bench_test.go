package deployment

import (
	"testing"
	"time"

	"github.com/drydock-sim/drydock/core/api"
)

// BenchmarkDeploymentScaleUp1000 creates a 1000-replica Deployment and runs
// the Deployment and ReplicaSet controllers until every pod exists (the
// kubelet is stopped so only controller work is measured).
func BenchmarkDeploymentScaleUp1000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := setup(b, 0)
		e.stopped = true
		b.StartTimer()
		e.h.Create(newDeployment("web", 1000, "nginx:1"))
		e.h.Advance(time.Second)
		b.StopTimer()
		if n := len(e.h.List(api.Pods, "default", "")); n != 1000 {
			b.Fatalf("pods = %d", n)
		}
		b.ReportMetric(float64(e.dc.Runner.Reconciles), "deploy-reconciles/op")
		b.ReportMetric(float64(e.rc.Runner.Reconciles), "rs-reconciles/op")
		b.StartTimer()
	}
}
