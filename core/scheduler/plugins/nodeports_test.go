package plugins

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
	"github.com/drydock-sim/drydock/core/scheduler/internal/testobj"
)

func TestNodePorts(t *testing.T) {
	const TCP, UDP = corev1.ProtocolTCP, corev1.ProtocolUDP
	e := newEnv([]*corev1.Node{
		testobj.Node("any", "4", "8Gi", 110),
		testobj.Node("ip1", "4", "8Gi", 110),
		testobj.Node("dns", "4", "8Gi", 110),
	},
		testobj.Pod("web", "", "", testobj.HostPort(8080, "", ""), testobj.OnNode("any")),
		testobj.Pod("web-ip", "", "", testobj.HostPort(8080, TCP, "10.0.0.1"), testobj.OnNode("ip1")),
		testobj.Pod("dns", "", "", testobj.HostPort(53, UDP, ""), testobj.OnNode("dns")),
	)
	sidecar := func(port int32) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			always := corev1.ContainerRestartPolicyAlways
			p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "s", RestartPolicy: &always,
				Ports: []corev1.ContainerPort{{ContainerPort: port, HostPort: port}}})
		}
	}
	initOnly := func(port int32) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "i",
				Ports: []corev1.ContainerPort{{ContainerPort: port, HostPort: port}}})
		}
	}
	noHostPort := func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
	}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		node     string
		conflict bool
	}{
		{"no ports", testobj.Pod("p", "", ""), "any", false},
		{"container port without host port", testobj.Pod("p", "", "", noHostPort), "any", false},
		{"same port, defaults", testobj.Pod("p", "", "", testobj.HostPort(8080, "", "")), "any", true},
		{"other port", testobj.Pod("p", "", "", testobj.HostPort(8081, TCP, "")), "any", false},
		{"specific IP against all IPs", testobj.Pod("p", "", "", testobj.HostPort(8080, TCP, "10.0.0.2")), "any", true},
		{"all IPs against a specific IP", testobj.Pod("p", "", "", testobj.HostPort(8080, TCP, "")), "ip1", true},
		{"same specific IP", testobj.Pod("p", "", "", testobj.HostPort(8080, TCP, "10.0.0.1")), "ip1", true},
		{"other specific IP", testobj.Pod("p", "", "", testobj.HostPort(8080, TCP, "10.0.0.2")), "ip1", false},
		{"other protocol", testobj.Pod("p", "", "", testobj.HostPort(53, TCP, "")), "dns", false},
		{"same protocol", testobj.Pod("p", "", "", testobj.HostPort(53, UDP, "")), "dns", true},
		{"explicit 0.0.0.0 equals the default", testobj.Pod("p", "", "", testobj.HostPort(53, UDP, "0.0.0.0")), "dns", true},
		{"sidecar ports count", testobj.Pod("p", "", "", sidecar(8080)), "any", true},
		{"ordinary init container ports do not", testobj.Pod("p", "", "", initOnly(8080)), "any", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.conflict {
				wantStatus(t, e.filter(t, NodePorts{}, tc.pod, tc.node), framework.Unschedulable,
					"node(s) didn't have free ports for the requested pod ports")
			} else {
				wantStatus(t, e.filter(t, NodePorts{}, tc.pod, tc.node), framework.Success)
			}
		})
	}
	t.Run("port freed when its pod goes", func(t *testing.T) {
		e.snap.RemovePod("web")
		wantStatus(t, e.filter(t, NodePorts{}, testobj.Pod("p", "", "", testobj.HostPort(8080, "", "")), "any"), framework.Success)
	})
}
