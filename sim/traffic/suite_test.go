package traffic

import (
	"math/rand/v2"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/clock/fakeclock"
	"github.com/drydock-sim/drydock/core/proxy/proxytest"
)

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// underTest adapts one node of a Network to the proxy behaviour suite.
type underTest struct {
	*Table
	net *Network
	r   *rand.Rand
}

func (u *underTest) NodeIP() string { return u.ips[0] }

func (u *underTest) Connect(ip string, port int32, proto corev1.Protocol) (string, error) {
	to, err := u.net.Send(Request{ClientNode: u.node, ClientIP: "10.244.1.250", DstIP: ip, DstPort: port, Protocol: proto}, u.r)
	return to.String(), err
}

func (u *underTest) ConnectExternal(ip string, port int32, proto corev1.Protocol) (string, error) {
	to, err := u.net.Send(Request{ClientIP: "203.0.113.7", Ingress: u.node, DstIP: ip, DstPort: port, Protocol: proto}, u.r)
	return to.String(), err
}

func TestTablePassesProxySuite(t *testing.T) {
	proxytest.Run(t, func(t *testing.T) proxytest.BackendUnderTest {
		n := NewNetwork(fakeclock.New(epoch))
		n.AddNode(proxytest.RemoteNode, "192.168.0.2")
		return &underTest{Table: n.AddNode("node-a", "192.168.0.1"), net: n, r: rand.New(rand.NewPCG(7, 7))}
	})
}
