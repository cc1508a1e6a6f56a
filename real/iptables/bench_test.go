package iptables

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/proxy"
)

const (
	benchServices  = 1000
	benchEndpoints = 4 // per Service, half on this node
)

// benchRuleSet is benchServices ClusterIP Services of one TCP port with
// benchEndpoints endpoints each; gen shifts the endpoint addresses of
// Service changed, so that one endpoint is replaced by another.
func benchRuleSet(changed, gen int) proxy.RuleSet {
	ports := make([]proxy.ServicePort, benchServices)
	for i := range ports {
		sp := proxy.ServicePort{
			Name:      proxy.ServicePortName{Namespace: "bench", Name: fmt.Sprintf("svc-%04d", i), Protocol: corev1.ProtocolTCP},
			ClusterIP: fmt.Sprintf("10.96.%d.%d", i/250, i%250+1),
			Port:      80,
		}
		for j := range benchEndpoints {
			node := testNode
			if j%2 == 1 {
				node = "other"
			}
			last := j
			if i == changed && j == 0 {
				last = benchEndpoints + gen%200
			}
			sp.Endpoints = append(sp.Endpoints, proxy.Endpoint{
				IP: fmt.Sprintf("10.%d.%d.%d", 100+i/250, i%250, last+1), Port: 8080, NodeName: node})
		}
		slices.SortFunc(sp.Endpoints, func(a, b proxy.Endpoint) int { return strings.Compare(a.IP, b.IP) })
		ports[i] = sp
	}
	return proxy.RuleSet{Ports: ports}
}

// BenchmarkApplyEndpointChange measures one Apply that takes a single
// endpoint change into the kernel with benchServices Services present, in
// a fresh network namespace. Each iteration replaces one endpoint of
// another Service. Reports p50 and p99 over the iterations; run with
// -benchtime=Nx for N samples.
func BenchmarkApplyEndpointChange(b *testing.B) {
	requireRoot(b)
	w := newNetns(b, "ddipt-"+randomTag(b)+"-bench")
	be, err := New(Config{NodeName: testNode, ClusterCIDR: testClusterNet})
	if err != nil {
		b.Fatal(err)
	}
	var full time.Duration
	// Time spent in iptables-restore itself, per Apply.
	var restoreTime time.Duration
	inner := be.restore
	be.restore = func(data []byte) error {
		start := time.Now()
		err := inner(data)
		restoreTime += time.Since(start)
		return err
	}
	w.do(func() {
		start := time.Now()
		err = be.Apply(benchRuleSet(-1, 0))
		full = time.Since(start)
	})
	if err != nil {
		b.Fatal(err)
	}
	samples := make([]time.Duration, 0, b.N)
	restores := make([]time.Duration, 0, b.N)
	w.do(func() {
		for i := 0; i < b.N && err == nil; i++ {
			// Only Apply is timed, not building the RuleSet.
			rs := benchRuleSet((i*37)%benchServices, i)
			restoreTime = 0
			start := time.Now()
			err = be.Apply(rs)
			samples = append(samples, time.Since(start))
			restores = append(restores, restoreTime)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	slices.Sort(samples)
	slices.Sort(restores)
	q := func(s []time.Duration, p float64) float64 {
		return float64(s[int(p*float64(len(s)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(samples, 0.5), "p50-ms")
	b.ReportMetric(q(samples, 0.99), "p99-ms")
	b.ReportMetric(q(restores, 0.5), "restore-p50-ms")
	b.ReportMetric(q(restores, 0.99), "restore-p99-ms")
	b.ReportMetric(float64(full.Microseconds())/1000, "fullsync-ms")
	b.ReportMetric(0, "ns/op")
}
