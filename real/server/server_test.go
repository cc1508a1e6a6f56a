package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/store"
	"github.com/drydock-sim/drydock/internal/testsync"
	"github.com/drydock-sim/drydock/real/apihttp"
	"github.com/drydock-sim/drydock/real/auth"
	"github.com/drydock-sim/drydock/real/etcdstore"
	"github.com/drydock-sim/drydock/real/httpclient"
	"github.com/drydock-sim/drydock/real/loop"
)

const deadline = 60 * time.Second

// startServer runs a server on loopback with a temporary data dir until
// the test ends.
func startServer(t *testing.T, mod func(*Config)) *Server {
	t.Helper()
	s, _ := runServer(t, mod)
	return s
}

// runServer is startServer that also returns a stop function (idempotent;
// also run at cleanup).
func runServer(t *testing.T, mod func(*Config)) (*Server, func()) {
	t.Helper()
	logs := &testsync.Buffer{}
	cfg := Config{
		DataDir:            t.TempDir(),
		BindAddress:        "127.0.0.1",
		SecurePort:         0,
		CompactionInterval: -1,
		EtcdUnsafeNoFsync:  true,
		Logger:             slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("server Run: %v", err)
				}
			case <-time.After(deadline):
				t.Errorf("server did not shut down")
			}
			if t.Failed() {
				t.Logf("server log:\n%s", logs.String())
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-s.Ready():
	case err := <-errc:
		t.Fatalf("server failed to start: %v\n%s", err, logs.String())
	case <-time.After(deadline):
		t.Fatalf("server not ready\n%s", logs.String())
	}
	return s, stop
}

