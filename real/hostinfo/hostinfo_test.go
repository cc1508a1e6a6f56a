package hostinfo

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

const routeTable = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth1	0000A8C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
eth0	00000000	0100000A	0003	0	0	100	00000000	0	0	0
eth1	00000000	0101A8C0	0003	0	0	50	00000000	0	0	0
`

func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var baseFiles = map[string]string{
	"proc/meminfo":                   "MemTotal:        8049228 kB\nMemFree:         1000 kB\n",
	"proc/net/route":                 routeTable,
	"proc/sys/kernel/osrelease":      "6.1.0-28-amd64\n",
	"proc/sys/kernel/random/boot_id": "b0f0c1d2-0000-4000-8000-000000000001\n",
	"etc/machine-id":                 "0123456789abcdef0123456789abcdef\n",
	"etc/os-release":                 "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
}

func ifaces() ([]Interface, error) {
	return []Interface{
		{Name: "eth0", Up: true, Addrs: []net.IP{net.ParseIP("10.0.0.5"), net.ParseIP("fe80::1")}},
		{Name: "eth1", Up: true, Addrs: []net.IP{net.ParseIP("fe80::2"), net.ParseIP("192.168.0.7")}},
	}, nil
}

func with(extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range baseFiles {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func TestDetect(t *testing.T) {
	ncpu := int64(runtime.NumCPU())
	tests := []struct {
		name    string
		files   map[string]string
		opts    Options
		wantIP  string
		wantCPU int64
		wantErr string
	}{
		{name: "default route with the lowest metric", files: baseFiles, wantIP: "192.168.0.7", wantCPU: ncpu},
		{name: "node-ip flag", files: baseFiles, opts: Options{NodeIP: "10.0.0.5"}, wantIP: "10.0.0.5", wantCPU: ncpu},
		{name: "node-ip not on this host", files: baseFiles, opts: Options{NodeIP: "10.9.9.9"}, wantErr: "not an address of this host"},
		{name: "node-ip not an IP", files: baseFiles, opts: Options{NodeIP: "banana"}, wantErr: `"banana" is not an IP`},
		{name: "no default route: first up interface", files: with(map[string]string{"proc/net/route": "Iface\n"}), wantIP: "10.0.0.5", wantCPU: ncpu},
		{name: "cgroup v2 quota of half a CPU", files: with(map[string]string{"sys/fs/cgroup/cpu.max": "50000 100000\n"}), wantIP: "192.168.0.7", wantCPU: 1},
		{name: "cgroup v2 without quota", files: with(map[string]string{"sys/fs/cgroup/cpu.max": "max 100000\n"}), wantIP: "192.168.0.7", wantCPU: ncpu},
		{name: "cgroup v1 quota of one and a half CPUs", files: with(map[string]string{
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "150000", "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000"}),
			wantIP: "192.168.0.7", wantCPU: min(ncpu, 2)},
		{name: "cgroup v1 unlimited", files: with(map[string]string{
			"sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000"}),
			wantIP: "192.168.0.7", wantCPU: ncpu},
		{name: "no meminfo", files: map[string]string{"proc/net/route": routeTable}, wantErr: "meminfo"},
		{name: "meminfo without MemTotal", files: with(map[string]string{"proc/meminfo": "MemFree: 1 kB\n"}), wantErr: "no MemTotal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Root = fakeRoot(t, tc.files)
			opts.Interfaces = ifaces
			opts.Hostname = "Worker-1"
			info, err := Detect(opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.InternalIP.String() != tc.wantIP {
				t.Errorf("InternalIP = %s, want %s", info.InternalIP, tc.wantIP)
			}
			if info.CPUs != tc.wantCPU {
				t.Errorf("CPUs = %d, want %d", info.CPUs, tc.wantCPU)
			}
			if info.MemoryBytes != 8049228*1024 {
				t.Errorf("MemoryBytes = %d", info.MemoryBytes)
			}
			if info.Hostname != "worker-1" || info.OSImage != "Debian GNU/Linux 12 (bookworm)" ||
				info.KernelVersion != "6.1.0-28-amd64" || info.MaxPods != 110 ||
				info.MachineID != "0123456789abcdef0123456789abcdef" || info.BootID == "" {
				t.Errorf("info = %+v", info)
			}
		})
	}
}

func TestNodeTemplate(t *testing.T) {
	opts := Options{Root: fakeRoot(t, baseFiles), Interfaces: ifaces, Hostname: "h1"}
	info, err := Detect(opts)
	if err != nil {
		t.Fatal(err)
	}
	n := info.Node("node-a", 10250)
	if n.Name != "node-a" || n.Labels[corev1.LabelHostname] != "node-a" || n.Labels[corev1.LabelOSStable] != "linux" {
		t.Errorf("meta %+v", n.ObjectMeta)
	}
	if q := n.Status.Capacity[corev1.ResourcePods]; q.Value() != 110 {
		t.Errorf("pods %s", q.String())
	}
	if q := n.Status.Capacity[corev1.ResourceMemory]; q.String() != "8049228Ki" {
		t.Errorf("memory %s, want 8049228Ki", q.String())
	}
	want := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.0.7"}, {Type: corev1.NodeHostName, Address: "h1"}}
	if len(n.Status.Addresses) != 2 || n.Status.Addresses[0] != want[0] || n.Status.Addresses[1] != want[1] {
		t.Errorf("addresses %v", n.Status.Addresses)
	}
	if n.Status.DaemonEndpoints.KubeletEndpoint.Port != 10250 || n.Status.NodeInfo.OperatingSystem != "linux" {
		t.Errorf("status %+v", n.Status)
	}
}

// The real host: whatever it has, detection must work on a Linux machine.
func TestDetectThisHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	info, err := Detect(Options{})
	if err != nil {
		// A host without any global IPv4 address is possible in a sandbox.
		if strings.Contains(err.Error(), "no IPv4 address") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	if info.CPUs < 1 || info.MemoryBytes <= 0 || info.KernelVersion == "" {
		t.Fatalf("info %+v", info)
	}
}

func TestInternalIPAlone(t *testing.T) {
	ip, err := InternalIP(Options{Root: fakeRoot(t, map[string]string{"proc/net/route": routeTable}), Interfaces: ifaces})
	if err != nil || ip.String() != "192.168.0.7" {
		t.Fatalf("InternalIP = %v, %v; want 192.168.0.7", ip, err)
	}
}
