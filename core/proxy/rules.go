package proxy

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// DefaultAffinityTimeout is Kubernetes' default
// sessionAffinityConfig.clientIP.timeoutSeconds (3 hours).
const DefaultAffinityTimeout = 10800 * time.Second

// Rules computes the desired RuleSet from Services and their Endpoints
// objects (matched by namespace and name). Headless Services (clusterIP
// None), Services without a ClusterIP yet, and ExternalName Services get no
// rules, as in kube-proxy. A Service with no Endpoints object, or none ready,
// still gets its rule, with no endpoints, so traffic to it is rejected.
// Inputs are not modified; when a Service appears twice the later copy wins.
func Rules(services []*corev1.Service, endpoints []*corev1.Endpoints) RuleSet {
	eps := make(map[[2]string]*corev1.Endpoints, len(endpoints))
	for _, ep := range endpoints {
		if ep != nil {
			eps[[2]string{ep.Namespace, ep.Name}] = ep
		}
	}
	// A Service listed twice resolves to its later copy, whole.
	last := make(map[[2]string]int, len(services))
	for i, svc := range services {
		if svc != nil {
			last[[2]string{svc.Namespace, svc.Name}] = i
		}
	}
	var ports []ServicePort
	for i, svc := range services {
		if svc == nil {
			continue
		}
		k := [2]string{svc.Namespace, svc.Name}
		if last[k] != i {
			continue
		}
		ports = append(ports, ServicePorts(svc, eps[k])...)
	}
	slices.SortFunc(ports, func(a, b ServicePort) int { return a.Name.Compare(b.Name) })
	return RuleSet{Ports: ports}
}

// ServicePorts computes the rules of one Service given its Endpoints object
// (nil if there is none), sorted by name. It returns nil for Services that
// kube-proxy ignores. Components that maintain a RuleSet incrementally call
// it for the Services that changed.
func ServicePorts(svc *corev1.Service, ep *corev1.Endpoints) []ServicePort {
	if !proxied(svc) {
		return nil
	}
	var affinity time.Duration
	if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		affinity = DefaultAffinityTimeout
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			affinity = time.Duration(*c.ClientIP.TimeoutSeconds) * time.Second
		}
	}
	hasNodePorts := svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
	externalIPs := externalIPs(svc)
	internalLocal := svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
	externalLocal := svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal

	out := make([]ServicePort, 0, len(svc.Spec.Ports))
	for _, p := range svc.Spec.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		sp := ServicePort{
			Name:            ServicePortName{Namespace: svc.Namespace, Name: svc.Name, Port: p.Name, Protocol: proto},
			ClusterIP:       svc.Spec.ClusterIP,
			Port:            p.Port,
			ExternalIPs:     externalIPs,
			AffinityTimeout: affinity,
			InternalLocal:   internalLocal,
			ExternalLocal:   externalLocal,
			Endpoints:       readyEndpoints(ep, p.Name, proto),
		}
		if hasNodePorts {
			sp.NodePort = p.NodePort
		}
		out = append(out, sp)
	}
	slices.SortFunc(out, func(a, b ServicePort) int { return a.Name.Compare(b.Name) })
	return out
}

// proxied reports whether kube-proxy programs rules for svc.
func proxied(svc *corev1.Service) bool {
	if svc == nil || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return false
	}
	ip := svc.Spec.ClusterIP
	return ip != "" && ip != corev1.ClusterIPNone
}

// externalIPs are spec.externalIPs and, for LoadBalancer Services, the load
// balancer's ingress IPs: kube-proxy captures traffic to both on each node.
func externalIPs(svc *corev1.Service) []string {
	var ips []string
	ips = append(ips, svc.Spec.ExternalIPs...)
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		for _, in := range svc.Status.LoadBalancer.Ingress {
			if in.IP != "" {
				ips = append(ips, in.IP)
			}
		}
	}
	if len(ips) == 0 {
		return nil
	}
	slices.Sort(ips)
	return slices.Compact(ips)
}

// readyEndpoints resolves a Service port to backends: the Endpoints object
// names its ports after the Service's ports (the endpoints controller has
// already resolved each pod's targetPort, named or numbered), so the port
// with the same name and protocol gives the backend port. Only ready
// addresses count; notReadyAddresses never receive traffic.
func readyEndpoints(ep *corev1.Endpoints, portName string, proto corev1.Protocol) []Endpoint {
	if ep == nil {
		return nil
	}
	var out []Endpoint
	for i := range ep.Subsets {
		ss := &ep.Subsets[i]
		for _, port := range ss.Ports {
			pp := port.Protocol
			if pp == "" {
				pp = corev1.ProtocolTCP
			}
			if port.Name != portName || pp != proto {
				continue
			}
			for _, a := range ss.Addresses {
				e := Endpoint{IP: a.IP, Port: port.Port}
				if a.NodeName != nil {
					e.NodeName = *a.NodeName
				}
				if r := a.TargetRef; r != nil && r.Kind == "Pod" {
					e.Pod = r.Namespace + "/" + r.Name
				}
				out = append(out, e)
			}
		}
	}
	sortEndpoints(out)
	// The same ip:port listed twice is one backend, not a double weight.
	return slices.CompactFunc(out, func(a, b Endpoint) bool { return a.IP == b.IP && a.Port == b.Port })
}

// sortEndpoints orders by numeric address (unparsable addresses last, by
// text), then port, then the remaining fields so that the survivor of
// deduplication is fixed.
func sortEndpoints(eps []Endpoint) {
	if len(eps) < 2 {
		return
	}
	type keyed struct {
		bad  bool // unparsable address
		addr netip.Addr
		e    Endpoint
	}
	ks := make([]keyed, len(eps))
	for i, e := range eps {
		a, err := netip.ParseAddr(e.IP)
		ks[i] = keyed{err != nil, a, e}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if a.bad != b.bad {
			if b.bad {
				return -1
			}
			return 1
		}
		return cmp.Or(a.addr.Compare(b.addr), cmp.Compare(a.e.IP, b.e.IP), cmp.Compare(a.e.Port, b.e.Port),
			cmp.Compare(a.e.NodeName, b.e.NodeName), cmp.Compare(a.e.Pod, b.e.Pod))
	})
	for i := range ks {
		eps[i] = ks[i].e
	}
}
