package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/drydock-sim/drydock/internal/testsync"
	"github.com/drydock-sim/drydock/real/cni/netnstest"
	"github.com/drydock-sim/drydock/real/containerd/ctrtest"
)

// binaryEnv and nodeBinaryEnv name prebuilt drydock and drydock-node
// binaries to use instead of building them.
const (
	binaryEnv     = "DRYDOCK_BENCH_BINARY"
	nodeBinaryEnv = "DRYDOCK_BENCH_NODE_BINARY"
)

// requestLogEnv, when set, runs the server with --log-requests, and
// BenchmarkPodStartup logs which API requests each batch made and the time
// the server spent on them.
const requestLogEnv = "DRYDOCK_BENCH_REQUEST_LOG"

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]string{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// drydockBinary builds cmd/drydock once per test process (or returns the
// binary DRYDOCK_BENCH_BINARY names).
func drydockBinary(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv(binaryEnv); bin != "" {
		return bin
	}
	return build(tb, "github.com/drydock-sim/drydock/cmd/drydock", "drydock")
}

// nodeBinary builds cmd/drydock-node once per test process (or returns
// the binary DRYDOCK_BENCH_NODE_BINARY names).
func nodeBinary(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv(nodeBinaryEnv); bin != "" {
		return bin
	}
	return build(tb, "github.com/drydock-sim/drydock/cmd/drydock-node", "drydock-node")
}

func build(tb testing.TB, pkg, name string) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := built[pkg]; ok {
		return bin
	}
	if buildDir == "" {
		dir, err := os.MkdirTemp("", "drydock-bench-bin-")
		if err != nil {
			tb.Fatal(err)
		}
		buildDir = dir
	}
	bin := filepath.Join(buildDir, name)
	start := time.Now()
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	tb.Logf("built %s in %s", pkg, time.Since(start).Round(time.Millisecond))
	built[pkg] = bin
	return bin
}

// agentKind is which binary runs the node agent.
type agentKind int

const (
	drydockNode agentKind = iota // `drydock node`: the agent in the drydock binary
	nodeOnly                     // drydock-node: the same command in the node-only binary
)

// proc is a drydock subprocess with its output in a log file. It is in a
// process group of its own; cleanup sends SIGTERM, and SIGKILL to the group
// if it has not exited within a minute.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

func startProc(tb testing.TB, name string, env []string, argv ...string) *proc {
	tb.Helper()
	p := &proc{name: name, logPath: filepath.Join(tb.TempDir(), name+".log"), done: make(chan struct{})}
	lf, err := os.Create(p.logPath)
	if err != nil {
		tb.Fatal(err)
	}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = lf, lf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		lf.Close()
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	tb.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
		select {
		case <-p.done:
		case <-time.After(time.Minute):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck
			<-p.done
		}
		if tb.Failed() {
			tb.Logf("%s log (last 8 KiB):\n%s", name, tail(p.log(), 8<<10))
		}
	})
	return p
}

func (p *proc) log() string { b, _ := os.ReadFile(p.logPath); return string(b) }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// cluster is one `drydock server` (embedded etcd) and one `drydock node`,
// both subprocesses of the benchmark.
type cluster struct {
	bin      string
	server   *proc
	agent    *proc
	cs       *kubernetes.Clientset
	nodeName string
	ctrNS    string
	ctr      *client.Client // containerd, for the node's containers' timestamps
	ns       *netnstest.NS
	// heapProfile is where the agent writes its heap profile (--heap-profile).
	heapProfile string
	agentBin    string
}

var (
	readyLine = regexp.MustCompile(`msg="drydock server is ready" url=(https://\S+)`)
	joinLine  = regexp.MustCompile(`--token (\S+) --ca-cert-hash (sha256:[0-9a-f]+)`)
)

