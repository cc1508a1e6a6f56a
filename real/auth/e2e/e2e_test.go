package e2e

import (
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/drydock-sim/drydock/core/apiserver"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/store/memstore"
	"github.com/drydock-sim/drydock/real/apihttp"
	"github.com/drydock-sim/drydock/real/apihttp/discovery"
	"github.com/drydock-sim/drydock/real/auth"
)

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }
func (wallClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	return time.AfterFunc(d, f)
}

type cluster struct {
	url    string
	pki    *auth.ServerPKI
	token  auth.BootstrapToken
	admin  kubernetes.Interface
	server *apiserver.Server
	// kubeconfig is the admin kubeconfig file.
	kubeconfig string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	dir := t.TempDir()
	pki, err := auth.LoadOrCreateServerPKI(filepath.Join(dir, "pki"), auth.ServingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tokens := auth.NewTokenStore(dir)
	tok, err := tokens.Create(time.Hour, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	s, err := apiserver.New(apiserver.Config{Store: memstore.New(), Clock: wallClock{}, Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	authn := auth.NewAuthenticator(auth.AuthenticatorConfig{ClientCAs: pki.CA.Pool(), Tokens: tokens})
	authz, err := auth.NewAuthorizer(auth.AuthorizerConfig{Get: s.Get, NodePatchesAdmitted: true})
	if err != nil {
		t.Fatal(err)
	}
	join, err := auth.NewJoinHandler(auth.JoinHandlerConfig{CA: pki.CA, KubeletServingCA: pki.KubeletServingCA, Authenticator: authn})
	if err != nil {
		t.Fatal(err)
	}
	h, err := apihttp.New(apihttp.Config{Server: s, Authenticator: authn, Authorizer: authz,
		Discovery: discovery.Handler(discovery.Options{}), Extra: map[string]http.Handler{auth.JoinPath: join}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = pki.ServerTLSConfig()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	kubeconfig := filepath.Join(dir, "admin.conf")
	if err := auth.WriteAdminKubeconfig(kubeconfig, srv.URL, pki.CA, time.Hour); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{url: srv.URL, pki: pki, token: tok, admin: clientset(t, cfg), server: s, kubeconfig: kubeconfig}
}

func clientset(t *testing.T, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	cfg.ContentType = "application/json"
	cfg.AcceptContentTypes = "application/json"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func pod(name, node string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
}

func TestNodeCredentialsEndToEnd(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()

	creds, err := auth.Join(ctx, auth.JoinOptions{Server: c.url, Token: c.token.String(), NodeName: "node-a",
		Dir: t.TempDir(), CACertHashes: []string{c.pki.CA.Hash()}})
	if err != nil {
		t.Fatal(err)
	}
	node := clientset(t, &rest.Config{Host: c.url, TLSClientConfig: rest.TLSClientConfig{
		CertData: creds.Client.CertPEM, KeyData: creds.Client.KeyPEM, CAData: creds.CAPEM}})
	anon := clientset(t, &rest.Config{Host: c.url, TLSClientConfig: rest.TLSClientConfig{CAData: creds.CAPEM}})
	boot := clientset(t, &rest.Config{Host: c.url, BearerToken: c.token.String(), TLSClientConfig: rest.TLSClientConfig{CAData: creds.CAPEM}})

	// The node registers itself; the admin registers node-b and two pods.
	if _, err := node.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a",
		Labels: map[string]string{corev1.LabelHostname: "node-a"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("node registers itself: %v", err)
	}
	if _, err := c.admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-b"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*corev1.Pod{pod("pa", "node-a"), pod("pb", "node-b")} {
		if _, err := c.admin.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	nodes := func(cs kubernetes.Interface) func() error {
		return func() error { _, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); return err }
	}
	updateStatus := func(name string) func() error {
		return func() error {
			n, err := c.admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now()}}
			_, err = node.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
			return err
		}
	}
	updateNode := func(name string, mut func(*corev1.Node)) func() error {
		return func() error {
			n, err := c.admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			mut(n)
			_, err = node.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
			return err
		}
	}
	podStatus := func(name string) func() error {
		return func() error {
			p, err := c.admin.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			p.Status.Phase = corev1.PodRunning
			_, err = node.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{})
			return err
		}
	}
	lease := func(name string) func() error {
		return func() error {
			_, err := node.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: corev1.NamespaceNodeLease}}, metav1.CreateOptions{})
			return err
		}
	}

	tests := []struct {
		name  string
		do    func() error
		check func(error) bool // nil: must succeed
		msg   string
	}{
		{"admin lists nodes", nodes(c.admin), nil, ""},
		{"anonymous lists nodes", nodes(anon), apierrors.IsUnauthorized, ""},
		{"bootstrap token lists nodes", nodes(boot), apierrors.IsForbidden, "bootstrap tokens may only join nodes"},
		{"node lists nodes", nodes(node), nil, ""},
		{"node updates its own status", updateStatus("node-a"), nil, ""},
		{"node updates its own labels", updateNode("node-a", func(n *corev1.Node) { n.Labels["example.com/disk"] = "ssd" }), nil, ""},
		{"node patches its own labels", func() error {
			_, err := node.CoreV1().Nodes().Patch(ctx, "node-a", types.MergePatchType, []byte(`{"metadata":{"labels":{"example.com/patched":"yes"}}}`), metav1.PatchOptions{})
			return err
		}, nil, ""},
		{"node patches a taint onto its own Node", func() error {
			_, err := node.CoreV1().Nodes().Patch(ctx, "node-a", types.StrategicMergePatchType, []byte(`{"spec":{"taints":[{"key":"x","effect":"NoSchedule"}]}}`), metav1.PatchOptions{})
			return err
		}, apierrors.IsForbidden, `node "node-a" is not allowed to modify taints`},
		{"node patches another node's Node", func() error {
			_, err := node.CoreV1().Nodes().Patch(ctx, "node-b", types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{})
			return err
		}, apierrors.IsForbidden,
			`nodes "node-b" is forbidden: User "system:node:node-a" cannot patch resource "nodes" in API group "" at the cluster scope: node "node-a" is not allowed to modify node "node-b"`},
		{"node updates another node's Node", updateNode("node-b", func(n *corev1.Node) { n.Spec.Unschedulable = true }), apierrors.IsForbidden,
			`node "node-a" is not allowed to modify node "node-b"`},
		{"node updates another node's status", updateStatus("node-b"), apierrors.IsForbidden, `cannot update resource "nodes/status"`},
		{"node updates its status from a copy older than the admin's taint", func() error {
			stale, err := node.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
			if err != nil {
				return err
			}
			fresh := stale.DeepCopy()
			fresh.Spec.Taints = []corev1.Taint{{Key: "admin", Effect: corev1.TaintEffectNoSchedule}}
			if _, err := c.admin.CoreV1().Nodes().Update(ctx, fresh, metav1.UpdateOptions{}); err != nil {
				return err
			}
			stale.ResourceVersion = ""
			stale.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now()}}
			out, err := node.CoreV1().Nodes().UpdateStatus(ctx, stale, metav1.UpdateOptions{})
			if err != nil {
				return err
			}
			if len(out.Spec.Taints) != 1 {
				return fmt.Errorf("the status write changed the taints: %v", out.Spec.Taints)
			}
			return nil
		}, nil, ""},
		{"node removes its own taints", updateNode("node-a", func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}}
		}), apierrors.IsForbidden, "is not allowed to modify taints"},
		{"node deletes another node", func() error { return node.CoreV1().Nodes().Delete(ctx, "node-b", metav1.DeleteOptions{}) }, apierrors.IsForbidden, ""},
		{"node creates its lease", lease("node-a"), nil, ""},
		{"node creates another node's lease", lease("node-b"), apierrors.IsForbidden, "can only access node lease with the same name"},
		{"node updates status of its pod", podStatus("pa"), nil, ""},
		{"node updates status of another node's pod", podStatus("pb"), apierrors.IsForbidden, "can only update pod status for pods with spec.nodeName set to itself"},
		{"node deletes another node's pod", func() error { return node.CoreV1().Pods("default").Delete(ctx, "pb", metav1.DeleteOptions{}) }, apierrors.IsForbidden,
			"can only delete pods with spec.nodeName set to itself"},
		{"node deletes its pod", func() error { return node.CoreV1().Pods("default").Delete(ctx, "pa", metav1.DeleteOptions{}) }, nil, ""},
		{"node creates a plain pod", func() error {
			_, err := node.CoreV1().Pods("default").Create(ctx, pod("px", "node-a"), metav1.CreateOptions{})
			return err
		}, apierrors.IsForbidden, "can only create mirror pods"},
		{"node creates an event", func() error {
			_, err := node.CoreV1().Events("default").Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e1", Namespace: "default"},
				InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "node-a"}, Reason: "Starting", Message: "m", Type: corev1.EventTypeNormal}, metav1.CreateOptions{})
			return err
		}, nil, ""},
		{"node lists deployments", func() error {
			_, err := node.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
			return err
		}, apierrors.IsForbidden, `deployments.apps is forbidden: User "system:node:node-a" cannot list resource "deployments" in API group "apps" at the cluster scope`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if tt.check == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !tt.check(err) {
				t.Fatalf("err = %v", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err %q does not contain %q", err, tt.msg)
			}
		})
	}

	// node-b's Node is as the admin left it.
	nb, err := c.admin.CoreV1().Nodes().Get(ctx, "node-b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if nb.Spec.Unschedulable || nb.Labels["x"] != "" || len(nb.Status.Conditions) != 0 {
		t.Fatalf("node-b was modified: %+v", nb)
	}
}

