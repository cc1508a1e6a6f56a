package proxy

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestRules(t *testing.T) {
	local := corev1.ServiceInternalTrafficPolicyLocal
	timeout := int32(60)
	web := func(mut func(*corev1.Service)) *corev1.Service {
		s := svc("default", "web", "10.96.0.10", sport("", 80, tcp))
		if mut != nil {
			mut(s)
		}
		return s
	}
	webEps := eps("default", "web", []corev1.EndpointPort{eport("", 8080, tcp)}, []addr{{"10.0.0.9", "n1"}, {"10.0.0.10", "n2"}})
	webName := ServicePortName{"default", "web", "", tcp}
	webRule := func(mut func(*ServicePort)) []ServicePort {
		p := ServicePort{Name: webName, ClusterIP: "10.96.0.10", Port: 80,
			Endpoints: []Endpoint{ep("10.0.0.9", 8080, "n1"), ep("10.0.0.10", 8080, "n2")}}
		if mut != nil {
			mut(&p)
		}
		return []ServicePort{p}
	}

	tests := []struct {
		name string
		svcs []*corev1.Service
		eps  []*corev1.Endpoints
		want []ServicePort
	}{
		{name: "ClusterIP with endpoints sorted numerically", svcs: []*corev1.Service{web(nil)},
			eps: []*corev1.Endpoints{webEps}, want: webRule(nil)},
		{name: "no Endpoints object: rule without endpoints", svcs: []*corev1.Service{web(nil)},
			want: webRule(func(p *ServicePort) { p.Endpoints = nil })},
		{name: "not-ready addresses get no traffic", svcs: []*corev1.Service{web(nil)},
			eps:  []*corev1.Endpoints{eps("default", "web", []corev1.EndpointPort{eport("", 8080, tcp)}, nil, addr{"10.0.0.1", "n1"})},
			want: webRule(func(p *ServicePort) { p.Endpoints = nil })},
		{name: "headless skipped", svcs: []*corev1.Service{web(func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone })},
			eps: []*corev1.Endpoints{webEps}},
		{name: "unallocated ClusterIP skipped", svcs: []*corev1.Service{web(func(s *corev1.Service) { s.Spec.ClusterIP = "" })}},
		{name: "ExternalName skipped", svcs: []*corev1.Service{web(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "example.com"
		})}},
		{name: "NodePort kept for type NodePort",
			svcs: []*corev1.Service{web(func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeNodePort
				s.Spec.Ports[0].NodePort = 30080
			})},
			eps: []*corev1.Endpoints{webEps}, want: webRule(func(p *ServicePort) { p.NodePort = 30080 })},
		{name: "NodePort ignored for type ClusterIP",
			svcs: []*corev1.Service{web(func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 })},
			eps:  []*corev1.Endpoints{webEps}, want: webRule(nil)},
		{name: "LoadBalancer: NodePort, external and ingress IPs sorted and deduplicated",
			svcs: []*corev1.Service{web(func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeLoadBalancer
				s.Spec.Ports[0].NodePort = 30080
				s.Spec.ExternalIPs = []string{"192.0.2.9", "192.0.2.1"}
				s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}, {Hostname: "lb.example"}, {IP: "198.51.100.1"}}
			})},
			eps: []*corev1.Endpoints{webEps}, want: webRule(func(p *ServicePort) {
				p.NodePort = 30080
				p.ExternalIPs = []string{"192.0.2.1", "192.0.2.9", "198.51.100.1"}
			})},
		{name: "ClientIP affinity default timeout",
			svcs: []*corev1.Service{web(func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP })},
			eps:  []*corev1.Endpoints{webEps}, want: webRule(func(p *ServicePort) { p.AffinityTimeout = 3 * time.Hour })},
		{name: "ClientIP affinity configured timeout",
			svcs: []*corev1.Service{web(func(s *corev1.Service) {
				s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
				s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &timeout}}
			})},
			eps: []*corev1.Endpoints{webEps}, want: webRule(func(p *ServicePort) { p.AffinityTimeout = time.Minute })},
		{name: "traffic policies Local",
			svcs: []*corev1.Service{web(func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeNodePort
				s.Spec.Ports[0].NodePort = 30080
				s.Spec.InternalTrafficPolicy = &local
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			})},
			eps: []*corev1.Endpoints{webEps}, want: webRule(func(p *ServicePort) {
				p.NodePort = 30080
				p.InternalLocal, p.ExternalLocal = true, true
			})},
		{name: "duplicate ip:port counted once", svcs: []*corev1.Service{web(nil)},
			eps: []*corev1.Endpoints{{
				ObjectMeta: webEps.ObjectMeta,
				Subsets:    append(webEps.DeepCopy().Subsets, webEps.DeepCopy().Subsets...),
			}},
			want: webRule(nil)},
		{name: "endpoints of another Service ignored", svcs: []*corev1.Service{web(nil)},
			eps:  []*corev1.Endpoints{eps("other", "web", []corev1.EndpointPort{eport("", 8080, tcp)}, []addr{{"10.0.0.1", ""}})},
			want: webRule(func(p *ServicePort) { p.Endpoints = nil })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Rules(tc.svcs, tc.eps)
			if !reflect.DeepEqual(got.Ports, tc.want) {
				t.Errorf("Rules:\n got %+v\nwant %+v", got.Ports, tc.want)
			}
		})
	}
}

