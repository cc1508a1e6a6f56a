package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stypes "k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/internal/golden"
	"github.com/drydock-sim/drydock/real/apihttp/tables"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

const kubectlPath = "/usr/bin/kubectl"

// kubectlOrSkip returns the kubectl binary, skipping the test when it is
// missing (failing under CI=true, where it must be installed).
func kubectlOrSkip(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(kubectlPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kubectl is required under CI: %v", err)
		}
		t.Skipf("kubectl not installed: %v", err)
	}
	return kubectlPath
}

// fakeAPI serves discovery plus just enough of the REST API for the kubectl
// commands below: lists of a few fixed pods and nodes (as Tables when asked),
// and create of pods for apply.
type fakeAPI struct {
	t         *testing.T
	discovery http.Handler
	now       time.Time
	pods      []api.Object
	nodes     []api.Object
	extra     map[*api.Resource][]api.Object // lists of other resources

	mu       sync.Mutex
	requests []string // "GET /api/v1/..?query"
	created  []byte
	// the last PATCH of pods/applied
	patchType string
	patch     []byte
}

func (f *fakeAPI) log(r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	line := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		line += "?" + r.URL.RawQuery
	}
	f.requests = append(f.requests, line)
}

func (f *fakeAPI) seen(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			out = append(out, r)
		}
	}
	return out
}

func writeObj(w http.ResponseWriter, code int, obj interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(obj)
}

func (f *fakeAPI) list(w http.ResponseWriter, r *http.Request, res *api.Resource, objs []api.Object, list runtime.Object) {
	if strings.Contains(r.Header.Get("Accept"), "as=Table") {
		tab, err := tables.Table(res, objs, tables.Options{Wide: true, IncludeObject: r.URL.Query().Get("includeObject"), Now: f.now})
		if err != nil {
			writeObj(w, http.StatusBadRequest, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
				Status: metav1.StatusFailure, Message: err.Error(), Reason: metav1.StatusReasonBadRequest, Code: 400})
			return
		}
		tab.ResourceVersion = "42"
		writeObj(w, http.StatusOK, tab)
		return
	}
	writeObj(w, http.StatusOK, list)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.log(r)
	if Serves(r.URL.Path) {
		f.discovery.ServeHTTP(w, r)
		return
	}
	notFound := func() {
		writeObj(w, http.StatusNotFound, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status: metav1.StatusFailure, Reason: metav1.StatusReasonNotFound, Code: 404,
			Message: "the server could not find the requested resource"})
	}
	switch {
	case r.Method == http.MethodGet && (r.URL.Path == "/api/v1/namespaces/default/pods" || r.URL.Path == "/api/v1/pods"):
		pl := &corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, ListMeta: metav1.ListMeta{ResourceVersion: "42"}}
		for _, o := range f.pods {
			pl.Items = append(pl.Items, *o.(*corev1.Pod))
		}
		f.list(w, r, api.Pods, f.pods, pl)
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/nodes":
		nl := &corev1.NodeList{TypeMeta: metav1.TypeMeta{Kind: "NodeList", APIVersion: "v1"}, ListMeta: metav1.ListMeta{ResourceVersion: "42"}}
		for _, o := range f.nodes {
			nl.Items = append(nl.Items, *o.(*corev1.Node))
		}
		f.list(w, r, api.Nodes, f.nodes, nl)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/namespaces/default/pods":
		body, _ := io.ReadAll(r.Body)
		var p corev1.Pod
		if err := json.Unmarshal(body, &p); err != nil {
			writeObj(w, http.StatusBadRequest, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
				Status: metav1.StatusFailure, Message: err.Error(), Reason: metav1.StatusReasonBadRequest, Code: 400})
			return
		}
		f.mu.Lock()
		f.created = body
		f.mu.Unlock()
		p.ResourceVersion, p.UID, p.CreationTimestamp = "43", "uid-1", metav1.NewTime(f.now)
		p.Kind, p.APIVersion = "Pod", "v1"
		writeObj(w, http.StatusCreated, &p)
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/default/pods/applied":
		f.mu.Lock()
		created := f.created
		f.mu.Unlock()
		if created == nil {
			notFound()
			return
		}
		var p corev1.Pod
		if err := json.Unmarshal(created, &p); err != nil {
			f.t.Errorf("stored pod: %v", err)
		}
		p.ResourceVersion, p.UID, p.CreationTimestamp = "43", "uid-1", metav1.NewTime(f.now)
		p.Kind, p.APIVersion = "Pod", "v1"
		writeObj(w, http.StatusOK, &p)
	case r.Method == http.MethodPatch && r.URL.Path == "/api/v1/namespaces/default/pods/applied":
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.patchType, f.patch = r.Header.Get("Content-Type"), body
		created := f.created
		f.mu.Unlock()
		var p corev1.Pod
		if err := json.Unmarshal(created, &p); err != nil {
			f.t.Errorf("stored pod: %v", err)
		}
		p.Kind, p.APIVersion = "Pod", "v1"
		writeObj(w, http.StatusOK, &p)
	case r.Method == http.MethodGet && f.collection(r.URL.Path) != nil:
		res := f.collection(r.URL.Path)
		objs := f.extra[res]
		list := res.NewList()
		items := make([]runtime.Object, len(objs))
		for i, o := range objs {
			items[i] = o
		}
		if err := meta.SetList(list, items); err != nil {
			f.t.Errorf("list of %s: %v", res.Name, err)
		}
		list.GetObjectKind().SetGroupVersionKind(res.GroupVersion().WithKind(res.ListKind))
		f.list(w, r, res, objs, list)
	default:
		notFound()
	}
}

