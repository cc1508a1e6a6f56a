package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/real/auth"
	"github.com/drydock-sim/drydock/real/containerd/ctrtest"
)

// The cluster under test: one `drydock server` in the root network
// namespace on the bridge's gateway address, and one `drydock node` per
// host namespace.
type cluster struct {
	t    *testing.T
	tl   *timeline
	bin  string
	work string
	tp   *topology
	d    *ctrd
	k    *kubectl
	ns   string // the Kubernetes namespace of the test's objects

	serverDir string
	server    *proc
	apiURL    string
	nodes     []*node
}

type node struct {
	Name  string
	Host  *host
	Dir   string
	CtrNS string // containerd namespace
	Agent *proc
	Dead  bool
}

const (
	apiPort = 6443
	webPort = 8080
)

// serverArgv is `drydock server` as the test runs it.
func (c *cluster) serverArgv() []string {
	return []string{c.bin, "server",
		"--data-dir", c.serverDir,
		"--bind-address", c.tp.GatewayIP,
		"--secure-port", fmt.Sprint(apiPort),
		// Half of Kubernetes' 40 s, still two lease renewals of margin,
		// so the node-failure part of the test waits less.
		"--node-monitor-grace-period", "20s",
	}
}

// nodeArgv is `drydock node` for n as the test runs it (inside n's host
// namespace).
func (c *cluster) nodeArgv(n *node, token, caHash string) []string {
	return []string{c.bin, "node",
		"--server", c.apiURL,
		"--token", token,
		"--ca-cert-hash", caHash,
		"--name", n.Name,
		"--node-ip", n.Host.IP,
		"--data-dir", n.Dir,
		"--containerd-namespace", n.CtrNS,
		"--pod-log-dir", filepath.Join(n.Dir, "pods"),
	}
}

// buildDrydock builds cmd/drydock into a temporary directory, or uses the
// binary DRYDOCK_E2E_BINARY names (for iterating on the test itself).
func buildDrydock(t *testing.T, dir string) string {
	t.Helper()
	if b := os.Getenv("DRYDOCK_E2E_BINARY"); b != "" {
		t.Logf("using %s (DRYDOCK_E2E_BINARY)", b)
		return b
	}
	bin := filepath.Join(dir, "drydock")
	start := time.Now()
	out, err := cmdOutput(context.Background(), capTimeout(t, 8*time.Minute), nil,
		"go", "build", "-o", bin, "github.com/drydock-sim/drydock/cmd/drydock")
	if err != nil {
		t.Fatalf("build drydock: %v\n%s", err, out)
	}
	t.Logf("built drydock in %s", time.Since(start).Round(time.Millisecond))
	return bin
}

// leftovers lists what of this run is still on the machine: network
// namespaces and links named with the topology's tag, the nodes' containerd
// namespaces, pod network namespaces and cgroup folders, pod log folders.
func (c *cluster) leftovers() []string {
	var left []string
	if c.tp != nil {
		tag := strings.TrimPrefix(c.tp.Bridge, "ddbr")
		out, _ := exec.Command("ip", "netns", "list").Output()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, tag) {
				left = append(left, "netns "+l)
			}
		}
		out, _ = exec.Command("ip", "-br", "link").Output()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, tag) {
				left = append(left, "link "+l)
			}
		}
	}
	if len(c.nodes) > 0 {
		var nss []string
		cc, err := client.New(ctrtest.Socket)
		if err == nil {
			nss, err = cc.NamespaceService().List(context.Background())
			cc.Close()
		}
		if err != nil {
			left = append(left, "containerd namespaces: "+err.Error())
		}
		for _, n := range c.nodes {
			if slices.Contains(nss, n.CtrNS) {
				left = append(left, "containerd namespace "+n.CtrNS)
			}
			if m, _ := filepath.Glob("/var/run/netns/drydock-" + n.CtrNS + "-*"); len(m) > 0 {
				left = append(left, fmt.Sprintf("pod netns %v", m))
			}
			if m, _ := filepath.Glob("/sys/fs/cgroup/*/" + n.CtrNS); len(m) > 0 {
				left = append(left, fmt.Sprintf("cgroups %v", m))
			}
		}
	}
	if c.ns != "" {
		if m, _ := filepath.Glob("/var/log/pods/" + c.ns + "_*"); len(m) > 0 {
			left = append(left, fmt.Sprintf("pod logs %v", m))
		}
	}
	return left
}

