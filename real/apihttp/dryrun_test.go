package apihttp_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/real/apihttp"
	"github.com/drydock-sim/drydock/real/apihttp/discovery"
	"github.com/drydock-sim/drydock/real/apihttp/tables"
)

// noWrites watches every resource and records the store's revision; check
// fails the test if anything was written since.
type noWrites struct {
	e      *env
	rev    int64
	mu     sync.Mutex
	events []string
}

func watchNoWrites(t *testing.T, e *env) *noWrites {
	t.Helper()
	n := &noWrites{e: e, rev: e.api.Store().Revision()}
	for _, r := range []*api.Resource{api.Pods, api.Deployments, api.Endpoints, api.Services} {
		stop, err := e.api.Watch(context.Background(), r, "", metav1.ListOptions{ResourceVersion: "0"}, func(ev api.WatchEvent) {
			if ev.Type == "BOOKMARK" {
				return
			}
			n.mu.Lock()
			n.events = append(n.events, string(ev.Type)+" "+ev.Object.(api.Object).GetName())
			n.mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
	}
	// A watch from "0" starts with the current objects as ADDED.
	n.mu.Lock()
	n.events = nil
	n.mu.Unlock()
	return n
}

func (n *noWrites) check(t *testing.T) {
	t.Helper()
	if rev := n.e.api.Store().Revision(); rev != n.rev {
		t.Errorf("store revision moved: %d -> %d", n.rev, rev)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.events) > 0 {
		t.Errorf("watch events: %v", n.events)
	}
}

// TestDryRunWrites: PUT and PATCH (all three patch types, status, a PUT
// that would create) with dryRun=All answer as the write would and store
// nothing; errors come back as they would; other dryRun values are 400.
func TestDryRunWrites(t *testing.T) {
	const (
		merge     = "application/merge-patch+json"
		strategic = "application/strategic-merge-patch+json"
		jsonPatch = "application/json-patch+json"
	)
	deploy := "/apis/apps/v1/namespaces/default/deployments/web"
	for _, tc := range []struct {
		name, method, path, ctype string
		body                      func(rv string) string
		code                      int
		contains                  []string
	}{
		{name: "put", method: "PUT", path: deploy + "?dryRun=All", body: func(rv string) string {
			d := testDeployment("web", 4)
			d.ResourceVersion = rv
			return mustJSON(t, d)
		}, code: 200, contains: []string{`"replicas":4`, `"generation":2`}},
		{name: "put conflict", method: "PUT", path: deploy + "?dryRun=All", body: func(string) string {
			d := testDeployment("web", 4)
			d.ResourceVersion = "1"
			return mustJSON(t, d)
		}, code: 409, contains: []string{"the object has been modified"}},
		{name: "put invalid", method: "PUT", path: deploy + "?dryRun=All", body: func(string) string {
			return mustJSON(t, testDeployment("web", -1))
		}, code: 422, contains: []string{`"field":"spec.replicas"`}},
		{name: "put status", method: "PUT", path: deploy + "/status?dryRun=All", body: func(rv string) string {
			d := testDeployment("web", 9)
			d.ResourceVersion = rv
			d.Status.Replicas = 3
			return mustJSON(t, d)
		}, code: 200, contains: []string{`"replicas":1,`, `"status":{"replicas":3`, `"generation":1`}},
		{name: "put creates", method: "PUT", path: "/api/v1/namespaces/default/endpoints/new?dryRun=All", body: func(string) string {
			return `{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"new"}}`
		}, code: 201, contains: []string{`"kind":"Endpoints"`, `"uid":"`}},
		{name: "merge patch", method: "PATCH", path: deploy + "?dryRun=All", ctype: merge, body: func(string) string {
			return `{"spec":{"replicas":5}}`
		}, code: 200, contains: []string{`"replicas":5`, `"generation":2`}},
		{name: "strategic merge patch", method: "PATCH", path: deploy + "?dryRun=All", ctype: strategic, body: func(string) string {
			return `{"metadata":{"labels":{"tier":"db"}}}`
		}, code: 200, contains: []string{`"tier":"db"`, `"generation":1`}},
		{name: "JSON patch", method: "PATCH", path: deploy + "?dryRun=All", ctype: jsonPatch, body: func(string) string {
			return `[{"op":"replace","path":"/spec/replicas","value":6}]`
		}, code: 200, contains: []string{`"replicas":6`, `"generation":2`}},
		{name: "status patch", method: "PATCH", path: deploy + "/status?dryRun=All", ctype: merge, body: func(string) string {
			return `{"status":{"readyReplicas":1}}`
		}, code: 200, contains: []string{`"readyReplicas":1`}},
		{name: "patch invalid", method: "PATCH", path: deploy + "?dryRun=All", ctype: merge, body: func(string) string {
			return `{"spec":{"replicas":-2}}`
		}, code: 422},
		{name: "patch missing", method: "PATCH", path: "/apis/apps/v1/namespaces/default/deployments/nope?dryRun=All", ctype: merge,
			body: func(string) string { return `{}` }, code: 404},
		{name: "bad dryRun value", method: "PATCH", path: deploy + "?dryRun=Some", ctype: merge, body: func(string) string {
			return `{"spec":{"replicas":5}}`
		}, code: 400, contains: []string{`unsupported value`}},
		{name: "bad dryRun value on put", method: "PUT", path: deploy + "?dryRun=All&dryRun=x", body: func(string) string {
			return mustJSON(t, testDeployment("web", 4))
		}, code: 400},
		{name: "scale put", method: "PUT", path: deploy + "/scale?dryRun=All", body: func(string) string {
			return `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","namespace":"default"},"spec":{"replicas":7}}`
		}, code: 200, contains: []string{`"kind":"Scale"`, `"spec":{"replicas":7}`}},
		{name: "scale patch", method: "PATCH", path: deploy + "/scale?dryRun=All", ctype: merge, body: func(string) string {
			return `{"spec":{"replicas":7}}`
		}, code: 200, contains: []string{`"kind":"Scale"`, `"spec":{"replicas":7}`}},
		{name: "scale bad dryRun value", method: "PATCH", path: deploy + "/scale?dryRun=Some", ctype: merge, body: func(string) string {
			return `{"spec":{"replicas":7}}`
		}, code: 400},
		{name: "delete collection", method: "DELETE", path: "/api/v1/namespaces/default/pods?dryRun=All", code: 200,
			contains: []string{`"kind":"PodList"`, `"name":"p1"`}},
		{name: "delete collection bad dryRun", method: "DELETE", path: "/api/v1/namespaces/default/pods?dryRun=Yes", code: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, apihttp.Config{}, 0)
			d := e.create(testDeployment("web", 1))
			e.create(testPod("p1"))
			before, err := e.api.Get(context.Background(), api.Deployments, "default", "web")
			if err != nil {
				t.Fatal(err)
			}
			n := watchNoWrites(t, e)
			body := ""
			if tc.body != nil {
				body = tc.body(d.GetResourceVersion())
			}
			var hdr []string
			if tc.ctype != "" {
				hdr = []string{"Content-Type", tc.ctype}
			}
			r := e.do(tc.method, tc.path, body, hdr...)
			if r.code != tc.code {
				t.Fatalf("code %d, want %d: %s", r.code, tc.code, r.body)
			}
			for _, s := range tc.contains {
				if !strings.Contains(string(r.body), s) {
					t.Errorf("answer lacks %s: %s", s, r.body)
				}
			}
			if r.code < 300 && !strings.Contains(string(r.body), `"resourceVersion":"`+d.GetResourceVersion()+`"`) &&
				tc.code != 201 && tc.method != "DELETE" {
				t.Errorf("answer's resourceVersion is not the stored %s: %s", d.GetResourceVersion(), r.body)
			}
			n.check(t)
			after, err := e.api.Get(context.Background(), api.Deployments, "default", "web")
			if err != nil || !apiequality.Semantic.DeepEqual(before, after) {
				t.Errorf("deployment changed: %v\nbefore %+v\nafter  %+v", err, before, after)
			}
			if _, err := e.api.Get(context.Background(), api.Pods, "default", "p1"); err != nil {
				t.Errorf("pod p1: %v", err)
			}
			if _, err := e.api.Get(context.Background(), api.Endpoints, "default", "new"); !apierrors.IsNotFound(err) {
				t.Errorf("dry-run PUT created endpoints: %v", err)
			}
		})
	}
}