// collection returns the resource whose list path (in namespace default, or
// cluster-wide) path is.
func (f *fakeAPI) collection(path string) *api.Resource {
	for _, res := range api.All {
		prefix := gvPath(res.GroupVersion())
		if path == prefix+"/"+res.Name || (res.Namespaced && path == prefix+"/namespaces/default/"+res.Name) {
			return res
		}
	}
	return nil
}

func fixedPod(name string, created time.Time, mutate func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: k8stypes.UID("u-" + name),
		ResourceVersion: "40", CreationTimestamp: metav1.NewTime(created)},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.244.1.5"}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "main", Ready: true,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
	if mutate != nil {
		mutate(p)
	}
	return p
}

func newFakeAPI(t *testing.T) *fakeAPI {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	return &fakeAPI{
		t: t, discovery: Handler(Options{}), now: now,
		pods: []api.Object{
			fixedPod("web-1", now.Add(-90*time.Minute), nil),
			fixedPod("web-2", now.Add(-5*time.Second), func(p *corev1.Pod) {
				p.Status.Phase, p.Status.PodIPs, p.Status.Conditions = corev1.PodPending, nil, nil
				p.Status.ContainerStatuses[0] = corev1.ContainerStatus{Name: "main",
					State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
			}),
			fixedPod("crash", now.Add(-26*time.Hour), func(p *corev1.Pod) {
				p.Status.Conditions = nil
				p.Status.ContainerStatuses[0] = corev1.ContainerStatus{Name: "main", RestartCount: 5,
					State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
						ExitCode: 1, FinishedAt: metav1.NewTime(now.Add(-2 * time.Minute))}}}
			}),
		},
		extra: map[*api.Resource][]api.Object{
			api.Services: {&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default",
				CreationTimestamp: metav1.NewTime(now.Add(-72 * time.Hour))},
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIPs: []string{"10.96.0.1"},
					Ports: []corev1.ServicePort{{Port: 443, Protocol: corev1.ProtocolTCP}}}}},
			api.Deployments: {&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default",
				CreationTimestamp: metav1.NewTime(now.Add(-2 * time.Hour))},
				Spec:   appsv1.DeploymentSpec{Replicas: ptrInt32(2)},
				Status: appsv1.DeploymentStatus{ReadyReplicas: 1, UpdatedReplicas: 2, AvailableReplicas: 1}}},
		},
		nodes: []api.Object{
			&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", CreationTimestamp: metav1.NewTime(now.Add(-72 * time.Hour)),
				Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}},
				Spec: corev1.NodeSpec{Unschedulable: true},
				Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
					Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.0.11"}},
					NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.32.0-drydock", OSImage: "Debian GNU/Linux 12 (bookworm)",
						KernelVersion: "6.1.0", ContainerRuntimeVersion: "containerd://1.6.20"}}},
		},
	}
}

func ptrInt32(v int32) *int32 { return &v }

type kubectlRunner struct {
	bin, server, cacheDir, home string
}

func (k kubectlRunner) run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"--server", k.server, "--cache-dir", k.cacheDir}, args...)
	cmd := exec.CommandContext(ctx, k.bin, full...)
	cmd.Env = []string{"HOME=" + k.home, "KUBECONFIG=" + filepath.Join(k.home, "no-kubeconfig"), "PATH=/usr/bin:/bin"}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

func checkKubectlGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name+".golden"), []byte(got), *update)
}

