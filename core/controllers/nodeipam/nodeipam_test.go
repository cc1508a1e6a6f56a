package nodeipam

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
)

// step is one thing a test does to the cluster.
type step struct {
	add     string   // create this node
	cidrs   []string // ... with these spec.podCIDRs already set
	single  string   // ... or with only the older spec.podCIDR set
	del     string   // delete this node
	advance time.Duration
	stop    bool // shut the controller down (nodes added now wait for a restart)
	restart bool // build a new controller (and informer) over the same API
}

func add(name string, cidrs ...string) step { return step{add: name, cidrs: cidrs} }
func del(name string) step                  { return step{del: name} }
func wait(d time.Duration) step             { return step{advance: d} }

var (
	restart = step{restart: true}
	stop    = step{stop: true}
)

func TestAllocation(t *testing.T) {
	cases := []struct {
		name    string
		cfg     Config
		steps   []step
		want    map[string][]string // node -> spec.podCIDRs (nil: none)
		events  []string            // "reason node" of recorded events, in order, repeats collapsed
		repeats bool                // some event was recorded more than once in a row (retries)
		free    []int
		wantErr string // substring of a reconcile error reported (empty: none)
	}{
		{
			name:  "default cluster CIDR, /24 per node in order",
			steps: []step{add("a"), add("b"), add("c")},
			want:  map[string][]string{"a": {"10.244.0.0/24"}, "b": {"10.244.1.0/24"}, "c": {"10.244.2.0/24"}},
			free:  []int{253},
		},
		{
			name:  "existing allocations are kept and skipped",
			steps: []step{add("old1", "10.244.0.0/24"), add("old2", "10.244.2.0/24"), add("new1"), add("new2")},
			want: map[string][]string{"old1": {"10.244.0.0/24"}, "old2": {"10.244.2.0/24"},
				"new1": {"10.244.1.0/24"}, "new2": {"10.244.3.0/24"}},
			free: []int{252},
		},
		{
			name:  "restart rebuilds the pool from the Nodes",
			steps: []step{add("a"), add("b"), del("a"), restart, add("c"), add("d")},
			want:  map[string][]string{"b": {"10.244.1.0/24"}, "c": {"10.244.0.0/24"}, "d": {"10.244.2.0/24"}},
			free:  []int{253},
		},
		{
			name:  "restart: every listed allocation is marked before the first new one",
			steps: []step{add("z", "10.244.0.0/24"), stop, add("a"), restart},
			want:  map[string][]string{"z": {"10.244.0.0/24"}, "a": {"10.244.1.0/24"}},
			free:  []int{254},
		},
		{
			name: "full range: CIDRNotAvailable, retried with backoff once a node leaves",
			cfg:  Config{ClusterCIDR: "10.1.0.0/24", NodeCIDRMaskSizeIPv4: 25},
			steps: []step{add("a"), add("b"), add("c"), wait(time.Second),
				del("a"), wait(time.Minute)},
			want:    map[string][]string{"b": {"10.1.0.128/25"}, "c": {"10.1.0.0/25"}},
			events:  []string{"CIDRNotAvailable c"},
			repeats: true,
			free:    []int{0},
			wantErr: "failed to allocate cidr from cluster cidr at idx:0: CIDR allocation failed; there are no remaining CIDRs left",
		},
		{
			name:  "a released subnet is reused only after the rest of the range",
			cfg:   Config{ClusterCIDR: "10.2.0.0/22"},
			steps: []step{add("a"), add("b"), del("a"), add("c"), add("d"), add("e")},
			want: map[string][]string{"b": {"10.2.1.0/24"}, "c": {"10.2.2.0/24"}, "d": {"10.2.3.0/24"},
				"e": {"10.2.0.0/24"}},
			free: []int{0},
		},
		{
			name:  "service CIDR inside the cluster CIDR is never handed out",
			cfg:   Config{ClusterCIDR: "10.3.0.0/22", ServiceCIDR: "10.3.1.0/24"},
			steps: []step{add("a"), add("b")},
			want:  map[string][]string{"a": {"10.3.0.0/24"}, "b": {"10.3.2.0/24"}},
			free:  []int{1},
		},
		{
			name:  "dual stack: one subnet per family",
			cfg:   Config{ClusterCIDR: "10.4.0.0/16,fd00:10:4::/56"},
			steps: []step{add("a"), add("b")},
			want: map[string][]string{"a": {"10.4.0.0/24", "fd00:10:4::/64"},
				"b": {"10.4.1.0/24", "fd00:10:4:1::/64"}},
			free: []int{254, 254},
		},
		{
			name:    "a node CIDR outside the cluster CIDR is reported, not taken",
			steps:   []step{add("x", "192.168.7.0/24"), add("a")},
			want:    map[string][]string{"x": {"192.168.7.0/24"}, "a": {"10.244.0.0/24"}},
			free:    []int{255},
			wantErr: "failed to mark cidr[192.168.7.0/24] at idx [0] as occupied for node: x: cidr 192.168.7.0/24 is out the range of cluster cidr 10.244.0.0/16",
		},
		{
			name:  "a node with only the older spec.podCIDR keeps it",
			steps: []step{{add: "old", single: "10.244.0.0/24"}, add("new")},
			want:  map[string][]string{"old": {"podCIDR only: 10.244.0.0/24"}, "new": {"10.244.1.0/24"}},
			free:  []int{254},
		},
		{
			name:  "two nodes claiming one subnet keep it used until both are gone",
			cfg:   Config{ClusterCIDR: "10.5.0.0/23"},
			steps: []step{add("a", "10.5.0.0/24"), add("b", "10.5.0.0/24"), del("a"), add("c"), del("b"), del("c"), add("d")},
			want:  map[string][]string{"d": {"10.5.0.0/24"}},
			free:  []int{1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := harness.New(t)
			var errs []string
			build := func() *Controller {
				cfg := tc.cfg
				cfg.Client, cfg.Clock, cfg.Recorder, cfg.Nodes = h.Client, h.Clock, h.Recorder("cidrAllocator"), h.Informer(api.Nodes)
				c, err := New(cfg)
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				c.Runner.OnError = func(_, _ string, err error) { errs = append(errs, err.Error()) }
				return c
			}
			c := build()
			h.Settle()
			for _, s := range tc.steps {
				switch {
				case s.add != "":
					spec := corev1.NodeSpec{PodCIDRs: s.cidrs, PodCIDR: first(s.cidrs)}
					if s.single != "" {
						spec.PodCIDR = s.single
					}
					h.Create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: s.add}, Spec: spec})
				case s.del != "":
					if _, _, err := h.API.Delete(context.Background(), api.Nodes, "", s.del, metav1.DeleteOptions{}); err != nil {
						t.Fatalf("delete %s: %v", s.del, err)
					}
				case s.stop:
					c.Runner.Queue.ShutDown()
				case s.restart:
					c.Runner.Queue.ShutDown()
					c = build()
				}
				h.Settle()
				if s.advance > 0 {
					h.Advance(s.advance)
				}
			}
			got := map[string][]string{}
			for _, o := range h.List(api.Nodes, "", "") {
				n := o.(*corev1.Node)
				got[n.Name] = n.Spec.PodCIDRs
				if n.Spec.PodCIDRs == nil && n.Spec.PodCIDR != "" {
					got[n.Name] = []string{"podCIDR only: " + n.Spec.PodCIDR}
				} else if first(n.Spec.PodCIDRs) != n.Spec.PodCIDR {
					t.Errorf("node %s: podCIDR %q is not podCIDRs[0] of %v", n.Name, n.Spec.PodCIDR, n.Spec.PodCIDRs)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("nodes = %v, want %v", got, tc.want)
			}
			for name, w := range tc.want {
				if !slices.Equal(got[name], w) {
					t.Errorf("node %s podCIDRs = %v, want %v", name, got[name], w)
				}
			}
			var evs []string
			repeated := false
			for _, e := range h.Events {
				ev := e.Reason + " " + e.InvolvedObject.Name
				if len(evs) > 0 && evs[len(evs)-1] == ev {
					repeated = true
					continue
				}
				evs = append(evs, ev)
				if e.Type != corev1.EventTypeWarning || e.Message != "Node "+e.InvolvedObject.Name+" status is now: "+e.Reason {
					t.Errorf("event %s %q: want a Warning with Kubernetes' status change message", e.Type, e.Message)
				}
			}
			if !slices.Equal(evs, tc.events) || repeated != tc.repeats {
				t.Errorf("events = %v (repeated %v), want %v (repeated %v)", evs, repeated, tc.events, tc.repeats)
			}
			if f := c.Free(); !slices.Equal(f, tc.free) {
				t.Errorf("free = %v, want %v", f, tc.free)
			}
			switch {
			case tc.wantErr == "" && len(errs) > 0:
				t.Errorf("unexpected reconcile errors: %v", errs)
			case tc.wantErr != "" && (len(errs) == 0 || !strings.Contains(errs[0], tc.wantErr)):
				t.Errorf("reconcile errors = %v, want one containing %q", errs, tc.wantErr)
			}
		})
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{ClusterCIDR: "10.0.0.0"}, `cluster CIDR: "10.0.0.0" is not a CIDR`},
		{Config{ClusterCIDR: "10.0.0.1/16"}, `cluster CIDR: "10.0.0.1/16" has host bits set (network is 10.0.0.0/16)`},
		{Config{ClusterCIDR: "10.0.0.0/16,10.1.0.0/16"}, "needs one IPv4 and one IPv6 CIDR"},
		{Config{ClusterCIDR: "10.0.0.0/16,fd00::/48,10.1.0.0/16"}, "at most two CIDRs"},
		{Config{ClusterCIDR: "10.0.0.0/7"}, "node CIDR mask size 24 is too big for cluster CIDR 10.0.0.0/7: at most 16 bits more"},
		{Config{ClusterCIDR: "10.0.0.0/24", NodeCIDRMaskSizeIPv4: 16}, "node CIDR mask size 16 is smaller than the cluster CIDR 10.0.0.0/24 mask"},
		{Config{ClusterCIDR: "10.0.0.0/24", NodeCIDRMaskSizeIPv4: 33}, "node CIDR mask size 33 is too big for the 32-bit addresses"},
		{Config{ServiceCIDR: "10.96.0.0/x"}, `service CIDR: "10.96.0.0/x" is not a CIDR`},
	}
	for _, tc := range cases {
		t.Run(tc.cfg.ClusterCIDR+tc.cfg.ServiceCIDR, func(t *testing.T) {
			h := harness.New(t)
			tc.cfg.Client, tc.cfg.Clock, tc.cfg.Nodes = h.Client, h.Clock, h.Informer(api.Nodes)
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCIDRSetSubnets(t *testing.T) {
	cases := []struct {
		cluster string
		mask    int
		idx     int
		want    string
	}{
		{"10.244.0.0/16", 24, 0, "10.244.0.0/24"},
		{"10.244.0.0/16", 24, 255, "10.244.255.0/24"},
		{"10.0.0.0/8", 16, 300 % 256, "10.44.0.0/16"},
		{"fd00::/48", 64, 0x1234, "fd00:0:0:1234::/64"},
		{"fd00:1::/112", 120, 3, "fd00:1::300/120"},
	}
	for _, tc := range cases {
		s, err := newCIDRSet(netip.MustParsePrefix(tc.cluster), tc.mask)
		if err != nil {
			t.Fatal(err)
		}
		got := s.subnet(tc.idx)
		if got.String() != tc.want {
			t.Errorf("%s/%d subnet %d = %s, want %s", tc.cluster, tc.mask, tc.idx, got, tc.want)
		}
		if back := s.index(got.Addr()); back != tc.idx {
			t.Errorf("index(%s) = %d, want %d", got, back, tc.idx)
		}
	}
}