// Multi-port Services resolve each port to the Endpoints port of the same
// name and protocol: that is how named targetPorts reach kube-proxy.
func TestRulesResolvePortsByNameAndProtocol(t *testing.T) {
	s := svc("kube-system", "dns", "10.96.0.10", sport("dns", 53, udp), sport("dns-tcp", 53, tcp), sport("metrics", 9153, tcp))
	e := eps("kube-system", "dns", []corev1.EndpointPort{
		eport("dns", 1053, udp), eport("dns-tcp", 1053, tcp), eport("metrics", 9253, tcp), eport("metrics", 7777, udp),
	}, []addr{{"10.0.1.5", "n1"}})
	got := Rules([]*corev1.Service{s}, []*corev1.Endpoints{e})
	want := map[string]int32{"kube-system/dns:dns/UDP": 1053, "kube-system/dns:dns-tcp/TCP": 1053, "kube-system/dns:metrics/TCP": 9253}
	if got.Len() != len(want) {
		t.Fatalf("got %d ports, want %d: %+v", got.Len(), len(want), got.Ports)
	}
	for _, p := range got.Ports {
		if len(p.Endpoints) != 1 || p.Endpoints[0].Port != want[p.Name.String()] {
			t.Errorf("%s: endpoints %+v, want port %d", p.Name, p.Endpoints, want[p.Name.String()])
		}
	}
}

