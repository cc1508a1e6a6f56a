package noderoutes

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/drydock-sim/drydock/real/cni/netnstest"
)

func TestNodesFrom(t *testing.T) {
	nodes := []*corev1.Node{
		{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24", PodCIDRs: []string{"10.244.0.0/24", "fd00::/64"}},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "a"}, {Type: corev1.NodeInternalIP, Address: "192.168.1.10"}, {Type: corev1.NodeInternalIP, Address: "192.168.1.11"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "old"}, Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24"}},
	}
	got := NodesFrom(nodes)
	if len(got) != 2 || got[0].InternalIP != "192.168.1.10" || len(got[0].PodCIDRs) != 2 ||
		got[1].InternalIP != "" || len(got[1].PodCIDRs) != 1 || got[1].PodCIDRs[0] != "10.244.1.0/24" {
		t.Fatalf("NodesFrom = %+v", got)
	}
}

func TestDesired(t *testing.T) {
	cases := []struct {
		name    string
		nodes   []Node
		want    string
		wantErr string
	}{
		{name: "self and incomplete nodes skipped",
			nodes: []Node{{Name: "me", PodCIDRs: []string{"10.244.0.0/24"}, InternalIP: "10.0.0.1"},
				{Name: "c", PodCIDRs: []string{"10.244.2.0/24"}, InternalIP: "10.0.0.3"},
				{Name: "b", PodCIDRs: []string{"10.244.1.0/24"}, InternalIP: "10.0.0.2"},
				{Name: "noip", PodCIDRs: []string{"10.244.3.0/24"}},
				{Name: "nocidr", InternalIP: "10.0.0.4"}},
			want: "10.244.1.0/24 via 10.0.0.2,10.244.2.0/24 via 10.0.0.3"},
		{name: "dual stack routes only where the InternalIP family matches",
			nodes: []Node{{Name: "b", PodCIDRs: []string{"10.244.1.0/24", "fd00:1::/64"}, InternalIP: "10.0.0.2"}},
			want:  "10.244.1.0/24 via 10.0.0.2"},
		{name: "bad values are named, good nodes still routed",
			nodes: []Node{{Name: "b", PodCIDRs: []string{"10.244.1.0/33"}, InternalIP: "10.0.0.2"},
				{Name: "c", PodCIDRs: []string{"10.244.2.0/24"}, InternalIP: "10.0.0.x"},
				{Name: "d", PodCIDRs: []string{"10.244.4.0/24"}, InternalIP: "10.0.0.4"}},
			want:    "10.244.4.0/24 via 10.0.0.4",
			wantErr: `node b: spec.podCIDRs[0] "10.244.1.0/33"`},
		{name: "a CIDR claimed twice is routed once and reported",
			nodes: []Node{{Name: "b", PodCIDRs: []string{"10.244.1.0/24"}, InternalIP: "10.0.0.2"},
				{Name: "c", PodCIDRs: []string{"10.244.1.0/24"}, InternalIP: "10.0.0.3"}},
			want:    "10.244.1.0/24 via 10.0.0.2",
			wantErr: "pod CIDR 10.244.1.0/24 is claimed by nodes at 10.0.0.2 and 10.0.0.3"},
	}
	r, err := New(Config{Self: "me"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Desired(tc.nodes)
			var s []string
			for _, rt := range got {
				s = append(s, rt.String())
			}
			if strings.Join(s, ",") != tc.want {
				t.Errorf("routes = %v, want %s", s, tc.want)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	for _, p := range []int{1, 4, 256} {
		if _, err := New(Config{Protocol: p}); err == nil {
			t.Errorf("protocol %d accepted", p)
		}
	}
}

// TestSync drives the reconciler in a throwaway namespace and checks the
// kernel's table after each step with `ip route`.
func TestSync(t *testing.T) {
	netnstest.Require(t, "ip")
	ns := netnstest.New(t, "ddrt-"+netnstest.Tag(t))
	ns.Run(t, "ip", "link", "add", "dummy0", "type", "veth", "peer", "name", "peer0")
	ns.Run(t, "ip", "link", "set", "peer0", "up")
	ns.Run(t, "ip", "addr", "add", "192.168.50.1/24", "dev", "dummy0")
	ns.Run(t, "ip", "link", "set", "dummy0", "up")
	// Somebody else's route, which must survive everything.
	ns.Run(t, "ip", "route", "add", "10.244.9.0/24", "via", "192.168.50.9", "proto", "static")

	h := handleIn(t, ns)
	r, err := New(Config{Self: "me", Handle: h})
	if err != nil {
		t.Fatal(err)
	}
	node := func(name, cidr, ip string) Node { return Node{Name: name, PodCIDRs: []string{cidr}, InternalIP: ip} }
	me := node("me", "10.244.0.0/24", "192.168.50.1")
	steps := []struct {
		name    string
		nodes   []Node
		want    string // `ip route show proto 210`, normalised
		wantErr string
	}{
		{name: "two peers", nodes: []Node{me, node("b", "10.244.1.0/24", "192.168.50.2"), node("c", "10.244.2.0/24", "192.168.50.3")},
			want: "10.244.1.0/24 via 192.168.50.2 dev dummy0|10.244.2.0/24 via 192.168.50.3 dev dummy0"},
		{name: "idempotent", nodes: []Node{me, node("b", "10.244.1.0/24", "192.168.50.2"), node("c", "10.244.2.0/24", "192.168.50.3")},
			want: "10.244.1.0/24 via 192.168.50.2 dev dummy0|10.244.2.0/24 via 192.168.50.3 dev dummy0"},
		{name: "peer moved, peer gone", nodes: []Node{me, node("c", "10.244.2.0/24", "192.168.50.4")},
			want: "10.244.2.0/24 via 192.168.50.4 dev dummy0"},
		{name: "foreign route kept, clash reported", nodes: []Node{me, node("c", "10.244.2.0/24", "192.168.50.4"), node("x", "10.244.9.0/24", "192.168.50.5")},
			want:    "10.244.2.0/24 via 192.168.50.4 dev dummy0",
			wantErr: "route 10.244.9.0/24 via 192.168.50.5 not installed: the table has a route to 10.244.9.0/24 that is not ours"},
		{name: "unreachable gateway reported", nodes: []Node{me, node("c", "10.244.2.0/24", "192.168.50.4"), node("far", "10.244.5.0/24", "172.16.0.1")},
			want:    "10.244.2.0/24 via 192.168.50.4 dev dummy0",
			wantErr: "route 10.244.5.0/24 via 172.16.0.1"},
	}
	for _, s := range steps {
		err := r.Sync(s.nodes)
		if s.wantErr == "" && err != nil || s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)) {
			t.Errorf("%s: Sync error = %v, want %q", s.name, err, s.wantErr)
		}
		if got := routes(t, ns, "proto", "210"); got != s.want {
			t.Errorf("%s: routes = %q, want %q", s.name, got, s.want)
		}
	}
	// From Node objects, as the node agent feeds it.
	err = r.SyncNodes([]*corev1.Node{
		{ObjectMeta: metav1.ObjectMeta{Name: "me"}, Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24", PodCIDRs: []string{"10.244.0.0/24"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "d"}, Spec: corev1.NodeSpec{PodCIDR: "10.244.3.0/24", PodCIDRs: []string{"10.244.3.0/24"}},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.50.6"}}}},
	})
	if err != nil {
		t.Errorf("SyncNodes: %v", err)
	}
	if got := routes(t, ns, "proto", "210"); got != "10.244.3.0/24 via 192.168.50.6 dev dummy0" {
		t.Errorf("after SyncNodes: %q", got)
	}
	if err := r.Cleanup(); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if got := routes(t, ns, "proto", "210"); got != "" {
		t.Errorf("after Cleanup: %q", got)
	}
	if got := routes(t, ns, "proto", "static"); got != "10.244.9.0/24 via 192.168.50.9 dev dummy0" {
		t.Errorf("foreign route after Cleanup: %q", got)
	}
}

