package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// fakeAPIServer serves just enough of the Kubernetes API for client-go and
// kubectl to list and delete nodes, behind the authenticator and the
// authorizer: 401 without a credential, 403 when not allowed.
func fakeAPIServer(authn Authenticator, authz Authorizer, objs fakeObjects) http.Handler {
	writeJSON := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := authn.Authenticate(r)
		if err != nil {
			writeStatus(w, apierrors.NewUnauthorized("Unauthorized"))
			return
		}
		a := Attributes{User: u, Verb: "get", Path: r.URL.Path}
		name, isNodes := strings.CutPrefix(r.URL.Path, "/api/v1/nodes")
		if isNodes {
			a = Attributes{User: u, Resource: "nodes", Name: strings.TrimPrefix(name, "/")}
			switch {
			case r.Method == http.MethodDelete:
				a.Verb = "delete"
			case a.Name == "":
				a.Verb = "list"
			default:
				a.Verb = "get"
			}
		}
		if err := authz.Authorize(r.Context(), a); err != nil {
			writeStatus(w, err)
			return
		}
		switch {
		case r.URL.Path == "/version":
			writeJSON(w, map[string]string{"major": "1", "minor": "32", "gitVersion": "v1.32.0", "platform": "linux/amd64"})
		case r.URL.Path == "/api":
			writeJSON(w, metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"},
				ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}}})
		case r.URL.Path == "/apis":
			writeJSON(w, metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: []metav1.APIGroup{}})
		case r.URL.Path == "/api/v1":
			writeJSON(w, metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: "v1",
				APIResources: []metav1.APIResource{{Name: "nodes", SingularName: "node", Kind: "Node", ShortNames: []string{"no"},
					Verbs: metav1.Verbs{"get", "list", "delete"}}}})
		case isNodes && a.Verb == "list":
			list := corev1.NodeList{TypeMeta: metav1.TypeMeta{Kind: "NodeList", APIVersion: "v1"}, ListMeta: metav1.ListMeta{ResourceVersion: "7"}}
			for _, key := range []string{"nodes//node-a", "nodes//node-b"} {
				n := *objs[key].(*corev1.Node)
				n.TypeMeta = metav1.TypeMeta{Kind: "Node", APIVersion: "v1"}
				list.Items = append(list.Items, n)
			}
			writeJSON(w, list)
		case isNodes && a.Verb == "delete":
			writeJSON(w, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess})
		default:
			writeStatus(w, apierrors.NewNotFound(corev1.Resource(""), r.URL.Path))
		}
	})
}

func TestAdminKubeconfig(t *testing.T) {
	p, err := LoadOrCreateServerPKI(t.TempDir(), ServingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	objs := fakeObjects{"nodes//node-a": testNode("node-a"), "nodes//node-b": testNode("node-b")}
	authn := NewAuthenticator(AuthenticatorConfig{ClientCAs: p.CA.Pool()})
	authz, err := NewAuthorizer(AuthorizerConfig{Get: objs.Get})
	if err != nil {
		t.Fatal(err)
	}
	srv := newTLSServer(t, p, fakeAPIServer(authn, authz, objs))

	dir := t.TempDir()
	adminPath := filepath.Join(dir, "admin.conf")
	if err := WriteAdminKubeconfig(adminPath, srv.URL, p.CA, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := fileMode(t, adminPath); got != 0o600 {
		t.Fatalf("kubeconfig mode = %o, want 600", got)
	}
	loaded, err := clientcmd.LoadFromFile(adminPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := loaded.Contexts[loaded.CurrentContext]
	if ctx == nil || loaded.Clusters[ctx.Cluster].Server != srv.URL || len(loaded.AuthInfos[ctx.AuthInfo].ClientKeyData) == 0 {
		t.Fatalf("kubeconfig content: %+v", loaded)
	}

	// A node's kubeconfig and one without any user credential.
	nodeKP, _ := p.CA.IssueClient("system:node:node-a", []string{GroupNodes}, time.Hour)
	nodeCfg, err := KubeconfigFor("", srv.URL, p.CA.CertPEM, "system:node:node-a", nodeKP)
	if err != nil {
		t.Fatal(err)
	}
	nodePath := filepath.Join(dir, "node.conf")
	if err := WriteKubeconfig(nodePath, nodeCfg); err != nil {
		t.Fatal(err)
	}
	anonCfg := nodeCfg.DeepCopy()
	for _, ai := range anonCfg.AuthInfos {
		ai.ClientCertificateData, ai.ClientKeyData = nil, nil
	}
	anonPath := filepath.Join(dir, "anon.conf")
	if err := WriteKubeconfig(anonPath, anonCfg); err != nil {
		t.Fatal(err)
	}

	clientFor := func(t *testing.T, path string) kubernetes.Interface {
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			t.Fatal(err)
		}
		cfg.ContentType = "application/json"
		cfg.AcceptContentTypes = "application/json"
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	tests := []struct {
		name   string
		path   string
		do     func(kubernetes.Interface) error
		check  func(error) bool
		substr string
	}{
		{"admin lists nodes", adminPath, func(c kubernetes.Interface) error {
			l, err := c.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
			if err == nil && len(l.Items) != 2 {
				return errors.New("want 2 nodes")
			}
			return err
		}, nil, ""},
		{"admin deletes a node", adminPath, func(c kubernetes.Interface) error {
			return c.CoreV1().Nodes().Delete(context.Background(), "node-b", metav1.DeleteOptions{})
		}, nil, ""},
		{"no credential lists nodes", anonPath, func(c kubernetes.Interface) error {
			_, err := c.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
			return err
		}, apierrors.IsUnauthorized, ""},
		{"node lists nodes", nodePath, func(c kubernetes.Interface) error {
			_, err := c.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
			return err
		}, nil, ""},
		{"node deletes another node", nodePath, func(c kubernetes.Interface) error {
			return c.CoreV1().Nodes().Delete(context.Background(), "node-b", metav1.DeleteOptions{})
		}, apierrors.IsForbidden, `nodes "node-b" is forbidden: User "system:node:node-a" cannot delete resource "nodes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do(clientFor(t, tt.path))
			if tt.check == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !tt.check(err) {
				t.Fatalf("err = %v", err)
			}
			if !strings.Contains(err.Error(), tt.substr) {
				t.Fatalf("err %q does not contain %q", err, tt.substr)
			}
		})
	}

	t.Run("kubectl", func(t *testing.T) {
		kubectl, err := exec.LookPath("kubectl")
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("kubectl not found")
			}
			t.Skip("kubectl not found")
		}
		run := func(path string, extra ...string) (string, error) {
			home := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", path, "--cache-dir", filepath.Join(home, "cache"), "get", "nodes", "-o", "name")
			cmd.Args = append(cmd.Args, extra...)
			cmd.Env = append(os.Environ(), "HOME="+home, "KUBECONFIG=")
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		out, err := run(adminPath)
		if err != nil || !strings.Contains(out, "node/node-a") || !strings.Contains(out, "node/node-b") {
			t.Fatalf("kubectl get nodes with the admin kubeconfig: %v\n%s", err, out)
		}
		// A wrong bearer token (without any credential kubectl would prompt
		// for a user name after the 401).
		out, err = run(anonPath, "--token", "abcdef.0123456789abcdef")
		if err == nil || !strings.Contains(out, "You must be logged in to the server") {
			t.Fatalf("kubectl get nodes without credentials: %v\n%s", err, out)
		}
	})
}
