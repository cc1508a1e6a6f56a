package cni

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestNewErrors(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "Config.StateDir is required"},
		{Config{StateDir: t.TempDir(), Bridge: "a-very-long-bridge-name"}, `Config.Bridge "a-very-long-bridge-name": interface names have at most 15 characters`},
		{Config{StateDir: t.TempDir(), ClusterCIDR: "10.244.0.0"}, `Config.ClusterCIDR: cluster CIDR "10.244.0.0"`},
	}
	for _, tc := range cases {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestNotReadyUntilPodCIDR(t *testing.T) {
	n, err := New(Config{StateDir: t.TempDir(), NoHostRules: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Status(); !errors.Is(err, ErrNotReady) {
		t.Errorf("Status = %v, want ErrNotReady", err)
	}
	if _, err := n.SetUp(context.Background(), "sb1", "/var/run/netns/none", nil); !errors.Is(err, ErrNotReady) {
		t.Errorf("SetUp = %v, want ErrNotReady", err)
	}
	if err := n.TearDown(context.Background(), "never-set-up", "", nil); err != nil {
		t.Errorf("TearDown of an unknown sandbox before SetPodCIDRs = %v, want nil", err)
	}
	for _, bad := range [][]string{nil, {"10.244.1.0"}, {"10.244.1.0/31"}} {
		if err := n.SetPodCIDRs(bad); err == nil {
			t.Errorf("SetPodCIDRs(%v) accepted", bad)
		}
	}
	if err := n.SetPodCIDRs([]string{"10.244.1.0/24"}); err != nil {
		t.Fatal(err)
	}
	if err := n.Status(); err != nil {
		t.Errorf("Status after SetPodCIDRs = %v", err)
	}
	if got := n.PodCIDRs(); len(got) != 1 || got[0] != "10.244.1.0/24" {
		t.Errorf("PodCIDRs = %v", got)
	}
}

// TestConfList compares the generated conflists with golden files (the
// state directory written as STATE).
func TestConfList(t *testing.T) {
	cases := []struct {
		name  string
		cfg   Config
		cidrs []string
	}{
		{"single", Config{}, []string{"10.244.3.0/24"}},
		{"dualstack-portmap-mtu", Config{PortMap: true, MTU: 1450, Bridge: "br-test", NetworkName: "test"}, []string{"10.244.3.0/24", "fd00:10:244:3::/64"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.StateDir = t.TempDir()
			tc.cfg.NoHostRules = true
			n, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := n.SetPodCIDRs(tc.cidrs); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(n.ConfListPath())
			if err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(string(raw), tc.cfg.StateDir, "STATE") + "\n"
			golden := filepath.Join("testdata", tc.name+".conflist")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("conflist differs from %s:\n%s", golden, got)
			}
		})
	}
}