// dump writes the processes' log tails and the cluster's state to the test
// log.
func (c *cluster) dump() {
	t := c.t
	t.Logf("test timeline:\n%s", c.tl)
	if c.server != nil {
		t.Logf("--- drydock server log (last 100 lines, %s):\n%s", c.server.Log, c.server.Tail(100))
	}
	for _, n := range c.nodes {
		if n.Agent != nil {
			t.Logf("--- drydock node %s log (last 100 lines, %s):\n%s", n.Name, n.Agent.Log, n.Agent.Tail(100))
		}
	}
	if c.k == nil {
		return
	}
	k := *c.k
	k.Timeout = 15 * time.Second // the server may be the broken part
	for _, args := range [][]string{
		{"get", "nodes", "-o", "wide"},
		{"get", "pods", "-A", "-o", "wide"},
		{"get", "endpoints", "-A"},
		{"get", "events", "-A"},
	} {
		out, err := k.Run(args...)
		t.Logf("--- kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestMultiHost is issue 3's acceptance test: one server and three node
// hosts on one machine, driven with the real kubectl.
func TestMultiHost(t *testing.T) {
	requireRoot(t, "ip", "nsenter", "iptables", "iptables-restore", "go", "/bin/busybox", kubectlPath,
		ctrtest.Socket, "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback")
	c := &cluster{t: t, tl: newTimeline()}
	// Registered first, so it runs last: after every other cleanup,
	// nothing of the run may be left on the machine.
	t.Cleanup(func() {
		if left := c.leftovers(); len(left) > 0 {
			t.Errorf("left behind after cleanup:\n  %s", strings.Join(left, "\n  "))
		}
	})
	c.work = t.TempDir()
	c.bin = buildDrydock(t, c.work)
	c.tl.add("built drydock")
	// A subnet of the run's own, so that a run killed before its cleanups
	// cannot collide with this one.
	c.tp = newTopology(t, 3, fmt.Sprintf("10.231.%d", 100+randomByte(t)%100))
	c.d = newCtrd(t)
	c.ns = "e2e-" + strings.TrimPrefix(c.tp.Bridge, "ddbr")
	t.Cleanup(func() {
		// The agents write pod logs under their data dirs (--pod-log-dir);
		// should one fall back to the default /var/log/pods, remove the
		// test's there too (and leftovers reports it).
		m, _ := filepath.Glob("/var/log/pods/" + c.ns + "_*")
		for _, p := range m {
			os.RemoveAll(p)
		}
	})
	for i, h := range c.tp.Hosts {
		n := &node{Name: fmt.Sprintf("node%d", i), Host: h, Dir: filepath.Join(c.work, fmt.Sprintf("node%d", i)),
			CtrNS: ctrtest.RandomName("drydock-e2e-")}
		c.nodes = append(c.nodes, n)
		// Before the agent starts, so that it runs after the agent is
		// stopped.
		c.d.purgeAtCleanup(t, n.CtrNS)
	}
	// Runs before the processes are stopped (cleanups are LIFO).
	defer func() {
		if t.Failed() {
			c.dump()
		}
	}()

	c.startServer()
	c.startNodes()
	c.waitNodesReady()
	pods := c.deployWeb()
	c.checkTraffic(pods)
	c.checkLogs(pods)
	c.killNodeAndWatchService(pods)
	c.checkAuth()
	c.deleteWeb()
	c.tl.add("done")
	t.Logf("timeline:\n%s", c.tl)
}

func (c *cluster) startServer() {
	t := c.t
	t.Helper()
	c.serverDir = filepath.Join(c.work, "server")
	c.apiURL = fmt.Sprintf("https://%s:%d", c.tp.GatewayIP, apiPort)
	c.server = startProc(t, "server", c.work, "", nil, c.serverArgv()...)
	kubeconfig := filepath.Join(c.serverDir, "admin.kubeconfig")
	c.k = &kubectl{Kubeconfig: kubeconfig, CacheDir: filepath.Join(c.work, "kubectl")}
	if err := os.MkdirAll(c.k.CacheDir, 0o700); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the server answers kubectl with its admin kubeconfig", 90*time.Second, 250*time.Millisecond, func() (bool, string) {
		if done, err := c.server.Exited(); done {
			t.Fatalf("drydock server exited: %v\n%s", err, c.server.Tail(50))
		}
		if _, err := os.Stat(kubeconfig); err != nil {
			return false, err.Error()
		}
		out, err := c.k.Run("get", "namespaces")
		if err != nil {
			return false, err.Error()
		}
		return true, out
	})
	c.tl.add("server ready")
}

// joinSecrets reads the bootstrap token and the CA pin the server wrote to
// its data dir.
func (c *cluster) joinSecrets() (token, caHash string) {
	t := c.t
	t.Helper()
	toks, err := auth.NewTokenStore(c.serverDir).List()
	if err != nil || len(toks) == 0 {
		t.Fatalf("bootstrap token in %s: %v (%d tokens)", c.serverDir, err, len(toks))
	}
	ca, _, err := auth.ReadCertFile(filepath.Join(c.serverDir, "pki", auth.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	return toks[0].String(), auth.CertHash(ca)
}

func (c *cluster) startNodes() {
	t := c.t
	t.Helper()
	token, caHash := c.joinSecrets()
	for _, n := range c.nodes {
		n.Agent = startProc(t, n.Name, c.work, n.Host.Name, nil, c.nodeArgv(n, token, caHash)...)
	}
	c.tl.add("node agents started")
}

func (c *cluster) checkAgents() {
	for _, n := range c.nodes {
		if n.Dead {
			continue
		}
		if done, err := n.Agent.Exited(); done {
			c.t.Fatalf("drydock node %s exited: %v\n%s", n.Name, err, n.Agent.Tail(50))
		}
	}
	if done, err := c.server.Exited(); done {
		c.t.Fatalf("drydock server exited: %v\n%s", err, c.server.Tail(50))
	}
}

func (c *cluster) waitNodesReady() {
	t := c.t
	t.Helper()
	eventually(t, "3 Ready nodes", 120*time.Second, 500*time.Millisecond, func() (bool, string) {
		c.checkAgents()
		out, err := c.k.Run("get", "nodes")
		if err != nil {
			return false, err.Error()
		}
		rows, err := parseTable(out)
		if err != nil {
			return false, err.Error()
		}
		ready := 0
		for _, r := range rows {
			if r["STATUS"] == "Ready" {
				ready++
			}
		}
		return ready == len(c.nodes), out
	})
	nodes, err := c.k.Nodes()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Spec.PodCIDR == "" {
			t.Errorf("node %s has no pod CIDR", n.Name)
		}
	}
	c.tl.add("3 nodes Ready")
	t.Logf("kubectl get nodes -o wide:\n%s", c.k.Must(t, "get", "nodes", "-o", "wide"))
}

// webManifest is the Deployment and Service of the test: busybox httpd
// answering its pod name, ready once it serves, spread over the nodes,
// evicted 10 s after its node becomes not-ready or unreachable.
func webManifest(ns string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: %[1]s
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      terminationGracePeriodSeconds: 5
      tolerations:
      - key: node.kubernetes.io/not-ready
        operator: Exists
        effect: NoExecute
        tolerationSeconds: 10
      - key: node.kubernetes.io/unreachable
        operator: Exists
        effect: NoExecute
        tolerationSeconds: 10
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: ScheduleAnyway
        labelSelector:
          matchLabels:
            app: web
      containers:
      - name: httpd
        image: busybox
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -vv -p %[2]d -h /www"]
        ports:
        - containerPort: %[2]d
        readinessProbe:
          httpGet:
            path: /
            port: %[2]d
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: %[1]s
spec:
  selector:
    app: web
  ports:
  - port: %[2]d
    targetPort: %[2]d
`, ns, webPort)
}

// webPod is what the test knows of one replica.
type webPod struct {
	Name, Node, IP string
}

func (c *cluster) deployWeb() []webPod {
	t := c.t
	t.Helper()
	t.Logf("kubectl apply:\n%s", c.k.Apply(t, "web.yaml", webManifest(c.ns)))
	c.tl.add("applied web")
	eventually(t, "3 web pods Running and Ready", 120*time.Second, 500*time.Millisecond, func() (bool, string) {
		c.checkAgents()
		pods, err := c.k.Pods(c.ns, "app=web")
		if err != nil {
			return false, err.Error()
		}
		ready := 0
		for _, p := range pods {
			if p.Status.Phase == corev1.PodRunning && podReady(&p) && p.DeletionTimestamp == nil {
				ready++
			}
		}
		return ready == 3 && len(pods) == 3, podsSummary(pods)
	})
	c.tl.add("3 web pods Ready")
	out := c.k.Must(t, "get", "pods", "-n", c.ns, "-o", "wide")
	t.Logf("kubectl get pods -o wide:\n%s", out)
	rows, err := parseTable(out)
	if err != nil {
		t.Fatal(err)
	}
	var pods []webPod
	nodes := map[string]bool{}
	for _, r := range rows {
		if r["STATUS"] != "Running" || r["READY"] != "1/1" {
			t.Errorf("pod %s: STATUS %q READY %q, want Running 1/1", r["NAME"], r["STATUS"], r["READY"])
		}
		if r["IP"] == "" || r["IP"] == "<none>" || r["NODE"] == "" || r["NODE"] == "<none>" {
			t.Errorf("pod %s: IP %q NODE %q in -o wide", r["NAME"], r["IP"], r["NODE"])
		}
		nodes[r["NODE"]] = true
		pods = append(pods, webPod{Name: r["NAME"], Node: r["NODE"], IP: r["IP"]})
	}
	if len(pods) != 3 || len(nodes) != 3 {
		t.Fatalf("want 3 pods on 3 different nodes, got %d pods on nodes %v", len(pods), keys(nodes))
	}
	return pods
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (c *cluster) nodeByName(name string) *node {
	for _, n := range c.nodes {
		if n.Name == name {
			return n
		}
	}
	c.t.Fatalf("no node %q in the test cluster", name)
	return nil
}

// podPID is the pid of a task of pod p, through containerd.
func (c *cluster) podPID(p webPod) uint32 {
	c.t.Helper()
	n := c.nodeByName(p.Node)
	pid, err := c.d.podPID(context.Background(), n.CtrNS, c.ns, p.Name)
	if err != nil {
		c.t.Fatal(err)
	}
	return pid
}

// serviceIP is the ClusterIP of Service web.
func (c *cluster) serviceIP() string {
	c.t.Helper()
	ip := strings.TrimSpace(c.k.Must(c.t, "get", "service", "web", "-n", c.ns, "-o", "jsonpath={.spec.clusterIP}"))
	if ip == "" || ip == "None" {
		c.t.Fatalf("Service web has ClusterIP %q", ip)
	}
	return ip
}

// checkTraffic: from the pod on one node, the pods on the other nodes by
// pod IP, and the Service, whose answers come from all 3 replicas.
func (c *cluster) checkTraffic(pods []webPod) {
	t := c.t
	t.Helper()
	from := pods[0]
	pid := c.podPID(from)
	for _, to := range pods[1:] {
		url := fmt.Sprintf("http://%s:%d/", to.IP, webPort)
		got, err := podWget(pid, url)
		if err != nil {
			t.Fatalf("pod %s on %s cannot reach pod %s on %s at %s: %v", from.Name, from.Node, to.Name, to.Node, url, err)
		}
		if strings.TrimSpace(got) != to.Name {
			t.Errorf("pod %s at %s answered %q", to.Name, url, got)
		}
	}
	c.tl.add("pod-to-pod across nodes ok")

	// The Service: once its Endpoints list the 3 pods, requests through
	// the ClusterIP reach all of them (the proxies' rules follow the
	// Endpoints asynchronously, hence the polling).
	want := []string{pods[0].IP, pods[1].IP, pods[2].IP}
	sort.Strings(want)
	eventually(t, "Endpoints web lists the 3 pods", 30*time.Second, 250*time.Millisecond, func() (bool, string) {
		ips, err := c.endpointIPs()
		if err != nil {
			return false, err.Error()
		}
		return slices.Equal(ips, want), fmt.Sprint(ips)
	})
	svc := fmt.Sprintf("http://%s:%d/", c.serviceIP(), webPort)
	seen := map[string]int{}
	requests := 0
	eventually(t, "requests through the Service reach all 3 replicas", 30*time.Second, 10*time.Millisecond, func() (bool, string) {
		got, err := podWget(pid, svc)
		requests++
		if err != nil {
			t.Fatalf("request %d from pod %s to the Service at %s: %v", requests, from.Name, svc, err)
		}
		seen[strings.TrimSpace(got)]++
		return len(seen) >= len(pods) && requests >= 30, fmt.Sprintf("%d requests, answers %v", requests, seen)
	})
	for name := range seen {
		known := false
		for _, p := range pods {
			known = known || p.Name == name
		}
		if !known {
			t.Errorf("answer %q through the Service is from no replica: %v", name, seen)
		}
	}
	t.Logf("%d requests through the Service %s from %s: %v", requests, svc, from.Name, seen)
	c.tl.add("service spread ok: %v", seen)
}

// checkLogs: kubectl logs of a pod shows httpd's request lines.
func (c *cluster) checkLogs(pods []webPod) {
	t := c.t
	t.Helper()
	for _, p := range pods {
		out := eventually(t, "kubectl logs "+p.Name+" shows requests", 15*time.Second, 500*time.Millisecond, func() (bool, string) {
			out, err := c.k.Run("logs", "-n", c.ns, p.Name)
			if err != nil {
				return false, err.Error()
			}
			return strings.Contains(out, "response:200") && strings.Contains(out, "url:/"), out
		})
		if p == pods[0] {
			lines := strings.Split(strings.TrimSpace(out), "\n")
			t.Logf("kubectl logs %s (%d lines), last: %s", p.Name, len(lines), lines[len(lines)-1])
		}
	}
	c.tl.add("kubectl logs ok")
}

// probeResult is one request of the prober.
type probeResult struct {
	At, End time.Time // start and end of the request
	Body    string
	Err     error
}

// prober requests url from the network namespace of pid every interval
// until stopped.
type prober struct {
	mu      sync.Mutex
	results []probeResult
	stop    chan struct{}
	done    chan struct{}
}

func startProber(pid uint32, url string, every time.Duration) *prober {
	p := &prober{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			at := time.Now()
			body, err := podWget(pid, url)
			p.mu.Lock()
			p.results = append(p.results, probeResult{At: at, End: time.Now(), Body: strings.TrimSpace(body), Err: err})
			p.mu.Unlock()
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *prober) Stop() []probeResult {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
	return p.Results()
}

func (p *prober) Results() []probeResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.results)
}

// endpointIPs are the ready addresses of Endpoints web.
func (c *cluster) endpointIPs() ([]string, error) {
	out, err := c.k.Run("get", "endpoints", "web", "-n", c.ns, "-o", "json")
	if err != nil {
		return nil, err
	}
	var ep corev1.Endpoints
	if err := json.Unmarshal([]byte(out), &ep); err != nil {
		return nil, err
	}
	var ips []string
	for _, s := range ep.Subsets {
		for _, a := range s.Addresses {
			ips = append(ips, a.IP)
		}
	}
	sort.Strings(ips)
	return ips, nil
}

// killNodeAndWatchService kills the node host of one pod (not the prober's),
// and checks the node goes NotReady, its pod is replaced on a surviving
// node, and the Service answers throughout but for requests to the dead
// endpoint.
func (c *cluster) killNodeAndWatchService(pods []webPod) {
	t := c.t
	t.Helper()
	from, victimPod := pods[0], pods[1]
	victim := c.nodeByName(victimPod.Node)
	svc := fmt.Sprintf("http://%s:%d/", c.serviceIP(), webPort)
	pr := startProber(c.podPID(from), svc, 100*time.Millisecond)
	defer pr.Stop()
	// A few answers before the kill, so the prober is known to work.
	eventually(t, "prober answers before the kill", 10*time.Second, 100*time.Millisecond, func() (bool, string) {
		ok := 0
		for _, r := range pr.Results() {
			if r.Err == nil {
				ok++
			}
		}
		return ok >= 3, fmt.Sprintf("%d answers", ok)
	})

	// The kill: the agent (SIGKILL to its group) and every task in the
	// node's containerd namespace.
	killedAt := time.Now()
	victim.Dead = true
	if err := victim.Agent.Kill(); err != nil {
		t.Fatal(err)
	}
	n, err := c.d.killTasks(context.Background(), victim.CtrNS)
	if err != nil {
		t.Fatalf("kill the tasks of %s: %v", victim.Name, err)
	}
	deadAt := time.Now() // every task of the node has stopped
	c.tl.add("killed %s (agent and %d tasks, in %s); its pod %s", victim.Name, n, deadAt.Sub(killedAt).Round(time.Millisecond), victimPod.Name)

	// The node goes NotReady.
	eventually(t, victim.Name+" NotReady", 120*time.Second, time.Second, func() (bool, string) {
		c.checkAgents()
		out, err := c.k.Run("get", "nodes")
		if err != nil {
			return false, err.Error()
		}
		rows, err := parseTable(out)
		if err != nil {
			return false, err.Error()
		}
		for _, r := range rows {
			if r["NAME"] == victim.Name {
				return strings.HasPrefix(r["STATUS"], "NotReady"), out
			}
		}
		return false, out
	})
	c.tl.add("%s NotReady", victim.Name)

	// Its endpoint goes from the Service.
	var removedAt time.Time
	eventually(t, "the dead pod's endpoint removed", 60*time.Second, 250*time.Millisecond, func() (bool, string) {
		ips, err := c.endpointIPs()
		if err != nil {
			return false, err.Error()
		}
		if slices.Contains(ips, victimPod.IP) {
			return false, fmt.Sprint(ips)
		}
		removedAt = time.Now()
		return true, fmt.Sprint(ips)
	})
	c.tl.add("endpoint %s removed", victimPod.IP)

	// A replacement on a surviving node, Ready.
	live := map[string]bool{}
	for _, p := range pods {
		if p != victimPod {
			live[p.Name] = true
		}
	}
	var replacement corev1.Pod
	eventually(t, "a Ready replacement on a surviving node", 120*time.Second, 500*time.Millisecond, func() (bool, string) {
		c.checkAgents()
		ps, err := c.k.Pods(c.ns, "app=web")
		if err != nil {
			return false, err.Error()
		}
		for _, p := range ps {
			if !live[p.Name] && p.Name != victimPod.Name && p.DeletionTimestamp == nil &&
				p.Spec.NodeName != "" && p.Spec.NodeName != victim.Name && podReady(&p) {
				replacement = p
				return true, podsSummary(ps)
			}
		}
		return false, podsSummary(ps)
	})
	c.tl.add("replacement %s Ready on %s", replacement.Name, replacement.Spec.NodeName)
	live[replacement.Name] = true
	t.Logf("after the kill, kubectl get pods -o wide:\n%s", c.k.Must(t, "get", "pods", "-n", c.ns, "-o", "wide"))

	// The Service reaches the replacement too.
	eventually(t, "the Service answers from the replacement", 30*time.Second, 200*time.Millisecond, func() (bool, string) {
		for _, r := range pr.Results() {
			if r.Err == nil && r.Body == replacement.Name {
				return true, ""
			}
		}
		return false, "no answer from " + replacement.Name + " yet"
	})
	results := pr.Stop()
	c.tl.add("prober stopped after %d requests", len(results))
	c.checkProbes(results, killedAt, deadAt, removedAt, live, victimPod.Name)
}

// rulesGrace is how long after the endpoint left the Endpoints object the
// proxies may still send a request to it (watch delivery plus one
// iptables-restore).
const rulesGrace = 5 * time.Second

// checkProbes judges the prober's requests: every answer comes from a
// replica (the killed one only for requests started before its tasks were
// all stopped, at deadAt); every failure was in flight at or started after
// the kill (killedAt) and started before the endpoint's removal had reached
// the rules, and was a refused or timed-out connection (a request to the
// dead endpoint) or, for a request started before deadAt, a connection the
// dying server reset; and the Service kept answering throughout.
func (c *cluster) checkProbes(results []probeResult, killedAt, deadAt, removedAt time.Time, live map[string]bool, dead string) {
	t := c.t
	t.Helper()
	var ok, failed, afterKillOK int
	var failures []string
	var lastFail time.Time
	byAnswer := map[string]int{}
	var lastOK time.Time
	maxGap := time.Duration(0)
	for _, r := range results {
		if r.Err != nil {
			failed++
			lastFail = r.At
			msg := r.Err.Error()
			if len(failures) < 3 || failed%50 == 0 {
				failures = append(failures, fmt.Sprintf("+%s: %s", r.At.Sub(killedAt).Round(time.Millisecond), msg))
			}
			switch {
			case r.End.Before(killedAt):
				t.Errorf("request at %s (ended before the kill) failed: %v", r.At.Format("15:04:05.000"), r.Err)
			case r.At.After(removedAt.Add(rulesGrace)):
				t.Errorf("request at %s failed %s after the dead endpoint left the Service: %v",
					r.At.Format("15:04:05.000"), r.At.Sub(removedAt).Round(time.Millisecond), r.Err)
			case strings.Contains(msg, "reset by peer") && !r.At.After(deadAt):
				// In flight to the pod while its tasks were being killed: the
				// kernel resets the dying server's connections.
			case !strings.Contains(msg, "refused") && !strings.Contains(msg, "timed out") &&
				!strings.Contains(msg, "No route to host") && !strings.Contains(msg, "unreachable"):
				t.Errorf("request at %s failed other than by a refused or timed-out connection (or a reset while the pod was being killed): %v", r.At.Format("15:04:05.000"), r.Err)
			}
			continue
		}
		ok++
		byAnswer[r.Body]++
		switch {
		case r.Body == dead && r.At.After(deadAt):
			t.Errorf("answer from the killed pod %s to a request started at %s, %s after its tasks had stopped",
				dead, r.At.Format("15:04:05.000"), r.At.Sub(deadAt).Round(time.Millisecond))
		case r.Body != dead && !live[r.Body]:
			t.Errorf("answer %q at %s is from no replica", r.Body, r.At.Format("15:04:05.000"))
		}
		if r.At.After(killedAt) {
			afterKillOK++
			if !lastOK.IsZero() && r.At.Sub(lastOK) > maxGap {
				maxGap = r.At.Sub(lastOK)
			}
		}
		lastOK = r.At
	}
	if lastFail.IsZero() {
		t.Logf("no request failed")
	} else {
		t.Logf("last failure %s after the endpoint's removal was seen (negative: before)", lastFail.Sub(removedAt).Round(time.Millisecond))
	}
	t.Logf("prober: %d requests, %d answered (%v), %d failed; %d answered after the kill; longest gap between answers after the kill %s; endpoint removed %s after the kill",
		len(results), ok, byAnswer, failed, afterKillOK, maxGap.Round(time.Millisecond), removedAt.Sub(killedAt).Round(time.Millisecond))
	if len(failures) > 0 {
		t.Logf("some failures (time after the kill: error):\n  %s", strings.Join(failures, "\n  "))
	}
	// Two of three endpoints stay live: the Service must keep answering.
	// A request to the dead endpoint costs up to the 3 s timeout, and a few
	// in a row are possible; a 15 s silence is an outage.
	if afterKillOK == 0 || maxGap > 15*time.Second {
		t.Errorf("the Service did not answer throughout: %d answers after the kill, longest gap %s", afterKillOK, maxGap)
	}
}

// checkAuth: no credentials → 401; a node's credential reads nodes but
// cannot patch another node's Node object (403).
func (c *cluster) checkAuth() {
	t := c.t
	t.Helper()
	var self, other *node
	for _, n := range c.nodes {
		if n.Dead {
			continue
		}
		if self == nil {
			self = n
		} else if other == nil {
			other = n
		}
	}
	caPEM, err := os.ReadFile(filepath.Join(c.serverDir, "pki", auth.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA certificate in ca.crt")
	}
	do := func(cert *tls.Certificate, method, path, body string) (int, string) {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		if cert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
		}
		defer tr.CloseIdleConnections()
		req, err := http.NewRequest(method, c.apiURL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/merge-patch+json")
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Errors are Kubernetes Status objects.
	status := func(what, body string, code int32, reason metav1.StatusReason) {
		t.Helper()
		var st metav1.Status
		if err := json.Unmarshal([]byte(body), &st); err != nil || st.Kind != "Status" || st.Code != code || st.Reason != reason {
			t.Errorf("%s: body is not a Status with code %d and reason %s (%v):\n%s", what, code, reason, err, body)
		}
	}
	if code, body := do(nil, "GET", "/api/v1/nodes", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/nodes without credentials: %d, want 401\n%s", code, body)
	} else {
		status("401", body, 401, metav1.StatusReasonUnauthorized)
	}
	// The node's own credential, from its data dir.
	certFile, keyFile := findFile(t, self.Dir, auth.NodeCertFile), findFile(t, self.Dir, auth.NodeKeyFile)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := do(&cert, "GET", "/api/v1/nodes", ""); code != http.StatusOK {
		t.Errorf("%s lists nodes: %d, want 200\n%s", self.Name, code, body)
	}
	if code, body := do(&cert, "GET", "/api/v1/nodes/"+other.Name, ""); code != http.StatusOK {
		t.Errorf("%s reads node %s: %d, want 200\n%s", self.Name, other.Name, code, body)
	}
	patch := `{"metadata":{"labels":{"e2e.drydock.io/patched-by":"` + self.Name + `"}}}`
	if code, body := do(&cert, "PATCH", "/api/v1/nodes/"+other.Name, patch); code != http.StatusForbidden {
		t.Errorf("%s patches node %s: %d, want 403\n%s", self.Name, other.Name, code, body)
	} else {
		status("403", body, 403, metav1.StatusReasonForbidden)
	}
	if code, body := do(&cert, "PATCH", "/api/v1/nodes/"+other.Name+"/status", `{"status":{"phase":"Running"}}`); code != http.StatusForbidden {
		t.Errorf("%s patches the status of node %s: %d, want 403\n%s", self.Name, other.Name, code, body)
	}
	if labels := c.k.Must(t, "get", "node", other.Name, "-o", "jsonpath={.metadata.labels}"); strings.Contains(labels, "patched-by") {
		t.Errorf("node %s was patched by %s: labels %s", other.Name, self.Name, labels)
	}
	c.tl.add("auth ok")
}

// findFile finds name under dir (the node agent's credentials directory is
// its own business).
func findFile(t *testing.T, dir, name string) string {
	t.Helper()
	var found string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == name && found == "" {
			found = p
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no %s under %s", name, dir)
	}
	return found
}

// deleteWeb deletes the Deployment and Service and waits for the pods to
// go. The pod left on the dead node cannot be confirmed gone by its
// kubelet, so it stays Terminating as in Kubernetes; the dead node gets the
// out-of-service taint, as an administrator would after a non-graceful node
// shutdown, and the pod garbage collector (every 20s) force-deletes it.
func (c *cluster) deleteWeb() {
	t := c.t
	t.Helper()
	t.Logf("kubectl delete: %s", c.k.Must(t, "delete", "deployment", "web", "-n", c.ns))
	t.Logf("kubectl delete: %s", c.k.Must(t, "delete", "service", "web", "-n", c.ns))
	c.tl.add("deleted web")
	for _, n := range c.nodes {
		if n.Dead {
			t.Logf("kubectl taint: %s", c.k.Must(t, "taint", "node", n.Name, "node.kubernetes.io/out-of-service=nodeshutdown:NoExecute"))
			c.tl.add("%s tainted out-of-service", n.Name)
		}
	}
	eventually(t, "web pods gone", 90*time.Second, 500*time.Millisecond, func() (bool, string) {
		pods, err := c.k.Pods(c.ns, "app=web")
		if err != nil {
			return false, err.Error()
		}
		return len(pods) == 0, fmt.Sprintf("%d left: %s", len(pods), podsSummary(pods))
	})
	// The ReplicaSet goes by garbage collection, the Endpoints with their
	// Service.
	eventually(t, "ReplicaSet and Endpoints of web gone", 30*time.Second, 500*time.Millisecond, func() (bool, string) {
		out, err := c.k.Run("get", "replicasets,endpoints", "-n", c.ns, "-o", "name")
		if err != nil {
			return false, err.Error()
		}
		return strings.TrimSpace(out) == "", out
	})
	c.tl.add("web pods gone")
}
