package replicaset

import (
	"context"
	"testing"

	"github.com/drydock-sim/drydock/core/api"
)

// BenchmarkScaleUp1000 reconciles a ReplicaSet from 0 to 1000 pods (two
// syncs of BurstReplicas, every pod written through the API server and
// seen back through the watch).
func BenchmarkScaleUp1000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := setup(b, 0)
		b.StartTimer()
		e.h.Create(newRS("web", 1000))
		e.h.Settle()
		b.StopTimer()
		if n := len(e.h.List(api.Pods, "default", "")); n != 1000 {
			b.Fatalf("pods = %d", n)
		}
		b.ReportMetric(float64(e.c.Runner.Reconciles), "reconciles/op")
		b.StartTimer()
	}
}

// BenchmarkSteadyReconcile100 reconciles a ReplicaSet of 100 running, ready
// pods that needs nothing: the cost every pod event pays for its owner's sync.
func BenchmarkSteadyReconcile100(b *testing.B) {
	e := setup(b, 0)
	e.h.Create(newRS("web", 100))
	e.h.Settle()
	e.kubelet()
	e.h.Settle()
	key := "default/web"
	ctx := context.Background()
	if _, err := e.c.Reconcile(ctx, key); err != nil {
		b.Fatal(err)
	}
	if st := e.rs("web").Status; st.ReadyReplicas != 100 {
		b.Fatalf("ready = %d", st.ReadyReplicas)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.c.Reconcile(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}