// TestKubectl runs the real kubectl against discovery plus a fake list
// endpoint serving our Tables.
func TestKubectl(t *testing.T) {
	bin := kubectlOrSkip(t)
	fake := newFakeAPI(t)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	k := kubectlRunner{bin: bin, server: srv.URL, cacheDir: t.TempDir(), home: t.TempDir()}

	for _, c := range []struct {
		golden string
		args   []string
	}{
		{"kubectl-get-pods", []string{"get", "pods", "-n", "default"}},
		{"kubectl-get-pods-wide", []string{"get", "po", "-n", "default", "-o", "wide"}},
		{"kubectl-get-nodes-wide", []string{"get", "nodes", "-o", "wide"}},
		{"kubectl-get-pods-sorted", []string{"get", "pods", "-n", "default", "--sort-by", ".metadata.name"}},
		// NAMESPACE comes from each row's PartialObjectMetadata.
		{"kubectl-get-pods-all-namespaces", []string{"get", "pods", "-A"}},
		{"kubectl-api-resources", []string{"api-resources"}},
		// "all" is the category discovery advertises.
		{"kubectl-get-all", []string{"get", "all", "-n", "default"}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			out, errOut, err := k.run(t, "", c.args...)
			if err != nil {
				t.Fatalf("kubectl %v: %v\n%s%s", c.args, err, out, errOut)
			}
			checkKubectlGolden(t, c.golden, out)
		})
	}

	// kubectl dispatched on /version and used aggregated discovery (no
	// per-group-version requests) and Tables.
	if len(fake.seen("GET /version")) == 0 {
		t.Error("kubectl never asked for /version")
	}
	if got := fake.seen("GET /apis/apps/v1?"); len(got) != 0 || len(fake.seen("GET /apis/apps/v1")) != len(fake.seen("GET /apis/apps/v1/")) {
		t.Errorf("kubectl fetched per-group discovery %v despite aggregated discovery", got)
	}
	if got := fake.seen("GET /api/v1/namespaces/default/pods?"); len(got) == 0 {
		t.Error("no pod list request")
	}

	t.Run("explain", func(t *testing.T) {
		out, errOut, err := k.run(t, "", "explain", "deployments.spec.strategy.rollingUpdate.maxSurge")
		if err != nil {
			t.Fatalf("kubectl explain: %v\n%s%s", err, out, errOut)
		}
		for _, want := range []string{"GROUP:      apps", "KIND:       Deployment", "VERSION:    v1", "FIELD: maxSurge <IntOrString>",
			"The maximum number of pods that can be scheduled above the desired number"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl explain output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("apply", func(t *testing.T) {
		manifest := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: applied\n  namespace: default\nspec:\n  containers:\n  - name: main\n    image: busybox\n"
		out, errOut, err := k.run(t, manifest, "apply", "-f", "-")
		if err != nil {
			t.Fatalf("kubectl apply: %v\n%s%s", err, out, errOut)
		}
		if strings.TrimSpace(out) != "pod/applied created" {
			t.Errorf("kubectl apply printed %q (stderr %q)", out, errOut)
		}
		posts := fake.seen("POST /api/v1/namespaces/default/pods")
		if len(posts) != 1 || !strings.Contains(posts[0], "fieldValidation=Strict") {
			t.Errorf("create requests %v, want one with fieldValidation=Strict (found in our OpenAPI)", posts)
		}
		if len(fake.seen("GET /openapi/v3")) == 0 {
			t.Error("kubectl apply never read /openapi/v3")
		}
		fake.mu.Lock()
		created := string(fake.created)
		fake.mu.Unlock()
		if !strings.Contains(created, "kubectl.kubernetes.io/last-applied-configuration") {
			t.Errorf("created object lacks the last-applied annotation: %s", created)
		}

		// Applying a changed manifest: kubectl computes a strategic merge
		// patch from our OpenAPI v3 schemas (it warns when it cannot).
		changed := strings.Replace(manifest, "  containers:\n", "  containers:\n  - name: side\n    image: busybox\n", 1)
		changed = strings.Replace(changed, "  namespace: default\n", "  namespace: default\n  labels:\n    tier: web\n", 1)
		out, errOut, err = k.run(t, changed, "apply", "-f", "-")
		if err != nil {
			t.Fatalf("kubectl apply (update): %v\n%s%s", err, out, errOut)
		}
		if strings.TrimSpace(out) != "pod/applied configured" || errOut != "" {
			t.Errorf("kubectl apply (update) printed %q, stderr %q", out, errOut)
		}
		fake.mu.Lock()
		patchType, patch := fake.patchType, string(fake.patch)
		fake.mu.Unlock()
		if patchType != "application/strategic-merge-patch+json" {
			t.Errorf("patch content type %q", patchType)
		}
		for _, want := range []string{`"$setElementOrder/containers":[{"name":"side"},{"name":"main"}]`, `"labels":{"tier":"web"}`} {
			if !strings.Contains(patch, want) {
				t.Errorf("patch %s lacks %s", patch, want)
			}
		}
	})
}
