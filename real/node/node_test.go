package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/drydock-sim/drydock/internal/testsync"
	"github.com/drydock-sim/drydock/real/cni/netnstest"
	"github.com/drydock-sim/drydock/real/containerd/ctrtest"
	"github.com/drydock-sim/drydock/real/server"
)

// agentEnv carries a JSON Config to the test binary re-executed as a node
// agent inside a network namespace.
const agentEnv = "DRYDOCK_TEST_NODE_AGENT"

func TestMain(m *testing.M) {
	if cfgJSON := os.Getenv(agentEnv); cfgJSON != "" {
		os.Exit(runAgentProcess(cfgJSON))
	}
	os.Exit(m.Run())
}

// runAgentProcess is the node agent process of TestNodeAgentRunsPods.
func runAgentProcess(cfgJSON string) int {
	var cfg Config
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "agent config:", err)
		return 2
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		return 1
	}
	return 0
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no server", Config{Name: "n"}, "--server is required"},
		{"plain http server", Config{Server: "http://x:6443", Name: "n"}, "https://"},
		{"bad name", Config{Server: "https://x:6443", Name: "Bad_Name"}, "--name"},
		{"bad token", Config{Server: "https://x:6443", Name: "n", Token: "abc"}, "--token"},
		{"bad node ip", Config{Server: "https://x:6443", Name: "n", NodeIP: "x"}, "--node-ip"},
		{"bad port", Config{Server: "https://x:6443", Name: "n", KubeletPort: 70000}, "--kubelet-port"},
		{"bad cluster cidr", Config{Server: "https://x:6443", Name: "n", ClusterCIDR: "10.0.0.0"}, "--cluster-cidr"},
		{"bad dns", Config{Server: "https://x:6443", Name: "n", ClusterDNS: []string{"dns"}}, "--cluster-dns"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

// The whole node side against an in-process server: the agent runs as a
// separate process in a network namespace of its own, linked to the host
// by a veth pair. It joins, registers a Ready node that gets a pod CIDR,
// runs a busybox pod whose logs the API server fetches from the kubelet,
// programs Service rules, deletes the pod, and on SIGTERM removes its
// iptables chains.
func TestNodeAgentRunsPods(t *testing.T) {
	tc := newTestCluster(t, "")
	ns, srv, cs, ctx, ctrNS, tag, nodeIP := tc.ns, tc.srv, tc.cs, tc.ctx, tc.ctrNS, tc.tag, tc.nodeIP

	// Agent process in the namespace.
	nodeName := "node-" + tag
	logRoot := t.TempDir()
	cfg := Config{Server: srv.URL(), Token: srv.BootstrapToken(), Name: nodeName, DataDir: t.TempDir(),
		CACertHashes: []string{srv.CACertHash()}, ContainerdNamespace: ctrNS, LogRoot: logRoot,
		CleanupOnExit: true, Bridge: "dd" + tag}
	agent := startAgent(t, ns, cfg)
	agentDone := agent.done

	// The node registers, becomes Ready and gets a pod CIDR.
	var podCIDR string
	testsync.Until(t, "node Ready with a pod CIDR", 90*time.Second, func() (bool, string) {
		select {
		case <-agentDone:
			t.Fatalf("agent exited: %v", agent.err)
		default:
		}
		n, err := cs.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		podCIDR = n.Spec.PodCIDR
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue && podCIDR != "" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("podCIDR %q conditions %v", podCIDR, n.Status.Conditions)
	})
	n, _ := cs.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	var internalIP string
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			internalIP = a.Address
		}
	}
	if internalIP != nodeIP {
		t.Errorf("InternalIP %q, want %s", internalIP, nodeIP)
	}

	// A pod runs and its log comes back through the API server.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default", Labels: map[string]string{"app": "hello"}},
		Spec: corev1.PodSpec{NodeName: nodeName, TerminationGracePeriodSeconds: ptr(int64(1)), Containers: []corev1.Container{{
			Name: "c", Image: "busybox", Command: []string{"sh", "-c", "echo hello from drydock; exec sleep 3600"}}}}}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testsync.Until(t, "pod Running with an IP", 90*time.Second, func() (bool, string) {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "hello", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "", fmt.Sprintf("%s %q %+v", p.Status.Phase, p.Status.PodIP, p.Status.ContainerStatuses)
	})
	p, _ := cs.CoreV1().Pods("default").Get(ctx, "hello", metav1.GetOptions{})
	if prefix := strings.Join(strings.Split(podCIDR, ".")[:3], "."); !strings.HasPrefix(p.Status.PodIP, prefix+".") {
		t.Errorf("pod IP %s outside the node's pod CIDR %s", p.Status.PodIP, podCIDR)
	}
	testsync.Until(t, "pod log through the API server", 30*time.Second, func() (bool, string) {
		rc, err := cs.CoreV1().Pods("default").GetLogs("hello", &corev1.PodLogOptions{Container: "c"}).Stream(ctx)
		if err != nil {
			return false, err.Error()
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		return strings.Contains(string(b), "hello from drydock"), string(b)
	})

	// A Service gets proxy rules in the node's namespace.
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "hello"}, Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testsync.Until(t, "service rules", 30*time.Second, func() (bool, string) {
		s, err := cs.CoreV1().Services("default").Get(ctx, "hello", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		out, _ := ns.Exec("iptables-save", "-t", "nat")
		return strings.Contains(out, s.Spec.ClusterIP+"/32"), out
	})

	// A restarted agent (stored credentials, no token) takes over the
	// running pod: same container, no restart.
	before, _ := cs.CoreV1().Pods("default").Get(ctx, "hello", metav1.GetOptions{})
	if err := agent.stop(); err != nil {
		t.Fatalf("agent exit: %v", err)
	}
	cfg.Token = ""
	agent = startAgent(t, ns, cfg)
	testsync.Until(t, "restarted agent renews its lease", 60*time.Second, func() (bool, string) {
		l, err := cs.CoordinationV1().Leases("kube-node-lease").Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(agent.log(), "using stored credentials") && l.Spec.RenewTime.After(time.Now().Add(-2*time.Second)), ""
	})
	testsync.Until(t, "service rules again", 30*time.Second, func() (bool, string) {
		s, _ := cs.CoreV1().Services("default").Get(ctx, "hello", metav1.GetOptions{})
		out, _ := ns.Exec("iptables-save", "-t", "nat")
		return strings.Contains(out, s.Spec.ClusterIP+"/32"), out
	})
	after, _ := cs.CoreV1().Pods("default").Get(ctx, "hello", metav1.GetOptions{})
	if after.Status.Phase != corev1.PodRunning || len(after.Status.ContainerStatuses) != 1 ||
		after.Status.ContainerStatuses[0].ContainerID != before.Status.ContainerStatuses[0].ContainerID ||
		after.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Fatalf("pod after the agent restart: %+v\nbefore: %+v", after.Status, before.Status)
	}

	// Deleting the pod stops it and the kubelet removes the object.
	if err := cs.CoreV1().Pods("default").Delete(ctx, "hello", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testsync.Until(t, "pod gone", 60*time.Second, func() (bool, string) {
		_, err := cs.CoreV1().Pods("default").Get(ctx, "hello", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})

	// SIGTERM: a clean exit that removes the proxy chains.
	if err := agent.stop(); err != nil {
		t.Fatalf("agent exit: %v", err)
	}
	out, _ := ns.Exec("iptables-save")
	if strings.Contains(out, "DRYDOCK-SERVICES") {
		t.Errorf("proxy chains left after a clean exit:\n%s", out)
	}
}

// A node without a pod CIDR is NotReady with Kubernetes' network message
// and a pod bound to it waits in ContainerCreating; once the Node has a pod
// CIDR it is Ready and the pod runs. The server's cluster CIDR holds one
// /24, which a placeholder Node takes first, so the node IPAM controller
// has none for the agent's Node until the test assigns one.
func TestNodeNotReadyUntilPodCIDR(t *testing.T) {
	tc := newTestCluster(t, "10.244.0.0/24")
	cs, ctx := tc.cs, tc.ctx
	placeholder := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "placeholder-" + tc.tag},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24", PodCIDRs: []string{"10.244.0.0/24"}}}
	if _, err := cs.CoreV1().Nodes().Create(ctx, placeholder, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	nodeName := "node-" + tc.tag
	cfg := Config{Server: tc.srv.URL(), Token: tc.srv.BootstrapToken(), Name: nodeName, DataDir: t.TempDir(),
		CACertHashes: []string{tc.srv.CACertHash()}, ContainerdNamespace: tc.ctrNS, LogRoot: t.TempDir(),
		CleanupOnExit: true, Bridge: "dd" + tc.tag}
	agent := startAgent(t, tc.ns, cfg)

	const wantMsg = "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady " +
		"message:Network plugin returns error: network plugin not ready: the node has no pod CIDR yet"
	readyOf := func() (corev1.NodeCondition, string, error) {
		n, err := cs.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return corev1.NodeCondition{}, "", err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c, n.Spec.PodCIDR, nil
			}
		}
		return corev1.NodeCondition{}, n.Spec.PodCIDR, nil
	}
	testsync.Until(t, "node NotReady for the network", 90*time.Second, func() (bool, string) {
		c, cidr, err := readyOf()
		if err != nil {
			return false, err.Error()
		}
		return cidr == "" && c.Status == corev1.ConditionFalse && c.Reason == "KubeletNotReady" && c.Message == wantMsg,
			fmt.Sprintf("podCIDR %q Ready %+v", cidr, c)
	})

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "early", Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: nodeName, TerminationGracePeriodSeconds: ptr(int64(1)), Containers: []corev1.Container{{
			Name: "c", Image: "busybox", Command: []string{"sleep", "3600"}}}}}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testsync.Until(t, "pod waiting for the network", 30*time.Second, func() (bool, string) {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "early", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		evs, err := cs.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var netEvent bool
		for _, e := range evs.Items {
			netEvent = netEvent || (e.InvolvedObject.Name == "early" && e.Reason == "NetworkNotReady" &&
				e.Message == "network is not ready: "+wantMsg)
		}
		cs := p.Status.ContainerStatuses
		waiting := len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "ContainerCreating"
		return p.Status.Phase == corev1.PodPending && waiting && netEvent, fmt.Sprintf("status %+v NetworkNotReady event %v", p.Status, netEvent)
	})

	// The pod CIDR arrives (set by hand: the cluster CIDR is full).
	testsync.Until(t, "pod CIDR set", 30*time.Second, func() (bool, string) {
		n, err := cs.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.1.0/24", []string{"10.244.1.0/24"}
		_, err = cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err == nil, fmt.Sprint(err)
	})
	testsync.Until(t, "node Ready and the pod Running", 60*time.Second, func() (bool, string) {
		c, _, err := readyOf()
		if err != nil {
			return false, err.Error()
		}
		p, err := cs.CoreV1().Pods("default").Get(ctx, "early", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return c.Status == corev1.ConditionTrue && c.Reason == "KubeletReady" && p.Status.Phase == corev1.PodRunning &&
			strings.HasPrefix(p.Status.PodIP, "10.244.1."), fmt.Sprintf("Ready %+v pod %s %s", c, p.Status.Phase, p.Status.PodIP)
	})

	if err := cs.CoreV1().Pods("default").Delete(ctx, "early", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testsync.Until(t, "pod gone", 60*time.Second, func() (bool, string) {
		_, err := cs.CoreV1().Pods("default").Get(ctx, "early", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	if err := agent.stop(); err != nil {
		t.Fatalf("agent exit: %v", err)
	}
}

// testCluster is an in-process server on the host side of a veth pair and a
// network namespace for a node agent on the other side.
type testCluster struct {
	ns                 *netnstest.NS
	srv                *server.Server
	cs                 *kubernetes.Clientset
	ctx                context.Context
	ctrNS, tag, nodeIP string
}

// newTestCluster starts the server (clusterCIDR: its --cluster-cidr, ""
// for the default) and makes the agent's namespace.
func newTestCluster(t *testing.T, clusterCIDR string) *testCluster {
	t.Helper()
	netnstest.Require(t, "ip", "nsenter", "iptables", "/usr/lib/cni/bridge", "/bin/busybox")
	_, ctrNS := ctrtest.Namespace(t)
	tag := netnstest.Tag(t)
	ns := netnstest.New(t, "ddnode-"+tag)
	hostIf, nodeIf := "ddh"+tag, "ddn"+tag
	hostIP, nodeIP := "10.251.17.1", "10.251.17.2"
	netnstest.Run(t, "ip", "link", "add", hostIf, "type", "veth", "peer", "name", nodeIf)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", hostIf).Run() })
	netnstest.Run(t, "ip", "link", "set", nodeIf, "netns", ns.Name)
	netnstest.Run(t, "ip", "addr", "add", hostIP+"/24", "dev", hostIf)
	netnstest.Run(t, "ip", "link", "set", hostIf, "up")
	ns.Run(t, "ip", "addr", "add", nodeIP+"/24", "dev", nodeIf)
	ns.Run(t, "ip", "link", "set", nodeIf, "up")
	ns.Run(t, "ip", "route", "add", "default", "via", hostIP)

	// Server on the host side.
	logs := &testsync.Buffer{}
	srv, err := server.New(server.Config{DataDir: t.TempDir(), BindAddress: hostIP, SecurePort: 0, CompactionInterval: -1,
		EtcdUnsafeNoFsync: true, ClusterCIDR: clusterCIDR, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-srvErr
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	select {
	case <-srv.Ready():
	case err := <-srvErr:
		t.Fatalf("server: %v\n%s", err, logs.String())
	}
	rc, err := clientcmd.BuildConfigFromFlags("", srv.AdminKubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(rc)

	return &testCluster{ns: ns, srv: srv, cs: cs, ctx: ctx, ctrNS: ctrNS, tag: tag, nodeIP: nodeIP}
}

func ptr[T any](v T) *T { return &v }

// agentProc is a node agent process (this test binary re-executed) in a
// network namespace.
type agentProc struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

func startAgent(t *testing.T, ns *netnstest.NS, cfg Config) *agentProc {
	t.Helper()
	cfgJSON, _ := json.Marshal(cfg)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	a := &agentProc{logPath: filepath.Join(t.TempDir(), "agent.log"), done: make(chan struct{})}
	lf, err := os.Create(a.logPath)
	if err != nil {
		t.Fatal(err)
	}
	// nsenter, not `ip netns exec`: the latter gives the agent a mount
	// namespace of its own, hiding the sandbox netns bind mounts it makes
	// from containerd.
	a.cmd = exec.Command("nsenter", "--net="+ns.Path, "--", exe, "-test.run=^$")
	a.cmd.Env = append(os.Environ(), agentEnv+"="+string(cfgJSON))
	a.cmd.Stdout, a.cmd.Stderr = lf, lf
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		lf.Close()
		t.Fatal(err)
	}
	go func() {
		a.err = a.cmd.Wait()
		lf.Close()
		close(a.done)
	}()
	t.Cleanup(func() {
		select {
		case <-a.done:
		default:
			syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck
			<-a.done
		}
		if t.Failed() {
			t.Logf("agent log (%s):\n%s", a.logPath, a.log())
		}
	})
	return a
}

func (a *agentProc) log() string { b, _ := os.ReadFile(a.logPath); return string(b) }

// stop sends SIGTERM and waits for the exit.
func (a *agentProc) stop() error {
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-a.done:
		return a.err
	case <-time.After(60 * time.Second):
		return fmt.Errorf("agent did not exit on SIGTERM")
	}
}
