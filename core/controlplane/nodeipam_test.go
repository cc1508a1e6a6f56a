package controlplane

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
	"github.com/drydock-sim/drydock/core/rng"
)

// The node IPAM controller runs only when a cluster CIDR is configured.
func TestNodeIPAMWiring(t *testing.T) {
	cases := []struct {
		name, clusterCIDR, want string
		errs                    int
	}{
		{name: "off by default", want: ""},
		{name: "on with a cluster CIDR", clusterCIDR: "10.9.0.0/16", want: "10.9.0.0/24"},
		{name: "bad value reported, controller off", clusterCIDR: "10.9.0.0", want: "", errs: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := harness.New(t)
			var errs []string
			cp := New(Config{Client: h.Client, Clock: h.Clock, Rand: rng.Stream(1, "sched"), ClusterCIDR: tc.clusterCIDR,
				OnError: func(c string, err error) { errs = append(errs, c+": "+err.Error()) }})
			cp.Start(context.Background())
			defer cp.Stop()
			h.Create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}})
			h.Settle()
			n := h.Get(api.Nodes, "", "n1").(*corev1.Node)
			if n.Spec.PodCIDR != tc.want {
				t.Errorf("podCIDR = %q, want %q", n.Spec.PodCIDR, tc.want)
			}
			if (cp.NodeIPAM != nil) != (tc.want != "") {
				t.Errorf("NodeIPAM set = %v", cp.NodeIPAM != nil)
			}
			if len(errs) != tc.errs {
				t.Errorf("errors = %v, want %d", errs, tc.errs)
			}
		})
	}
}
