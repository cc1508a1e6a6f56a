package apihttp_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/real/apihttp"
	"github.com/drydock-sim/drydock/real/apihttp/discovery"
	"github.com/drydock-sim/drydock/real/apihttp/tables"
)

const kubectlPath = "/usr/bin/kubectl"

// kubectl runs the real kubectl against a test server.
type kubectl struct {
	t      *testing.T
	server string
	dir    string
}

func newKubectl(t *testing.T, server string) *kubectl {
	t.Helper()
	if _, err := os.Stat(kubectlPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kubectl missing in CI: %v", err)
		}
		t.Skipf("kubectl not installed: %v", err)
	}
	dir := t.TempDir()
	// An empty kubeconfig keeps the user's own configuration out.
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &kubectl{t: t, server: server, dir: dir}
}

func (k *kubectl) cmd(ctx context.Context, args ...string) *exec.Cmd {
	all := append([]string{"--server", k.server, "--cache-dir", filepath.Join(k.dir, "cache"), "--kubeconfig", filepath.Join(k.dir, "kubeconfig")}, args...)
	c := exec.CommandContext(ctx, kubectlPath, all...)
	c.Env = append(os.Environ(), "HOME="+k.dir, "KUBECONFIG="+filepath.Join(k.dir, "kubeconfig"))
	return c
}

