package endpoints

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Subsets computes the Endpoints subsets of a Service over the given pods
// (already selected): pods with an IP that are not terminal, and not
// terminating unless the Service publishes not-ready addresses; ready ones
// as addresses, others as notReadyAddresses; each Service port resolved
// against the pod. Addresses that share a port set are grouped into one
// subset; addresses, ports and subsets are sorted.
func Subsets(svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	tolerateUnready := svc.Spec.PublishNotReadyAddresses
	headless := svc.Spec.ClusterIP == corev1.ClusterIPNone
	var entries []*entry
	for _, p := range pods {
		if p.Status.PodIP == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if !tolerateUnready && p.DeletionTimestamp != nil {
			continue
		}
		e := &entry{addr: address(svc, p), ready: tolerateUnready || podReady(p)}
		if len(svc.Spec.Ports) == 0 {
			if headless {
				entries = append(entries, e)
			}
			continue
		}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			port, ok := findPort(p, sp)
			if !ok {
				continue
			}
			e.ports = append(e.ports, corev1.EndpointPort{Name: sp.Name, Port: port, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol})
		}
		if len(e.ports) > 0 {
			entries = append(entries, e)
		}
	}
	return repack(entries)
}

type entry struct {
	addr  corev1.EndpointAddress
	ready bool
	ports []corev1.EndpointPort
}

func address(svc *corev1.Service, p *corev1.Pod) corev1.EndpointAddress {
	a := corev1.EndpointAddress{IP: p.Status.PodIP,
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID}}
	if p.Spec.NodeName != "" {
		n := p.Spec.NodeName
		a.NodeName = &n
	}
	if p.Spec.Hostname != "" && p.Spec.Subdomain == svc.Name && p.Namespace == svc.Namespace {
		a.Hostname = p.Spec.Hostname
	}
	return a
}

// findPort resolves a Service port's targetPort against a pod: a number as
// is, a name through the containers' (and sidecars') named ports of the same
// protocol.
func findPort(p *corev1.Pod, sp *corev1.ServicePort) (int32, bool) {
	tp := sp.TargetPort
	if tp.Type == intstr.Int {
		if tp.IntVal == 0 {
			return sp.Port, true
		}
		return tp.IntVal, true
	}
	search := func(cs []corev1.Container, sidecarsOnly bool) (int32, bool) {
		for _, c := range cs {
			if sidecarsOnly && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
				continue
			}
			for _, cp := range c.Ports {
				if cp.Name == tp.StrVal && cp.Protocol == sp.Protocol {
					return cp.ContainerPort, true
				}
			}
		}
		return 0, false
	}
	if port, ok := search(p.Spec.Containers, false); ok {
		return port, true
	}
	return search(p.Spec.InitContainers, true)
}

func portLess(a, b corev1.EndpointPort) bool {
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if a.Port != b.Port {
		return a.Port < b.Port
	}
	return a.Protocol < b.Protocol
}

func portsKey(ps []corev1.EndpointPort) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%s\x00%d\x00%s\x00", p.Name, p.Port, p.Protocol)
		if p.AppProtocol != nil {
			b.WriteString(*p.AppProtocol)
		}
		b.WriteString("\x01")
	}
	return b.String()
}

// addressLess orders addresses by IP, then pod UID, like Kubernetes' repacking.
func addressLess(a, b corev1.EndpointAddress) bool {
	if a.IP != b.IP {
		return a.IP < b.IP
	}
	if b.TargetRef == nil {
		return false
	}
	if a.TargetRef == nil {
		return true
	}
	return a.TargetRef.UID < b.TargetRef.UID
}

// repack groups addresses with identical port sets into subsets.
func repack(entries []*entry) []corev1.EndpointSubset {
	groups := map[string]*corev1.EndpointSubset{}
	var keys []string
	for _, e := range entries {
		sort.Slice(e.ports, func(i, j int) bool { return portLess(e.ports[i], e.ports[j]) })
		k := portsKey(e.ports)
		s := groups[k]
		if s == nil {
			s = &corev1.EndpointSubset{Ports: e.ports}
			groups[k] = s
			keys = append(keys, k)
		}
		if e.ready {
			s.Addresses = append(s.Addresses, e.addr)
		} else {
			s.NotReadyAddresses = append(s.NotReadyAddresses, e.addr)
		}
	}
	sort.Strings(keys)
	out := make([]corev1.EndpointSubset, 0, len(keys))
	for _, k := range keys {
		s := groups[k]
		sort.Slice(s.Addresses, func(i, j int) bool { return addressLess(s.Addresses[i], s.Addresses[j]) })
		sort.Slice(s.NotReadyAddresses, func(i, j int) bool { return addressLess(s.NotReadyAddresses[i], s.NotReadyAddresses[j]) })
		out = append(out, *s)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// truncate caps the total number of addresses at max, keeping ready ones
// first (in subset order), then not-ready ones.
func truncate(subsets []corev1.EndpointSubset, max int) ([]corev1.EndpointSubset, bool) {
	total := 0
	for _, s := range subsets {
		total += len(s.Addresses) + len(s.NotReadyAddresses)
	}
	if total <= max {
		return subsets, false
	}
	left := max
	out := make([]corev1.EndpointSubset, len(subsets))
	for i, s := range subsets {
		n := min(left, len(s.Addresses))
		out[i] = corev1.EndpointSubset{Ports: s.Ports, Addresses: s.Addresses[:n:n]}
		left -= n
	}
	for i, s := range subsets {
		n := min(left, len(s.NotReadyAddresses))
		out[i].NotReadyAddresses = s.NotReadyAddresses[:n:n]
		left -= n
	}
	kept := out[:0]
	for _, s := range out {
		if len(s.Addresses)+len(s.NotReadyAddresses) > 0 {
			if len(s.Addresses) == 0 {
				s.Addresses = nil
			}
			if len(s.NotReadyAddresses) == 0 {
				s.NotReadyAddresses = nil
			}
			kept = append(kept, s)
		}
	}
	return kept, true
}