func TestServerServesAdminAndRejectsAnonymous(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()

	// client-go with the written admin kubeconfig.
	rc, err := clientcmd.BuildConfigFromFlags("", s.AdminKubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nss.Items {
		names = append(names, n.Name)
	}
	for _, want := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		if !slices.Contains(names, want) {
			t.Errorf("namespaces %v lack %s", names, want)
		}
	}

	// No credentials: 401 with a Status body.
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := insecure.Get(s.URL() + "/api/v1/namespaces")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"kind":"Status"`) {
		t.Fatalf("anonymous request: %d %s, want 401 Status", resp.StatusCode, body)
	}
	if s.InsecureAddr() != nil {
		t.Fatal("plain HTTP served without --insecure-port")
	}

	// The first start created a bootstrap token; it may join and do nothing else.
	tok := s.BootstrapToken()
	if tok == "" {
		t.Fatal("no bootstrap token on first start")
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/api/v1/namespaces", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err = insecure.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bootstrap token listing namespaces: %d, want 403", resp.StatusCode)
	}
}

// A node joins with the bootstrap token and the CA pin, then talks to the
// server through real/httpclient with its node certificate: it may create
// its Node and watch pods, not list secrets-like things it has no business
// with (other nodes' leases).
func TestNodeJoinsAndUsesHTTPClient(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	creds, err := auth.Join(ctx, auth.JoinOptions{Server: s.URL(), Token: s.BootstrapToken(), NodeName: "n1",
		Dir: t.TempDir(), CACertHashes: []string{s.CACertHash()}, Addresses: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	l := loop.New()
	lctx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); <-l.Done() }()
	go l.Run(lctx) //nolint:errcheck
	c, err := httpclient.New(httpclient.Config{Server: s.URL(), TLS: creds.ClientTLSConfig(), Post: l.Post})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("node creating its own Node: %v", err)
	}
	if _, err := c.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("node creating another Node: %v, want Forbidden", err)
	}
	_, rv, err := c.List(ctx, api.Pods, "", metav1.ListOptions{FieldSelector: "spec.nodeName=n1"})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	var cancelWatch func()
	l.Do(func() {
		cancelWatch, err = c.Watch(ctx, api.Nodes, "", metav1.ListOptions{ResourceVersion: rv}, func(ev api.WatchEvent) {
			if o, ok := ev.Object.(api.Object); ok {
				got <- string(ev.Type) + " " + o.GetName()
			}
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Do(func() { cancelWatch() })
	// The admin labels the node; the node's watch sees it.
	rc, _ := clientcmd.BuildConfigFromFlags("", s.AdminKubeconfig())
	cs := kubernetes.NewForConfigOrDie(rc)
	if _, err := cs.CoreV1().Nodes().Patch(ctx, "n1", "application/merge-patch+json", []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-got:
		if ev != "MODIFIED n1" {
			t.Fatalf("event %q", ev)
		}
	case <-time.After(deadline):
		t.Fatal("no watch event")
	}
	// The control plane runs: nodeipam gives the node a pod CIDR.
	end := time.Now().Add(deadline)
	for {
		n, err := c.Get(ctx, api.Nodes, "", "n1")
		if err != nil {
			t.Fatal(err)
		}
		if cidr := n.(*corev1.Node).Spec.PodCIDR; cidr != "" {
			if !strings.HasPrefix(cidr, "10.244.") || !strings.HasSuffix(cidr, "/24") {
				t.Fatalf("podCIDR %s", cidr)
			}
			break
		}
		if time.Now().After(end) {
			t.Fatal("no pod CIDR assigned")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestKubectlGetNamespaces(t *testing.T) {
	const kubectl = "/usr/bin/kubectl"
	if _, err := os.Stat(kubectl); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing in CI", kubectl)
		}
		t.Skipf("%s not installed", kubectl)
	}
	s := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", s.AdminKubeconfig(), "--cache-dir", filepath.Join(t.TempDir(), "cache"),
		"get", "namespaces", "-o", "name")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl: %v\n%s", err, out)
	}
	for _, want := range []string{"namespace/default", "namespace/kube-system"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("kubectl output lacks %s:\n%s", want, out)
		}
	}
}

func TestInsecurePortIsLoopbackWithoutAuth(t *testing.T) {
	s := startServer(t, func(c *Config) { c.InsecurePort = -1 })
	addr := s.InsecureAddr()
	if addr == nil || !strings.HasPrefix(addr.String(), "127.0.0.1:") {
		t.Fatalf("insecure addr %v", addr)
	}
	resp, err := http.Get("http://" + addr.String() + "/api/v1/namespaces/default")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("plain GET: %d", resp.StatusCode)
	}
}

func TestRestartKeepsStateAndCredentials(t *testing.T) {
	dir := t.TempDir()
	s1, stop := runServer(t, func(c *Config) { c.DataDir = dir })
	hash := s1.CACertHash()
	rc, _ := clientcmd.BuildConfigFromFlags("", s1.AdminKubeconfig())
	cs := kubernetes.NewForConfigOrDie(rc)
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stop()

	s2, _ := runServer(t, func(c *Config) { c.DataDir = dir })
	if s2.CACertHash() != hash {
		t.Fatal("restart made a new CA")
	}
	if s2.BootstrapToken() != "" {
		t.Fatal("restart created another bootstrap token")
	}
	// The old kubeconfig names the old port; reach the new one with its credentials.
	rc2, _ := clientcmd.BuildConfigFromFlags(s2.URL(), s1.AdminKubeconfig())
	cs2 := kubernetes.NewForConfigOrDie(rc2)
	if _, err := cs2.CoreV1().Namespaces().Get(context.Background(), "kept", metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace lost over a restart: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"bad bind address", Config{BindAddress: "nope"}, "--bind-address"},
		{"bad port", Config{SecurePort: 70000}, "--secure-port"},
		{"bad service range", Config{ServiceCIDR: "10.0.0.0"}, "--service-cluster-ip-range"},
		{"bad cluster cidr", Config{ClusterCIDR: "banana"}, "--cluster-cidr"},
		{"negative grace period", Config{NodeMonitorGracePeriod: -time.Second}, "--node-monitor-grace-period"},
		{"etcd tls without servers", Config{EtcdCAFile: "/x"}, "--etcd-servers"},
		{"cert without key", Config{EtcdEndpoints: []string{"127.0.0.1:2379"}, EtcdCertFile: "/x"}, "--etcd-keyfile"},
		{"bad advertise address", Config{AdvertiseAddress: "host"}, "--advertise-address"},
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

// With --etcd-servers the server keeps its objects in that etcd, under
// --etcd-prefix.
func TestExternalEtcd(t *testing.T) {
	e, err := etcdstore.StartEmbedded(t.TempDir(), etcdstore.WithUnsafeNoFsync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	s := startServer(t, func(c *Config) { c.EtcdEndpoints = e.Endpoints(); c.EtcdPrefix = "/cluster-a" })
	if _, err := os.Stat(filepath.Join(s.cfg.DataDir, "etcd")); !os.IsNotExist(err) {
		t.Fatalf("embedded etcd data dir exists with --etcd-servers: %v", err)
	}
	rc, _ := clientcmd.BuildConfigFromFlags("", s.AdminKubeconfig())
	cs := kubernetes.NewForConfigOrDie(rc)
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "outside"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	resp, err := e.Client().Get(context.Background(), "/cluster-a/registry/namespaces/outside")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("namespace not in the external etcd under the prefix: %v %v", resp, err)
	}
}

// Shutting down ends open watches with a clean end of stream (the client
// re-watches elsewhere), instead of waiting out the shutdown timeout and
// cutting the connection.
func TestShutdownEndsWatchesCleanly(t *testing.T) {
	s, stop := runServer(t, func(c *Config) { c.InsecurePort = -1 })
	resp, err := http.Get("http://" + s.InsecureAddr().String() + "/api/v1/namespaces?watch=true&resourceVersion=0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch: %d", resp.StatusCode)
	}
	// The initial ADDED events are streamed: the watch is open.
	first := make([]byte, 1)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	stop()
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("watch stream at shutdown: %v, want a clean end", err)
	}
}

// A handler's panic reaches the log with its stack, at Error level.
func TestRequestLogReportsPanics(t *testing.T) {
	logs := &testsync.Buffer{}
	s, err := New(Config{DataDir: t.TempDir(), BindAddress: "127.0.0.1", AdvertiseAddress: "127.0.0.1",
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	s.logRequest(apihttp.RequestLog{Method: "GET", URI: "/api/v1/pods", User: "u", Code: 500,
		Panic: "boom\ngoroutine 1 [running]:\nmain.handler()"})
	out := logs.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "boom") || !strings.Contains(out, "main.handler()") {
		t.Fatalf("panic not logged at error level with its stack:\n%s", out)
	}
}

// An etcd watch that stopped for good (e.g. history compacted under it by
// another client) stops the server with an error naming it: the API
// server's watches of that resource could never deliver again.
func TestEtcdWatchFailureStopsServer(t *testing.T) {
	s, err := New(Config{DataDir: t.TempDir(), BindAddress: "127.0.0.1", SecurePort: 0, CompactionInterval: -1,
		EtcdUnsafeNoFsync: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-errc:
		t.Fatalf("server failed to start: %v", err)
	case <-time.After(deadline):
		t.Fatal("server not ready")
	}
	s.etcdWatchError("/registry/pods/", fmt.Errorf("%w: etcd compacted at 7", store.ErrCompacted))
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "etcd watch of /registry/pods/ stopped") {
			t.Fatalf("Run: %v, want the watch failure", err)
		}
	case <-time.After(deadline):
		cancel()
		<-errc
		t.Fatal("server kept running after its etcd watch stopped")
	}
}

func TestEtcdClientConfig(t *testing.T) {
	tests := []struct {
		name      string
		servers   []string
		ca        string
		endpoints []string
		tls       bool
		err       string
	}{
		{"plain host:port", []string{"10.0.0.5:2379"}, "", []string{"10.0.0.5:2379"}, false, ""},
		{"http URL", []string{"http://10.0.0.5:2379"}, "", []string{"10.0.0.5:2379"}, false, ""},
		// https:// means TLS even without --etcd-cafile (system roots).
		{"https URL without CA file", []string{"https://10.0.0.5:2379", "https://10.0.0.6:2379"}, "",
			[]string{"10.0.0.5:2379", "10.0.0.6:2379"}, true, ""},
		{"mixed schemes", []string{"https://10.0.0.5:2379", "http://10.0.0.6:2379"}, "", nil, false, "mixes http and https"},
		{"unknown scheme", []string{"unix://etcd:2379"}, "", nil, false, `--etcd-servers "unix://etcd:2379"`},
		{"missing CA file", []string{"https://10.0.0.5:2379"}, "/nonexistent/ca.pem", nil, false, "--etcd-cafile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eps, tlsCfg, err := etcdClientConfig(tc.servers, tc.ca, "", "")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(eps, tc.endpoints) || (tlsCfg != nil) != tc.tls {
				t.Fatalf("endpoints %v, TLS %v; want %v, TLS %v", eps, tlsCfg != nil, tc.endpoints, tc.tls)
			}
		})
	}
}