// TestDryRunServiceUpdate: a dry-run update of a Service keeps its
// addresses, and the ClusterIP stays allocated.
func TestDryRunServiceUpdate(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 0)
	svc := e.create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}}).(*corev1.Service)
	n := watchNoWrites(t, e)
	r := e.do("PATCH", "/api/v1/namespaces/default/services/web?dryRun=All", `{"metadata":{"labels":{"a":"b"}}}`,
		"Content-Type", "application/strategic-merge-patch+json")
	if r.code != 200 || !strings.Contains(string(r.body), `"clusterIP":"`+svc.Spec.ClusterIP+`"`) {
		t.Fatalf("%d %s", r.code, r.body)
	}
	n.check(t)
	other := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "default"},
		Spec: corev1.ServiceSpec{ClusterIP: svc.Spec.ClusterIP, Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := e.api.Create(context.Background(), other, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("ClusterIP %s free after a dry run: %v", svc.Spec.ClusterIP, err)
	}
}

// TestKubectlDryRun runs kubectl diff and the server dry runs of apply,
// replace and label against a server: diffs are shown (exit 1) or not
// (exit 0), "(server dry run)" is printed, and nothing changes.
func TestKubectlDryRun(t *testing.T) {
	e := newEnv(t, apihttp.Config{Discovery: discovery.Handler(discovery.Options{}), Table: tables.Table}, 0)
	k := newKubectl(t, e.srv.URL)
	ctx := context.Background()
	web := k.file("web.yaml", webYAML)
	changed := k.file("web3.yaml", strings.Replace(webYAML, "replicas: 2", "replicas: 3", 1))

	// A new object: diff shows it all, apply --dry-run=server creates nothing.
	if out, errOut, err := k.try("diff", "-f", web); exitCode(err) != 1 || !strings.Contains(out, "+  replicas: 2") {
		t.Errorf("diff of a new object: exit %d\nstdout: %s\nstderr: %s", exitCode(err), out, errOut)
	}
	if out := k.run("apply", "--dry-run=server", "-f", web); !strings.Contains(out, "deployment.apps/web created (server dry run)") {
		t.Errorf("apply --dry-run=server of a new object: %q", out)
	}
	if _, err := e.api.Get(ctx, api.Deployments, "default", "web"); !apierrors.IsNotFound(err) {
		t.Fatalf("dry-run apply created the deployment: %v", err)
	}

	k.run("apply", "-f", web)
	stored, err := e.api.Get(ctx, api.Deployments, "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	n := watchNoWrites(t, e)
	unchangedNow := func(what string) {
		t.Helper()
		n.check(t)
		got, err := e.api.Get(ctx, api.Deployments, "default", "web")
		if err != nil || !apiequality.Semantic.DeepEqual(got, stored) {
			t.Errorf("%s changed the deployment: %v", what, err)
		}
	}

	if out, errOut, err := k.try("diff", "-f", web); err != nil || out != "" {
		t.Errorf("diff of an unchanged object: exit %d\nstdout: %s\nstderr: %s", exitCode(err), out, errOut)
	}
	out, errOut, err := k.try("diff", "-f", changed)
	if exitCode(err) != 1 || !strings.Contains(out, "-  replicas: 2") || !strings.Contains(out, "+  replicas: 3") ||
		!strings.Contains(out, "-  generation: 1") || !strings.Contains(out, "+  generation: 2") {
		t.Errorf("diff of a changed object: exit %d\nstdout: %s\nstderr: %s", exitCode(err), out, errOut)
	}
	unchangedNow("kubectl diff")

	if out := k.run("apply", "--dry-run=server", "-f", changed); !strings.Contains(out, "deployment.apps/web configured (server dry run)") {
		t.Errorf("apply --dry-run=server: %q", out)
	}
	if out := k.run("apply", "--dry-run=server", "-f", changed, "-o", "yaml"); !strings.Contains(out, "replicas: 3") || !strings.Contains(out, "generation: 2") {
		t.Errorf("apply --dry-run=server -o yaml: %q", out)
	}
	unchangedNow("kubectl apply --dry-run=server")

	y := k.run("get", "deployment", "web", "-o", "yaml")
	if out := k.run("replace", "--dry-run=server", "-f", k.file("replace.yaml", strings.Replace(y, "replicas: 2", "replicas: 4", 1))); !strings.Contains(out, "deployment.apps/web replaced (server dry run)") {
		t.Errorf("replace --dry-run=server: %q", out)
	}
	if out := k.run("label", "--dry-run=server", "deployment", "web", "tier=front"); !strings.Contains(out, "deployment.apps/web labeled (server dry run)") {
		t.Errorf("label --dry-run=server: %q", out)
	}
	// Errors come back as the write's would.
	bad := strings.Replace(webYAML, "replicas: 2", "replicas: -1", 1)
	if _, errOut, err := k.try("apply", "--dry-run=server", "-f", k.file("bad.yaml", bad)); err == nil || !strings.Contains(errOut, "spec.replicas") {
		t.Errorf("invalid apply --dry-run=server: %v %q", err, errOut)
	}
	unchangedNow("kubectl replace and label --dry-run=server")
}

// exitCode is a command's exit status (0 for success, -1 if it did not run).
func exitCode(err error) int {
	var ee *exec.ExitError
	if err == nil {
		return 0
	}
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
