package proxy

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Builders for Services and Endpoints in tests.

func svc(ns, name, clusterIP string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: clusterIP, Ports: ports,
			Selector: map[string]string{"app": name}},
	}
}

func sport(name string, port int32, proto corev1.Protocol) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, Protocol: proto, TargetPort: intstr.FromInt32(port)}
}

type addr struct{ ip, node string }

func eps(ns, name string, ports []corev1.EndpointPort, ready []addr, notReady ...addr) *corev1.Endpoints {
	ss := corev1.EndpointSubset{Ports: ports}
	for _, a := range ready {
		ss.Addresses = append(ss.Addresses, epAddr(ns, a))
	}
	for _, a := range notReady {
		ss.NotReadyAddresses = append(ss.NotReadyAddresses, epAddr(ns, a))
	}
	return &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Subsets: []corev1.EndpointSubset{ss}}
}

func epAddr(ns string, a addr) corev1.EndpointAddress {
	ea := corev1.EndpointAddress{IP: a.ip}
	if a.node != "" {
		n := a.node
		ea.NodeName = &n
		ea.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "pod-" + a.ip}
	}
	return ea
}

func eport(name string, port int32, proto corev1.Protocol) corev1.EndpointPort {
	return corev1.EndpointPort{Name: name, Port: port, Protocol: proto}
}

func ep(ip string, port int32, node string) Endpoint {
	e := Endpoint{IP: ip, Port: port, NodeName: node}
	if node != "" {
		e.Pod = "default/pod-" + ip
	}
	return e
}

const tcp, udp = corev1.ProtocolTCP, corev1.ProtocolUDP