// startCluster starts the server in the root network namespace on the host
// end of a veth pair, and the node agent with `nsenter --net` in a network
// namespace of its own on the other end, and waits for a Ready node with a
// pod CIDR. Everything is removed at cleanup, in reverse order: agent,
// server, veth, network namespace (the agent's bridge and iptables chains
// go with it), containerd namespace (containers, snapshots, images, the
// pods' network namespaces and cgroup folders).
func startCluster(tb testing.TB, kind agentKind) *cluster {
	tb.Helper()
	netnstest.Require(tb, "ip", "nsenter", "iptables", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/bin/busybox")
	ctrtest.Require(tb)
	bin, err := filepath.Abs(drydockBinary(tb))
	if err != nil {
		tb.Fatal(err)
	}
	c := &cluster{bin: bin}
	c.ctr, c.ctrNS = ctrtest.Namespace(tb)

	tag := netnstest.Tag(tb)
	c.ns = netnstest.New(tb, "ddbench-"+tag)
	hostIf, nodeIf := "ddbh"+tag, "ddbn"+tag
	subnet := fmt.Sprintf("10.253.%d", 1+rand.IntN(250))
	hostIP, nodeIP := subnet+".1", subnet+".2"
	netnstest.Run(tb, "ip", "link", "add", hostIf, "type", "veth", "peer", "name", nodeIf)
	tb.Cleanup(func() { _ = exec.Command("ip", "link", "del", hostIf).Run() })
	netnstest.Run(tb, "ip", "link", "set", nodeIf, "netns", c.ns.Name)
	netnstest.Run(tb, "ip", "addr", "add", hostIP+"/24", "dev", hostIf)
	netnstest.Run(tb, "ip", "link", "set", hostIf, "up")
	c.ns.Run(tb, "ip", "addr", "add", nodeIP+"/24", "dev", nodeIf)
	c.ns.Run(tb, "ip", "link", "set", nodeIf, "up")
	c.ns.Run(tb, "ip", "route", "add", "default", "via", hostIP)

	// The server, as `drydock server` runs by default (etcd with fsync),
	// with the Go runtime's GC trace on stderr for the live heap.
	srvDir := tb.TempDir()
	srvArgs := []string{c.bin, "server", "--data-dir", srvDir, "--bind-address", hostIP, "--advertise-address", hostIP, "--secure-port", "0"}
	if os.Getenv(requestLogEnv) != "" {
		srvArgs = append(srvArgs, "--log-requests")
	}
	c.server = startProc(tb, "server", []string{"GODEBUG=gctrace=1"}, srvArgs...)
	var url, token, caHash string
	testsync.Until(tb, "server ready", 2*time.Minute, func() (bool, string) {
		if c.server.exited() {
			tb.Fatalf("server exited: %v\n%s", c.server.err, tail(c.server.log(), 8<<10))
		}
		log := c.server.log()
		m, j := readyLine.FindStringSubmatch(log), joinLine.FindStringSubmatch(log)
		if m == nil || j == nil {
			return false, tail(log, 2<<10)
		}
		url, token, caHash = m[1], j[1], j[2]
		return true, ""
	})
	rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(srvDir, "admin.kubeconfig"))
	if err != nil {
		tb.Fatal(err)
	}
	rc.QPS, rc.Burst = 1000, 1000 // client-side throttling is not what is measured
	c.cs = kubernetes.NewForConfigOrDie(rc)

	// The node agent in its network namespace (nsenter execs it: the pid
	// is the agent's).
	c.nodeName = "bench-" + tag
	nodeDir := tb.TempDir()
	argv := []string{"nsenter", "--net=" + c.ns.Path, "--", c.bin, "node"}
	if kind == nodeOnly {
		nb, err := filepath.Abs(nodeBinary(tb))
		if err != nil {
			tb.Fatal(err)
		}
		argv = []string{"nsenter", "--net=" + c.ns.Path, "--", nb}
	}
	c.agentBin = argv[3]
	c.heapProfile = filepath.Join(nodeDir, "heap.pprof")
	c.agent = startProc(tb, "node", []string{"GODEBUG=gctrace=1"}, append(argv, "--heap-profile", c.heapProfile,
		"--server", url, "--token", token, "--ca-cert-hash", caHash, "--name", c.nodeName, "--node-ip", nodeIP,
		"--data-dir", filepath.Join(nodeDir, "data"), "--pod-log-dir", filepath.Join(nodeDir, "pods"),
		"--containerd-namespace", c.ctrNS, "--bridge", "ddb"+tag)...)
	ctx := context.Background()
	testsync.Until(tb, "node Ready with a pod CIDR", 2*time.Minute, func() (bool, string) {
		if c.agent.exited() {
			tb.Fatalf("agent exited: %v\n%s", c.agent.err, tail(c.agent.log(), 8<<10))
		}
		n, err := c.cs.CoreV1().Nodes().Get(ctx, c.nodeName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue && n.Spec.PodCIDR != "" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("podCIDR %q conditions %v", n.Spec.PodCIDR, n.Status.Conditions)
	})
	// The pod network is set up once the agent has seen the CIDR.
	testsync.Until(tb, "agent's pod network", time.Minute, func() (bool, string) {
		return strings.Contains(c.agent.log(), "pod network ready"), tail(c.agent.log(), 2<<10)
	})
	for _, p := range []*proc{c.server, c.agent} {
		want := c.bin
		if p == c.agent {
			want = c.agentBin
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.cmd.Process.Pid))
		if err != nil || exe != want {
			tb.Fatalf("pid %d of the %s is %q (%v), not %s", p.cmd.Process.Pid, p.name, exe, err, want)
		}
	}
	return c
}

// podSpec is one benchmark pod: busybox `sleep 3600`, scheduled by the
// control plane (no nodeName), a one-second grace period (sleep as PID 1
// ignores SIGTERM).
func podSpec(name string, labels map[string]string) *corev1.Pod {
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels},
		Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &grace, Containers: []corev1.Container{{
			Name: "c", Image: "busybox", Command: []string{"sleep", "3600"}}}},
	}
}

// deletePods deletes the pods with the label selector and waits until the
// API no longer has them (the kubelet removes them once their containers
// are gone).
func (c *cluster) deletePods(tb testing.TB, selector string, timeout time.Duration) {
	tb.Helper()
	ctx := context.Background()
	if err := c.cs.CoreV1().Pods("default").DeleteCollection(ctx, metav1.DeleteOptions{},
		metav1.ListOptions{LabelSelector: selector}); err != nil {
		// Not every server has deletecollection: one by one.
		l, lerr := c.cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: selector})
		if lerr != nil {
			tb.Fatalf("delete pods %s: %v; list: %v", selector, err, lerr)
		}
		for _, p := range l.Items {
			if err := c.cs.CoreV1().Pods("default").Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
				tb.Fatalf("delete pod %s: %v", p.Name, err)
			}
		}
	}
	testsync.Until(tb, "pods "+selector+" gone", timeout, func() (bool, string) {
		l, err := c.cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, err.Error()
		}
		return len(l.Items) == 0, fmt.Sprintf("%d left", len(l.Items))
	})
}

// loadAvg is /proc/loadavg's first three fields.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