// run runs kubectl and returns stdout, failing the test on a non-zero exit.
func (k *kubectl) run(args ...string) string {
	k.t.Helper()
	out, errOut, err := k.try(args...)
	if err != nil {
		k.t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func (k *kubectl) try(args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := k.cmd(ctx, args...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	return stdout.String(), stderr.String(), err
}

func (k *kubectl) file(name, content string) string {
	p := filepath.Join(k.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		k.t.Fatal(err)
	}
	return p
}

const webYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: busybox
        command: ["sleep", "3600"]
`

const svcYAML = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
`

func TestKubectl(t *testing.T) {
	e := newEnv(t, apihttp.Config{Discovery: discovery.Handler(discovery.Options{}), Table: tables.Table}, 0)
	k := newKubectl(t, e.srv.URL)
	ctx := context.Background()

	if out := k.run("create", "-f", k.file("web.yaml", webYAML)); !strings.Contains(out, "deployment.apps/web created") {
		t.Errorf("create: %q", out)
	}
	if _, errOut, err := k.try("create", "-f", k.file("web.yaml", webYAML)); err == nil || !strings.Contains(errOut, "AlreadyExists") {
		t.Errorf("second create: %v %q", err, errOut)
	}
	bad := strings.Replace(webYAML, "  replicas: 2\n", "  replicas: 2\n  bogus: 1\n", 1)
	if _, errOut, err := k.try("create", "-f", k.file("bad.yaml", bad)); err == nil || !strings.Contains(errOut, `unknown field "spec.bogus"`) {
		t.Errorf("create with unknown field: %v %q", err, errOut)
	}

	// apply twice: create, then a change.
	if out := k.run("apply", "-f", k.file("svc.yaml", svcYAML)); !strings.Contains(out, "service/web created") {
		t.Errorf("apply 1: %q", out)
	}
	changed := strings.Replace(svcYAML, "  name: web\n", "  name: web\n  labels:\n    tier: front\n", 1)
	if out := k.run("apply", "-f", k.file("svc.yaml", changed)); !strings.Contains(out, "service/web configured") {
		t.Errorf("apply 2: %q", out)
	}
	svc, err := e.api.Get(ctx, api.Services, "default", "web")
	if err != nil || svc.GetLabels()["tier"] != "front" || svc.GetAnnotations()["kubectl.kubernetes.io/last-applied-configuration"] == "" {
		t.Errorf("applied service: %v %v", err, svc)
	}
	if out := k.run("apply", "-f", k.file("web2.yaml", strings.Replace(webYAML, "replicas: 2", "replicas: 3", 1))); !strings.Contains(out, "deployment.apps/web configured") {
		t.Errorf("apply to a created deployment: %q", out)
	}

	out := k.run("get", "deployments")
	if !strings.Contains(out, "NAME") || !strings.Contains(out, "web") || !strings.Contains(out, "READY") {
		t.Errorf("get: %q", out)
	}
	t.Logf("get:\n%s", out)
	wide := k.run("get", "deployments", "-o", "wide")
	t.Logf("wide:\n%s", wide)
	if !strings.Contains(wide, "IMAGES") || !strings.Contains(wide, "busybox") {
		t.Errorf("get -o wide: %q", wide)
	}
	y := k.run("get", "deployment", "web", "-o", "yaml")
	if !strings.Contains(y, "kind: Deployment") || !strings.Contains(y, "replicas: 3") || !strings.Contains(y, "resourceVersion:") {
		t.Errorf("get -o yaml: %q", y)
	}
	if out := k.run("get", "svc"); !strings.Contains(out, "CLUSTER-IP") || !strings.Contains(out, "80/TCP") {
		t.Errorf("get svc: %q", out)
	}
	if _, errOut, err := k.try("get", "deployment", "nope"); err == nil || !strings.Contains(errOut, `deployments.apps "nope" not found`) {
		t.Errorf("get missing: %v %q", err, errOut)
	}

	// get -w: the initial row, then a row for a change, until the timeout.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	wc := k.cmd(wctx, "get", "deployments", "-w", "--request-timeout=20s")
	stdout, err := wc.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var wErr bytes.Buffer
	wc.Stderr = &wErr
	if err := wc.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func(what string) string {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("get -w ended before %s: %s", what, wErr.String())
			}
			return l
		case <-wctx.Done():
			t.Fatalf("get -w: no %s", what)
		}
		return ""
	}
	if h := next("header"); !strings.Contains(h, "NAME") {
		t.Fatalf("get -w header %q", h)
	}
	if l := next("row"); !strings.HasPrefix(l, "web ") {
		t.Fatalf("get -w row %q", l)
	}
	if out := k.run("scale", "deployment", "web", "--replicas=5"); !strings.Contains(out, "deployment.apps/web scaled") {
		t.Errorf("scale: %q", out)
	}
	if l := next("row after scale"); !strings.HasPrefix(l, "web ") || !strings.Contains(l, "/5") {
		t.Errorf("get -w row after scale %q", l)
	}
	_ = wc.Process.Kill()
	_ = wc.Wait()

	d, err := e.api.Get(ctx, api.Deployments, "default", "web")
	if err != nil || *d.(*appsv1.Deployment).Spec.Replicas != 5 {
		t.Fatalf("scaled deployment: %v", err)
	}

	if out := k.run("delete", "deployment", "web"); !strings.Contains(out, `deployment.apps "web" deleted`) {
		t.Errorf("delete: %q", out)
	}
	if _, err := e.api.Get(ctx, api.Deployments, "default", "web"); !apierrors.IsNotFound(err) {
		t.Errorf("deployment still there: %v", err)
	}
	if out := k.run("delete", "-f", k.file("svc.yaml", changed)); !strings.Contains(out, `service "web" deleted`) {
		t.Errorf("delete -f: %q", out)
	}
	if _, err := e.api.Get(ctx, api.Services, "default", "web"); !apierrors.IsNotFound(err) {
		t.Errorf("service still there: %v", err)
	}
}

// TestKubectlTier2 covers logs, label, create from flags (protobuf request
// bodies) and drain (cordon, evictions).
func TestKubectlTier2(t *testing.T) {
	e := logEnvWith(t, fakeKubelet(t, nil), apihttp.Config{Discovery: discovery.Handler(discovery.Options{}), Table: tables.Table})
	k := newKubectl(t, e.srv.URL)
	ctx := context.Background()

	if out := k.run("logs", "one", "--tail=3", "--timestamps"); !strings.Contains(out, "path=/containerLogs/default/one/c") ||
		!strings.Contains(out, "tailLines=3") || !strings.Contains(out, "timestamps=true") {
		t.Errorf("logs: %q", out)
	}
	// kubectl picks the first container itself and says so (the server's
	// 400 naming the choices is for clients that do not).
	if out, errOut, err := k.try("logs", "two"); err != nil || !strings.Contains(errOut, `Defaulted container "a" out of: a, b`) ||
		!strings.Contains(out, "/containerLogs/default/two/a") {
		t.Errorf("logs two: %v %q %q", err, out, errOut)
	}
	if out := k.run("logs", "two", "-c", "b"); !strings.Contains(out, "/containerLogs/default/two/b") {
		t.Errorf("logs -c: %q", out)
	}

	if _, errOut, err := k.try("attach", "one"); err == nil || !strings.Contains(errOut, "not served by drydock") {
		t.Errorf("attach: %v %q", err, errOut)
	}
	if out := k.run("label", "pod", "one", "tier=front"); !strings.Contains(out, "pod/one labeled") {
		t.Errorf("label: %q", out)
	}
	if p, _ := e.api.Get(ctx, api.Pods, "default", "one"); p.GetLabels()["tier"] != "front" {
		t.Errorf("labels %v", p.GetLabels())
	}

	if out := k.run("create", "deployment", "api", "--image=busybox", "--replicas=2"); !strings.Contains(out, "deployment.apps/api created") {
		t.Errorf("create deployment: %q", out)
	}
	if out := k.run("create", "namespace", "team"); !strings.Contains(out, "namespace/team created") {
		t.Errorf("create namespace: %q", out)
	}
	if out := k.run("get", "pods", "-o", "wide"); !strings.Contains(out, "n1") || !strings.Contains(out, "NODE") {
		t.Errorf("get pods -o wide: %q", out)
	}
	// --sort-by asks for Table rows with whole objects (includeObject=Object).
	if out := k.run("get", "pods", "--sort-by=.metadata.name", "-o", "name"); out != "pod/one\npod/pending\npod/two\n" {
		t.Errorf("get --sort-by -o name: %q", out)
	}
	if out := k.run("get", "pods", "--sort-by=.metadata.name"); strings.Index(out, "one") > strings.Index(out, "two") {
		t.Errorf("get --sort-by: %q", out)
	}
	if out := k.run("get", "pods", "--field-selector", "spec.nodeName=n1,status.phase!=Succeeded", "-o", "name"); out != "pod/one\npod/two\n" {
		t.Errorf("get --field-selector: %q", out)
	}

	for _, args := range [][]string{{"describe", "pod", "one"}, {"describe", "node", "n1"}, {"describe", "deployment", "api"}} {
		out := k.run(args...)
		if !strings.Contains(out, "Name:") || !strings.Contains(out, args[2]) {
			t.Errorf("%v: %q", args, out)
		}
	}
	if out := k.run("rollout", "restart", "deployment", "api"); !strings.Contains(out, "deployment.apps/api restarted") {
		t.Errorf("rollout restart: %q", out)
	}
	if d, _ := e.api.Get(ctx, api.Deployments, "default", "api"); d.GetGeneration() != 2 ||
		d.(*appsv1.Deployment).Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
		t.Errorf("restart did not change the template: generation %d", d.GetGeneration())
	}
	one, _ := e.api.Get(ctx, api.Pods, "default", "one")
	e.create(&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "one.1", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "one", APIVersion: "v1", UID: one.GetUID()},
		Reason:         "Testing", Message: "hello from the test", Type: corev1.EventTypeNormal, Source: corev1.EventSource{Component: "test"}})
	if out := k.run("get", "events", "-A"); !strings.Contains(out, "Testing") || !strings.Contains(out, "pod/one") {
		t.Errorf("get events: %q", out)
	}
	if out := k.run("describe", "pod", "one"); !strings.Contains(out, "hello from the test") {
		t.Errorf("describe pod lists no events: %q", out)
	}

	// drain: cordon and evict the node's pods (both bound to n1).
	out, errOut, err := k.try("drain", "n1", "--ignore-daemonsets", "--force", "--timeout=30s", "--grace-period=0")
	if err != nil || !strings.Contains(out, "node/n1 cordoned") || !strings.Contains(out, "evicting pod default/one") {
		t.Errorf("drain: %v\nstdout: %s\nstderr: %s", err, out, errOut)
	}
	n, _ := e.api.Get(ctx, api.Nodes, "", "n1")
	if !n.(*corev1.Node).Spec.Unschedulable {
		t.Error("node not cordoned")
	}
	for _, p := range []string{"one", "two"} {
		if _, err := e.api.Get(ctx, api.Pods, "default", p); !apierrors.IsNotFound(err) {
			t.Errorf("pod %s not evicted: %v", p, err)
		}
	}
}
