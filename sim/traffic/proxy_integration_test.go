package traffic

import (
	"math/rand/v2"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
	"github.com/drydock-sim/drydock/core/proxy"
)

// The Proxy component drives a node's table from the API: a Service becomes
// routable once its Endpoints exist and the proxy has synced.
func TestProxyProgramsTable(t *testing.T) {
	h := harness.New(t)
	n := NewNetwork(h.Clock)
	tb := n.AddNode("a", "192.168.0.1")
	p := proxy.New(proxy.Config{Clock: h.Clock, Services: h.Informer(api.Services), Endpoints: h.Informer(api.Endpoints), Backend: tb})
	p.Start()
	h.Settle()

	svc := h.Create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}}).(*corev1.Service)
	node := "a"
	h.Create(&corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.244.1.5", NodeName: &node}},
			Ports:     []corev1.EndpointPort{{Port: 8080, Protocol: corev1.ProtocolTCP}},
		}}})
	r := rand.New(rand.NewPCG(1, 1))
	h.Advance(500 * time.Millisecond) // within MinSyncPeriod of the initial sync
	if _, err := n.Route("a", svc.Spec.ClusterIP, 80, corev1.ProtocolTCP, r); err == nil {
		t.Fatalf("routed before the proxy synced")
	}
	h.Advance(500 * time.Millisecond)
	to, err := n.Route("a", svc.Spec.ClusterIP, 80, corev1.ProtocolTCP, r)
	if err != nil || to.String() != "10.244.1.5:8080" {
		t.Fatalf("route = %v, %v", to, err)
	}
}
