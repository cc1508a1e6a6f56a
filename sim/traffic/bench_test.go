package traffic

import (
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/clock/fakeclock"
	"github.com/drydock-sim/drydock/core/proxy"
)

// bigRules has services Service ports with endpoints endpoints each.
func bigRules(services, endpoints int) proxy.RuleSet {
	ps := make([]proxy.ServicePort, services)
	for i := range ps {
		eps := make([]proxy.Endpoint, endpoints)
		for j := range eps {
			eps[j] = proxy.Endpoint{IP: fmt.Sprintf("10.%d.%d.%d", 128+j%64, i/256, i%256), Port: 8080, NodeName: fmt.Sprintf("n%d", j)}
		}
		ps[i] = proxy.ServicePort{Name: proxy.ServicePortName{Namespace: "ns", Name: fmt.Sprintf("s%06d", i), Protocol: corev1.ProtocolTCP},
			ClusterIP: fmt.Sprintf("10.96.%d.%d", i/256, i%256), Port: 80, Endpoints: eps}
	}
	return proxy.RuleSet{Ports: ps}
}

func BenchmarkRoute(b *testing.B) {
	n := NewNetwork(fakeclock.New(epoch))
	t := n.AddNode("a", "192.168.0.1")
	rs := bigRules(5000, 10)
	t.Apply(rs)
	r := rand.New(rand.NewPCG(1, 1))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p := &rs.Ports[i%len(rs.Ports)]
		if _, err := n.Route("a", p.ClusterIP, 80, corev1.ProtocolTCP, r); err != nil {
			b.Fatal(err)
		}
	}
}

// One Service's endpoints change in a large rule set: the incremental apply.
func BenchmarkApplyOneChange(b *testing.B) {
	t := NewTable("a", fakeclock.New(epoch), "192.168.0.1")
	rs := bigRules(5000, 10)
	t.Apply(rs)
	alt := proxy.RuleSet{Ports: append([]proxy.ServicePort(nil), rs.Ports...)}
	alt.Ports[2500].Endpoints = alt.Ports[2500].Endpoints[1:]
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			t.Apply(alt)
		} else {
			t.Apply(rs)
		}
	}
}