// kubectl with the admin kubeconfig lists the nodes; with a node's
// kubeconfig it may not delete another node.
func TestKubectl(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("kubectl not found")
		}
		t.Skip("kubectl not found")
	}
	c := newCluster(t)
	ctx := context.Background()
	for _, n := range []string{"node-a", "node-b"} {
		if _, err := c.admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	creds, err := auth.Join(ctx, auth.JoinOptions{Server: c.url, Token: c.token.String(), NodeName: "node-a",
		Dir: t.TempDir(), CABundle: c.pki.CA.CertPEM})
	if err != nil {
		t.Fatal(err)
	}
	nodeCfg, err := auth.KubeconfigFor("", c.url, creds.CAPEM, "system:node:node-a", creds.Client)
	if err != nil {
		t.Fatal(err)
	}
	nodeKubeconfig := filepath.Join(t.TempDir(), "node.conf")
	if err := auth.WriteKubeconfig(nodeKubeconfig, nodeCfg); err != nil {
		t.Fatal(err)
	}
	run := func(kubeconfig string, args ...string) (string, error) {
		home := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", kubeconfig, "--cache-dir", filepath.Join(home, "cache")}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+home, "KUBECONFIG=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	tests := []struct {
		name       string
		kubeconfig string
		args       []string
		ok         bool
		want       string
	}{
		{"admin gets nodes", c.kubeconfig, []string{"get", "nodes", "-o", "name"}, true, "node/node-a\nnode/node-b"},
		{"node gets nodes", nodeKubeconfig, []string{"get", "nodes", "-o", "name"}, true, "node/node-b"},
		{"node deletes another node", nodeKubeconfig, []string{"delete", "node", "node-b"}, false,
			`Error from server (Forbidden): nodes "node-b" is forbidden: User "system:node:node-a" cannot delete resource "nodes" in API group "" at the cluster scope`},
		{"node labels another node", nodeKubeconfig, []string{"label", "node", "node-b", "x=y"}, false,
			`node "node-a" is not allowed to modify node "node-b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(tt.kubeconfig, tt.args...)
			if (err == nil) != tt.ok || !strings.Contains(out, tt.want) {
				t.Fatalf("kubectl %v: err = %v, want ok=%v and %q in:\n%s", tt.args, err, tt.ok, tt.want, out)
			}
		})
	}
}
