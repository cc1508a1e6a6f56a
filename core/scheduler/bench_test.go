package scheduler_test

import (
	"fmt"
	"testing"

	"github.com/drydock-sim/drydock/core/scheduler/schedbench"
)

// benchWorkload runs one schedbench workload per iteration and reports
// pods/s and the spread of cpu utilisation over nodes.
func benchWorkload(b *testing.B, w schedbench.Workload, nodes, placed, pods int) {
	for _, pct := range []int32{0, 100} {
		b.Run(fmt.Sprintf("percent=%d", pct), func(b *testing.B) {
			var res schedbench.BenchResult
			var scheduled int
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				r := schedbench.SetupWorkload(w, nodes, placed, pods, pct, uint64(i+1))
				b.StartTimer()
				r.Measure()
				b.StopTimer()
				res = r.Result(0)
				scheduled += res.Scheduled
			}
			b.ReportMetric(float64(scheduled)/b.Elapsed().Seconds(), "pods/s")
			b.ReportMetric(res.UtilisationStddev, "util-stddev")
			b.ReportMetric(res.UtilisationMax-res.UtilisationMin, "util-range")
		})
	}
}

// BenchmarkSchedulingBasic is kube-scheduler's SchedulingBasic shape: 5,000
// nodes (kube's scheduler_perf template: 4 cpu, 32Gi, 110 pods), 1,000 pods
// placed first, 10,000 pods (100m, 500Mi) measured; one iteration is the
// whole workload, so run it with -benchtime=1x (or a few x).
func BenchmarkSchedulingBasic(b *testing.B) { benchWorkload(b, schedbench.Basic, 5000, 1000, 10000) }

// BenchmarkSchedulingPodAntiAffinity is kube-scheduler's
// SchedulingPodAntiAffinity shape at 5,000 nodes: 1,000 pods placed, 1,000
// measured, each with required hostname anti-affinity against all others.
func BenchmarkSchedulingPodAntiAffinity(b *testing.B) {
	benchWorkload(b, schedbench.PodAntiAffinity, 5000, 1000, 1000)
}

// BenchmarkSchedulingReplicaSet is SchedulingBasic with the pods owned by
// one ReplicaSet on zoned nodes: the cost of system default spreading.
func BenchmarkSchedulingReplicaSet(b *testing.B) {
	benchWorkload(b, schedbench.ReplicaSet, 5000, 1000, 10000)
}