// The result is sorted and independent of input order; a Service listed
// twice resolves to the later copy.
func TestRulesDeterministic(t *testing.T) {
	var svcs []*corev1.Service
	var epss []*corev1.Endpoints
	for i, n := range []string{"b", "a", "c", "a-x", "d"} {
		ip := "10.96.0." + string(rune('1'+i))
		svcs = append(svcs, svc("ns", n, ip, sport("http", 80, tcp), sport("https", 443, tcp)))
		epss = append(epss, eps("ns", n, []corev1.EndpointPort{eport("http", 8080, tcp), eport("https", 8443, tcp)},
			[]addr{{"10.0.0.3", "n1"}, {"10.0.0.1", "n2"}, {"10.0.0.2", "n1"}}))
	}
	want := Rules(svcs, epss)
	for i := 1; i < want.Len(); i++ {
		if want.Ports[i-1].Name.Compare(want.Ports[i].Name) >= 0 {
			t.Fatalf("not sorted at %d: %v, %v", i, want.Ports[i-1].Name, want.Ports[i].Name)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		r.Shuffle(len(svcs), func(i, j int) { svcs[i], svcs[j] = svcs[j], svcs[i] })
		r.Shuffle(len(epss), func(i, j int) { epss[i], epss[j] = epss[j], epss[i] })
		if got := Rules(svcs, epss); !got.Equal(want) {
			t.Fatalf("order-dependent result")
		}
	}
	dup := svc("ns", "a", "10.96.9.9", sport("http", 80, tcp))
	got := Rules(append(append([]*corev1.Service{}, svcs...), dup), epss)
	if p, ok := got.Get(ServicePortName{"ns", "a", "http", tcp}); !ok || p.ClusterIP != "10.96.9.9" {
		t.Errorf("duplicate Service: got %+v, want the later copy", p)
	}
	if _, ok := got.Get(ServicePortName{"ns", "a", "https", tcp}); ok {
		t.Errorf("duplicate Service: ports of the earlier copy survived")
	}
}

func TestTrafficPolicyEndpoints(t *testing.T) {
	all := []Endpoint{ep("10.0.0.1", 80, "n1"), ep("10.0.0.2", 80, "n2"), ep("10.0.0.3", 80, "n1")}
	n1 := []Endpoint{all[0], all[2]}
	tests := []struct {
		name                   string
		p                      ServicePort
		node                   string
		localSource            bool
		internal, external     []Endpoint
		internalErr, externErr error
	}{
		{name: "Cluster policies use all", p: ServicePort{Endpoints: all}, node: "n1", internal: all, external: all},
		{name: "internal Local", p: ServicePort{Endpoints: all, InternalLocal: true}, node: "n1", internal: n1, external: all},
		{name: "internal Local, none here: drop", p: ServicePort{Endpoints: all, InternalLocal: true}, node: "n3",
			external: all, internalErr: ErrDropped},
		{name: "external Local from outside", p: ServicePort{Endpoints: all, ExternalLocal: true}, node: "n1", internal: all, external: n1},
		{name: "external Local from outside, none here: drop", p: ServicePort{Endpoints: all, ExternalLocal: true}, node: "n3",
			internal: all, externErr: ErrDropped},
		{name: "external Local from a local source short-circuits", p: ServicePort{Endpoints: all, ExternalLocal: true},
			node: "n3", localSource: true, internal: all, external: all},
		{name: "no endpoints: reject", p: ServicePort{InternalLocal: true, ExternalLocal: true}, node: "n1",
			internalErr: ErrRejected, externErr: ErrRejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.p.InternalEndpoints(tc.node)
			ex := tc.p.ExternalEndpoints(tc.node, tc.localSource)
			if !reflect.DeepEqual(in, tc.internal) || tc.p.Verdict(in) != tc.internalErr {
				t.Errorf("internal: got %v (%v), want %v (%v)", in, tc.p.Verdict(in), tc.internal, tc.internalErr)
			}
			if !reflect.DeepEqual(ex, tc.external) || tc.p.Verdict(ex) != tc.externErr {
				t.Errorf("external: got %v (%v), want %v (%v)", ex, tc.p.Verdict(ex), tc.external, tc.externErr)
			}
		})
	}
}

// Chained 1/(n-i) matches give each endpoint probability 1/n.
func TestProbabilityChainIsUniform(t *testing.T) {
	for n := 1; n <= 7; n++ {
		reach := 1.0
		for i := 0; i < n; i++ {
			p := Probability(i, n)
			if got := reach * p; got < 1/float64(n)-1e-12 || got > 1/float64(n)+1e-12 {
				t.Errorf("n=%d i=%d: chance %v, want %v", n, i, got, 1/float64(n))
			}
			reach *= 1 - p
		}
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{ServicePortName{"ns", "web", "", tcp}.String(), "ns/web/TCP"},
		{ServicePortName{"ns", "dns", "dns", udp}.String(), "ns/dns:dns/UDP"},
		{Endpoint{IP: "10.0.0.1", Port: 80}.String(), "10.0.0.1:80"},
		{Endpoint{IP: "fd00::1", Port: 80}.String(), "[fd00::1]:80"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
