// Package hostinfo reads what a node reports about its machine: capacity
// (CPUs, memory, pods), addresses (the InternalIP and the Hostname) and the
// system information of Node.status.nodeInfo, as Kubernetes' kubelet does
// from cAdvisor and the host's files.
package hostinfo

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultMaxPods is the kubelet's default maxPods.
const DefaultMaxPods = 110

// Options adjust detection.
type Options struct {
	// NodeIP, if set, is the InternalIP (the --node-ip flag); it must be
	// an address of this host unless SkipIPCheck.
	NodeIP string
	// Hostname overrides os.Hostname.
	Hostname string
	// MaxPods is the pods capacity (default 110).
	MaxPods int
	// Root is where the host's /proc, /sys and /etc are read from
	// (default "/"; tests point it at a fake tree).
	Root string
	// Interfaces lists the host's interfaces and their addresses (default:
	// the net package). Tests replace it.
	Interfaces func() ([]Interface, error)
	// SkipIPCheck accepts a NodeIP that is not on any interface.
	SkipIPCheck bool
}

// Interface is a network interface and its addresses.
type Interface struct {
	Name  string
	Up    bool
	Addrs []net.IP
}

// Info is what was found.
type Info struct {
	Hostname      string
	InternalIP    net.IP
	CPUs          int64 // whole CPUs, after any cgroup quota
	MemoryBytes   int64
	MaxPods       int
	KernelVersion string
	OSImage       string
	Architecture  string
	MachineID     string
	BootID        string
}

// Detect reads the host.
func Detect(opts Options) (*Info, error) {
	if opts.Root == "" {
		opts.Root = "/"
	}
	if opts.MaxPods <= 0 {
		opts.MaxPods = DefaultMaxPods
	}
	if opts.Interfaces == nil {
		opts.Interfaces = systemInterfaces
	}
	info := &Info{MaxPods: opts.MaxPods, Architecture: runtime.GOARCH}
	info.Hostname = opts.Hostname
	if info.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("hostinfo: hostname: %w", err)
		}
		info.Hostname = h
	}
	info.Hostname = strings.ToLower(info.Hostname)
	var err error
	if info.CPUs, err = cpus(opts.Root); err != nil {
		return nil, err
	}
	if info.MemoryBytes, err = memTotal(opts.Root); err != nil {
		return nil, err
	}
	if info.InternalIP, err = internalIP(opts); err != nil {
		return nil, err
	}
	info.KernelVersion = readTrim(opts.Root, "proc/sys/kernel/osrelease")
	info.OSImage = osImage(opts.Root)
	info.MachineID = readTrim(opts.Root, "etc/machine-id")
	info.BootID = readTrim(opts.Root, "proc/sys/kernel/random/boot_id")
	return info, nil
}

func readTrim(root, rel string) string {
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// cpus is the number of CPUs this process may use, lowered by a cgroup CPU
// quota (v2 cpu.max or v1 cpu.cfs_quota_us/cpu.cfs_period_us), rounded up.
func cpus(root string) (int64, error) {
	n := int64(runtime.NumCPU())
	if q, ok := cgroupQuota(root); ok && q < float64(n) {
		n = int64(math.Ceil(q))
	}
	if n < 1 {
		n = 1
	}
	return n, nil
}

func cgroupQuota(root string) (float64, bool) {
	// cgroup v2
	if s := readTrim(root, "sys/fs/cgroup/cpu.max"); s != "" {
		f := strings.Fields(s)
		if len(f) == 2 && f[0] != "max" {
			quota, err1 := strconv.ParseFloat(f[0], 64)
			period, err2 := strconv.ParseFloat(f[1], 64)
			if err1 == nil && err2 == nil && period > 0 && quota > 0 {
				return quota / period, true
			}
		}
		return 0, false
	}
	// cgroup v1
	for _, dir := range []string{"sys/fs/cgroup/cpu", "sys/fs/cgroup/cpu,cpuacct"} {
		qs := readTrim(root, dir+"/cpu.cfs_quota_us")
		ps := readTrim(root, dir+"/cpu.cfs_period_us")
		if qs == "" || ps == "" {
			continue
		}
		quota, err1 := strconv.ParseFloat(qs, 64)
		period, err2 := strconv.ParseFloat(ps, 64)
		if err1 == nil && err2 == nil && quota > 0 && period > 0 {
			return quota / period, true
		}
		return 0, false
	}
	return 0, false
}

// memTotal is MemTotal from /proc/meminfo, in bytes.
func memTotal(root string) (int64, error) {
	path := filepath.Join(root, "proc/meminfo")
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("hostinfo: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("hostinfo: %s: MemTotal %q: %w", path, fields[1], err)
			}
			return kb * 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("hostinfo: %s: %w", path, err)
	}
	return 0, fmt.Errorf("hostinfo: %s has no MemTotal line", path)
}

