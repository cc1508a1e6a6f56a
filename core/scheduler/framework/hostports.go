package framework

import (
	corev1 "k8s.io/api/core/v1"
)

// DefaultBindAllHostIP is the host IP a port binds when none is given; it
// conflicts with the same protocol and port on every IP.
const DefaultBindAllHostIP = "0.0.0.0"

// HostPort is one (IP, protocol, port) a pod binds on its node, with
// Kubernetes' defaults applied (IP 0.0.0.0, protocol TCP).
type HostPort struct {
	IP       string
	Protocol corev1.Protocol
	Port     int32
}

// hostPorts lists the host ports of the pod's containers and of its
// restartable (sidecar) init containers, which run for the pod's whole
// life; ordinary init containers are not counted, as in Kubernetes.
func hostPorts(pod *corev1.Pod) []HostPort {
	var out []HostPort
	add := func(c *corev1.Container) {
		for i := range c.Ports {
			p := &c.Ports[i]
			if p.HostPort <= 0 {
				continue
			}
			hp := HostPort{IP: p.HostIP, Protocol: p.Protocol, Port: p.HostPort}
			if hp.IP == "" {
				hp.IP = DefaultBindAllHostIP
			}
			if hp.Protocol == "" {
				hp.Protocol = corev1.ProtocolTCP
			}
			out = append(out, hp)
		}
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			add(c)
		}
	}
	for i := range pod.Spec.Containers {
		add(&pod.Spec.Containers[i])
	}
	return out
}

// usedPort is a host port in use on a node and how many counted pods use
// it (pods placed by nodeName bypass the check, so two may share one).
type usedPort struct {
	HostPort
	n int32
}

// HostPortInfo is the set of host ports in use on a node. Nodes bind few
// host ports, so a slice scanned linearly beats a map.
type HostPortInfo []usedPort

// Len is the number of distinct ports in use.
func (h HostPortInfo) Len() int { return len(h) }

func (h *HostPortInfo) add(p HostPort) {
	for i := range *h {
		if (*h)[i].HostPort == p {
			(*h)[i].n++
			return
		}
	}
	*h = append(*h, usedPort{HostPort: p, n: 1})
}

func (h *HostPortInfo) remove(p HostPort) {
	s := *h
	for i := range s {
		if s[i].HostPort == p {
			if s[i].n--; s[i].n == 0 {
				s[i] = s[len(s)-1]
				*h = s[:len(s)-1]
			}
			return
		}
	}
}

// Conflicts reports whether p collides with a port in use: the same
// protocol and port on the same IP, or where either side binds 0.0.0.0.
func (h HostPortInfo) Conflicts(p HostPort) bool {
	for i := range h {
		u := &h[i].HostPort
		if u.Port != p.Port || u.Protocol != p.Protocol {
			continue
		}
		if u.IP == p.IP || u.IP == DefaultBindAllHostIP || p.IP == DefaultBindAllHostIP {
			return true
		}
	}
	return false
}
