package schedbench

import (
	"math"
	"testing"
	"time"
)

func TestRunSchedulingBenchmarkSmall(t *testing.T) {
	// A fake clock that advances one second per reading.
	tick := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { tick = tick.Add(time.Second); return tick }
	for _, pct := range []int32{0, 100} {
		r := RunSchedulingBenchmark(200, 50, 400, pct, 1, now)
		if r.Scheduled != 400 || r.WallSeconds != 1 || r.PodsPerSecond != 400 {
			t.Fatalf("percent %d: %+v", pct, r)
		}
		// 450 pods of 100m on 200 nodes of 4 cpu: 2 or 3 pods per node.
		if math.Abs(r.UtilisationMean-450.0/200*0.025) > 1e-9 || r.UtilisationMax-r.UtilisationMin > 0.0251 {
			t.Errorf("percent %d: utilisation %+v", pct, r)
		}
	}
}

func TestWorkloads(t *testing.T) {
	// Anti-affinity: one pod per node, so 60 pods on 50 nodes leave 10
	// unscheduled.
	r := SetupWorkload(PodAntiAffinity, 50, 20, 40, 0, 1)
	r.Measure()
	if res := r.Result(0); res.Scheduled != 30 || res.UtilisationMax != 0.025 {
		t.Errorf("anti-affinity: %+v", res)
	}
	// ReplicaSet pods spread evenly.
	r = SetupWorkload(ReplicaSet, 30, 30, 60, 100, 1)
	r.Measure()
	if res := r.Result(0); res.Scheduled != 60 || res.UtilisationMax != res.UtilisationMin {
		t.Errorf("replicaset: %+v", res)
	}
}