// osImage is PRETTY_NAME from os-release, as the kubelet reports it.
func osImage(root string) string {
	for _, rel := range []string{"etc/os-release", "usr/lib/os-release"} {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				if u, err := strconv.Unquote(v); err == nil {
					return u
				}
				return strings.Trim(v, `"'`)
			}
		}
	}
	return "Linux"
}

// InternalIP is the address Detect would report as the InternalIP (only
// opts.NodeIP, Root, Interfaces and SkipIPCheck matter), for callers that
// need the host's main address and nothing else, such as the API server's
// default advertise address.
func InternalIP(opts Options) (net.IP, error) {
	if opts.Root == "" {
		opts.Root = "/"
	}
	if opts.Interfaces == nil {
		opts.Interfaces = systemInterfaces
	}
	return internalIP(opts)
}

// internalIP is --node-ip if given (checked to be on this host), else the
// first IPv4 address of the interface carrying the default route, else
// the first global IPv4 address of any up interface, as the kubelet picks.
func internalIP(opts Options) (net.IP, error) {
	ifaces, err := opts.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("hostinfo: listing interfaces: %w", err)
	}
	if opts.NodeIP != "" {
		ip := net.ParseIP(opts.NodeIP)
		if ip == nil {
			return nil, fmt.Errorf("hostinfo: --node-ip %q is not an IP address", opts.NodeIP)
		}
		if opts.SkipIPCheck {
			return ip, nil
		}
		for _, i := range ifaces {
			for _, a := range i.Addrs {
				if a.Equal(ip) {
					return ip, nil
				}
			}
		}
		return nil, fmt.Errorf("hostinfo: --node-ip %s is not an address of this host", opts.NodeIP)
	}
	if dev, err := defaultRouteDevice(opts.Root); err == nil && dev != "" {
		for _, i := range ifaces {
			if i.Name == dev {
				if ip := firstIPv4(i.Addrs); ip != nil {
					return ip, nil
				}
			}
		}
	}
	for _, i := range ifaces {
		if !i.Up {
			continue
		}
		if ip := firstIPv4(i.Addrs); ip != nil {
			return ip, nil
		}
	}
	return nil, errors.New("hostinfo: no IPv4 address found for the node (no default route, no global address); pass --node-ip")
}

func firstIPv4(addrs []net.IP) net.IP {
	for _, a := range addrs {
		if v4 := a.To4(); v4 != nil && v4.IsGlobalUnicast() {
			return v4
		}
	}
	return nil
}

// defaultRouteDevice reads /proc/net/route for the IPv4 default route with
// the lowest metric.
func defaultRouteDevice(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "proc/net/route"))
	if err != nil {
		return "", err
	}
	best, bestMetric := "", int64(math.MaxInt64)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		dst, err1 := hex.DecodeString(f[1])
		mask, err2 := hex.DecodeString(f[7])
		metric, err3 := strconv.ParseInt(f[6], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		if bytes.Equal(dst, []byte{0, 0, 0, 0}) && bytes.Equal(mask, []byte{0, 0, 0, 0}) && metric < bestMetric {
			best, bestMetric = f[0], metric
		}
	}
	return best, nil
}

func systemInterfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := make([]Interface, 0, len(ifs))
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		iface := Interface{Name: i.Name, Up: i.Flags&net.FlagUp != 0}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				iface.Addrs = append(iface.Addrs, n.IP)
			}
		}
		out = append(out, iface)
	}
	return out, nil
}

// Node is the template the kubelet registers: capacity and allocatable,
// addresses, system info and the kubelet endpoint.
func (i *Info) Node(name string, kubeletPort int32) *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(i.CPUs, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(i.MemoryBytes, resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(int64(i.MaxPods), resource.DecimalSI),
	}
	addrs := []corev1.NodeAddress{}
	if i.InternalIP != nil {
		addrs = append(addrs, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: i.InternalIP.String()})
	}
	addrs = append(addrs, corev1.NodeAddress{Type: corev1.NodeHostName, Address: i.Hostname})
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				corev1.LabelHostname:   name,
				corev1.LabelOSStable:   "linux",
				corev1.LabelArchStable: i.Architecture,
			},
		},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity,
			Addresses:   addrs,
			NodeInfo: corev1.NodeSystemInfo{
				MachineID:       i.MachineID,
				SystemUUID:      i.MachineID,
				BootID:          i.BootID,
				KernelVersion:   i.KernelVersion,
				OSImage:         i.OSImage,
				OperatingSystem: "linux",
				Architecture:    i.Architecture,
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: kubeletPort}},
		},
	}
}
