package scheduler_test

import (
	"fmt"
	"testing"

	"github.com/drydock-sim/drydock/core/scheduler/schedbench"
)

// BenchmarkSchedulingBasic is kube-scheduler's SchedulingBasic shape: 5,000
// nodes (kube's scheduler_perf template: 4 cpu, 32Gi, 110 pods), 1,000 pods
// placed first, 10,000 pods (100m, 500Mi) measured; one iteration is the
// whole workload, so run it with -benchtime=1x (or a few x).
func BenchmarkSchedulingBasic(b *testing.B) {
	for _, pct := range []int32{0, 100} {
		b.Run(fmt.Sprintf("percent=%d", pct), func(b *testing.B) {
			var res schedbench.BenchResult
			var pods int
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				r := schedbench.Setup(5000, 1000, 10000, pct, uint64(i+1))
				b.StartTimer()
				r.Measure()
				b.StopTimer()
				res = r.Result(0)
				pods += res.Scheduled
			}
			b.ReportMetric(float64(pods)/b.Elapsed().Seconds(), "pods/s")
			b.ReportMetric(res.UtilisationStddev, "util-stddev")
			b.ReportMetric(res.UtilisationMax-res.UtilisationMin, "util-range")
		})
	}
}