func routes(t *testing.T, ns *netnstest.NS, filter ...string) string {
	out := ns.Run(t, append([]string{"ip", "-4", "route", "show"}, filter...)...)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "|")
}

func handleIn(t *testing.T, ns *netnstest.NS) *netlink.Handle {
	t.Helper()
	nsh, err := netns.GetFromPath(ns.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nsh.Close() })
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// TestDesiredClaimKeepsFirstNode: of nodes claiming one pod CIDR, the first
// in the given order keeps the route, whatever the number of nodes (the
// sort must be stable for that).
func TestDesiredClaimKeepsFirstNode(t *testing.T) {
	r, err := New(Config{Self: "me"})
	if err != nil {
		t.Fatal(err)
	}
	var nodes []Node
	for i := 0; i < 40; i++ {
		nodes = append(nodes, Node{Name: fmt.Sprintf("n%d", i), PodCIDRs: []string{fmt.Sprintf("10.244.%d.0/24", i%4)},
			InternalIP: fmt.Sprintf("10.0.0.%d", i+1)})
	}
	got, _ := r.Desired(nodes)
	var s []string
	for _, rt := range got {
		s = append(s, rt.String())
	}
	want := "10.244.0.0/24 via 10.0.0.1,10.244.1.0/24 via 10.0.0.2,10.244.2.0/24 via 10.0.0.3,10.244.3.0/24 via 10.0.0.4"
	if strings.Join(s, ",") != want {
		t.Errorf("Desired = %s, want %s", strings.Join(s, ","), want)
	}
}
