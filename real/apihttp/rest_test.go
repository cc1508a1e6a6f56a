package apihttp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/real/apihttp"
	"github.com/drydock-sim/drydock/real/apihttp/tables"
	"github.com/drydock-sim/drydock/real/auth"
)

// TestREST runs one request per row against a fresh server holding pod p1
// (default) and deployment web, and checks code, Status reason and body.
func TestREST(t *testing.T) {
	podJSON := func(name string) string { return mustJSON(t, testPod(name)) }
	tests := []struct {
		name         string
		method, path string
		ctype        string
		body         string
		hdr          []string
		code         int
		reason       metav1.StatusReason
		contains     []string
		header       map[string]string
	}{
		{name: "get", method: "GET", path: "/api/v1/namespaces/default/pods/p1", code: 200,
			contains: []string{`"kind":"Pod"`, `"apiVersion":"v1"`, `"name":"p1"`}},
		{name: "get status", method: "GET", path: "/api/v1/namespaces/default/pods/p1/status", code: 200, contains: []string{`"kind":"Pod"`}},
		{name: "get missing", method: "GET", path: "/api/v1/namespaces/default/pods/nope", code: 404, reason: metav1.StatusReasonNotFound,
			contains: []string{`"kind":"Status"`, `"apiVersion":"v1"`, `pods \"nope\" not found`, `"details":{"name":"nope","kind":"pods"}`}},
		{name: "unknown resource", method: "GET", path: "/api/v1/namespaces/default/widgets", code: 404, reason: metav1.StatusReasonNotFound},
		{name: "unknown group version", method: "GET", path: "/apis/apps/v1beta1/namespaces/default/deployments", code: 404},
		{name: "namespaced path for cluster resource", method: "GET", path: "/api/v1/namespaces/default/nodes", code: 404},
		{name: "named get needs namespace", method: "GET", path: "/api/v1/pods/p1", code: 404},
		// An empty path segment names nothing: the authoriser would see
		// namespace "" while the core wrote to "default".
		{name: "empty namespace segment", method: "PUT", path: "/api/v1/namespaces//pods/p1",
			body: `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p1","labels":{"x":"y"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`, code: 404},
		{name: "empty name segment", method: "GET", path: "/api/v1/namespaces/default/pods//status", code: 404},
		{name: "unknown subresource", method: "GET", path: "/api/v1/namespaces/default/pods/p1/foo", code: 404},
		{name: "attach not served", method: "POST", path: "/api/v1/namespaces/default/pods/p1/attach?stdout=true", code: 404,
			contains: []string{"pods/attach is not served by drydock"}},
		{name: "list", method: "GET", path: "/api/v1/namespaces/default/pods", code: 200,
			contains: []string{`"kind":"PodList"`, `"apiVersion":"v1"`, `"resourceVersion":"`, `"name":"p1"`}},
		{name: "list all namespaces", method: "GET", path: "/api/v1/pods", code: 200, contains: []string{`"kind":"PodList"`, `"name":"p1"`}},
		{name: "list label selector miss", method: "GET", path: "/api/v1/namespaces/default/pods?labelSelector=app%3Ddb", code: 200,
			contains: []string{`"items":[]`}},
		{name: "list field selector !=", method: "GET", path: "/api/v1/pods?fieldSelector=status.phase!%3DRunning,spec.nodeName%3D", code: 200,
			contains: []string{`"name":"p1"`}},
		{name: "list field selector excludes", method: "GET", path: "/api/v1/pods?fieldSelector=status.phase%3DRunning", code: 200,
			contains: []string{`"items":[]`}},
		{name: "list bad field selector", method: "GET", path: "/api/v1/pods?fieldSelector=spec.foo%3Dx", code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "list apps group", method: "GET", path: "/apis/apps/v1/namespaces/default/deployments", code: 200,
			contains: []string{`"kind":"DeploymentList"`, `"apiVersion":"apps/v1"`}},
		{name: "list sendInitialEvents is 422", method: "GET", path: "/api/v1/pods?sendInitialEvents=true", code: 422, reason: metav1.StatusReasonInvalid},
		{name: "list yaml", method: "GET", path: "/api/v1/namespaces/default/pods", hdr: []string{"Accept", "application/yaml"}, code: 200,
			contains: []string{"kind: PodList"}, header: map[string]string{"Content-Type": "application/yaml"}},
		{name: "list protobuf", method: "GET", path: "/api/v1/namespaces/default/pods",
			hdr: []string{"Accept", "application/vnd.kubernetes.protobuf, application/json"}, code: 200,
			header: map[string]string{"Content-Type": "application/vnd.kubernetes.protobuf"}, contains: []string{"k8s\x00", "PodList"}},
		{name: "json preferred over protobuf", method: "GET", path: "/api/v1/namespaces/default/pods",
			hdr: []string{"Accept", "application/json, application/vnd.kubernetes.protobuf"}, code: 200, header: map[string]string{"Content-Type": "application/json"}},
		{name: "scale asked as protobuf is json", method: "GET", path: "/apis/apps/v1/namespaces/default/deployments/web/scale",
			hdr: []string{"Accept", "application/vnd.kubernetes.protobuf"}, code: 200, header: map[string]string{"Content-Type": "application/json"}},
		{name: "not acceptable", method: "GET", path: "/api/v1/namespaces/default/pods", hdr: []string{"Accept", "text/html"}, code: 406},
		{name: "partial metadata list", method: "GET", path: "/api/v1/namespaces/default/pods",
			hdr: []string{"Accept", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"}, code: 200,
			contains: []string{`"kind":"PartialObjectMetadataList"`, `"apiVersion":"meta.k8s.io/v1"`, `"name":"p1"`}},
		{name: "table list", method: "GET", path: "/api/v1/namespaces/default/pods",
			hdr: []string{"Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}, code: 200,
			contains: []string{`"kind":"Table"`, `"apiVersion":"meta.k8s.io/v1"`, `"cells":["p1"]`, `"resourceVersion":"`}},
		{name: "table get", method: "GET", path: "/api/v1/namespaces/default/pods/p1?includeObject=None",
			hdr: []string{"Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}, code: 200,
			contains: []string{`"kind":"Table"`, `"cells":["p1"]`, `include=None`}},
		{name: "table bad includeObject", method: "GET", path: "/api/v1/namespaces/default/pods?includeObject=All",
			hdr: []string{"Accept", "application/json;as=Table;v=v1;g=meta.k8s.io"}, code: 400},

		{name: "create", method: "POST", path: "/api/v1/namespaces/default/pods?fieldManager=kubectl&fieldValidation=Strict", body: podJSON("p2"), code: 201,
			contains: []string{`"kind":"Pod"`, `"name":"p2"`, `"uid":"`}},
		{name: "create yaml", method: "POST", path: "/api/v1/namespaces/default/pods", ctype: "application/yaml",
			body: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p3\nspec:\n  containers:\n  - name: c\n    image: busybox\n", code: 201,
			contains: []string{`"name":"p3"`, `"namespace":"default"`}},
		{name: "create without kind", method: "POST", path: "/api/v1/namespaces/default/pods",
			body: `{"metadata":{"name":"p4"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`, code: 201},
		{name: "create exists", method: "POST", path: "/api/v1/namespaces/default/pods", body: podJSON("p1"), code: 409, reason: metav1.StatusReasonAlreadyExists,
			contains: []string{`pods \"p1\" already exists`}},
		{name: "create invalid", method: "POST", path: "/api/v1/namespaces/default/pods",
			body: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bad"},"spec":{"containers":[]}}`, code: 422, reason: metav1.StatusReasonInvalid,
			contains: []string{`"causes":[`, `"field":"spec.containers"`, `"kind":"Pod"`, `"name":"bad"`}},
		{name: "create strict unknown field", method: "POST", path: "/api/v1/namespaces/default/pods?fieldValidation=Strict",
			body: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p5"},"spec":{"foo":1,"containers":[{"name":"c","image":"busybox"}]}}`,
			code: 400, reason: metav1.StatusReasonBadRequest, contains: []string{`strict decoding error: unknown field \"spec.foo\"`, `Pod in version \"v1\" cannot be handled as a Pod`}},
		{name: "create warn unknown field", method: "POST", path: "/api/v1/namespaces/default/pods",
			body: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p6"},"spec":{"foo":1,"containers":[{"name":"c","image":"busybox"}]}}`,
			code: 201, header: map[string]string{"Warning": `299 - "unknown field \"spec.foo\""`}},
		{name: "create ignore unknown field", method: "POST", path: "/api/v1/namespaces/default/pods?fieldValidation=Ignore",
			body: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p7"},"spec":{"foo":1,"containers":[{"name":"c","image":"busybox"}]}}`,
			code: 201, header: map[string]string{"Warning": ""}},
		{name: "create bad fieldValidation", method: "POST", path: "/api/v1/namespaces/default/pods?fieldValidation=Loud", body: podJSON("p8"), code: 400},
		{name: "create wrong kind", method: "POST", path: "/api/v1/namespaces/default/pods", body: mustJSON(t, testDeployment("d", 1)), code: 400,
			contains: []string{"does not match the expected API version"}},
		{name: "create namespace mismatch", method: "POST", path: "/api/v1/namespaces/kube-system/pods", body: podJSON("p9"), code: 400,
			contains: []string{"does not match the namespace"}},
		{name: "create unsupported media type", method: "POST", path: "/api/v1/namespaces/default/pods", ctype: "text/plain", body: "x", code: 415},
		{name: "create malformed", method: "POST", path: "/api/v1/namespaces/default/pods", body: `{"metadata":`, code: 400},
		{name: "create at all-namespaces path", method: "POST", path: "/api/v1/pods", body: podJSON("p10"), code: 405, reason: metav1.StatusReasonMethodNotAllowed},
		{name: "create dry run", method: "POST", path: "/api/v1/namespaces/default/pods?dryRun=All", body: podJSON("dry"), code: 201},

		{name: "update", method: "PUT", path: "/apis/apps/v1/namespaces/default/deployments/web", body: func() string {
			d := testDeployment("web", 4)
			d.Labels = map[string]string{"tier": "db"}
			return mustJSON(t, d)
		}(), code: 200, contains: []string{`"tier":"db"`, `"replicas":4`, `"generation":2`}},
		{name: "update conflict", method: "PUT", path: "/api/v1/namespaces/default/pods/p1",
			body: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1","resourceVersion":"1"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`,
			code: 409, reason: metav1.StatusReasonConflict, contains: []string{"the object has been modified"}},
		{name: "update name mismatch", method: "PUT", path: "/api/v1/namespaces/default/pods/p1", body: podJSON("other"), code: 400,
			contains: []string{"does not match the name on the URL"}},
		{name: "update missing", method: "PUT", path: "/api/v1/namespaces/default/pods/nope", body: podJSON("nope"), code: 404},
		{name: "update creates endpoints", method: "PUT", path: "/api/v1/namespaces/default/endpoints/web",
			body: `{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"web"}}`, code: 201, contains: []string{`"kind":"Endpoints"`, `"uid":"`}},
		{name: "update of missing lease with resourceVersion", method: "PUT", path: "/apis/coordination.k8s.io/v1/namespaces/default/leases/l1",
			body: `{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"l1","resourceVersion":"5"}}`, code: 404},
		{name: "update status", method: "PUT", path: "/api/v1/namespaces/default/pods/p1/status",
			body: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1"},"spec":{"containers":[{"name":"c","image":"busybox"}]},"status":{"phase":"Running"}}`,
			code: 200, contains: []string{`"phase":"Running"`}},

		{name: "merge patch", method: "PATCH", path: "/api/v1/namespaces/default/pods/p1", ctype: "application/merge-patch+json",
			body: `{"metadata":{"labels":{"tier":"front"}}}`, code: 200, contains: []string{`"tier":"front"`, `"app":"web"`}},
		{name: "strategic merge patch", method: "PATCH", path: "/apis/apps/v1/namespaces/default/deployments/web?fieldValidation=Strict",
			ctype: "application/strategic-merge-patch+json",
			body:  `{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox:2"}]}}}}`, code: 200,
			contains: []string{`"image":"busybox:2"`, `"generation":2`}},
		{name: "json patch", method: "PATCH", path: "/api/v1/namespaces/default/pods/p1", ctype: "application/json-patch+json",
			body: `[{"op":"add","path":"/metadata/annotations","value":{"a":"b"}}]`, code: 200, contains: []string{`"a":"b"`}},
		{name: "patch strict unknown field", method: "PATCH", path: "/api/v1/namespaces/default/pods/p1?fieldValidation=Strict",
			ctype: "application/merge-patch+json", body: `{"spec":{"bogus":true}}`, code: 400, contains: []string{`unknown field \"spec.bogus\"`}},
		{name: "patch warn unknown field", method: "PATCH", path: "/api/v1/namespaces/default/pods/p1",
			ctype: "application/strategic-merge-patch+json", body: `{"spec":{"bogus":true}}`, code: 200,
			header: map[string]string{"Warning": `299 - "unknown field \"spec.bogus\""`}},
		{name: "patch status", method: "PATCH", path: "/api/v1/namespaces/default/pods/p1/status", ctype: "application/merge-patch+json",
			body: `{"status":{"phase":"Running"}}`, code: 200, contains: []string{`"phase":"Running"`}},
		{name: "apply patch unsupported", method: "PATCH", path: "/api/v1/namespaces/default/pods/p1?fieldManager=kubectl", ctype: "application/apply-patch+yaml",
			body: "metadata:\n  name: p1\n", code: 415, reason: metav1.StatusReasonUnsupportedMediaType, contains: []string{"server-side apply"}},
		{name: "patch missing", method: "PATCH", path: "/api/v1/namespaces/default/pods/nope", ctype: "application/merge-patch+json", body: `{}`, code: 404},
		{name: "patch conflict", method: "PATCH", path: "/api/v1/namespaces/default/pods/p1", ctype: "application/merge-patch+json",
			body: `{"metadata":{"resourceVersion":"1"}}`, code: 409, reason: metav1.StatusReasonConflict},

		{name: "delete", method: "DELETE", path: "/api/v1/namespaces/default/pods/p1", code: 200, contains: []string{`"kind":"Pod"`, `"name":"p1"`}},
		{name: "delete with options", method: "DELETE", path: "/apis/apps/v1/namespaces/default/deployments/web",
			body: `{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}`, code: 200,
			contains: []string{`"foregroundDeletion"`, `"deletionTimestamp"`}},
		{name: "delete background is gone", method: "DELETE", path: "/apis/apps/v1/namespaces/default/deployments/web?propagationPolicy=Background", code: 200,
			contains: []string{`"kind":"Status"`, `"status":"Success"`, `"kind":"deployments"`}},
		{name: "delete precondition", method: "DELETE", path: "/api/v1/namespaces/default/pods/p1",
			body: `{"preconditions":{"resourceVersion":"1"}}`, code: 409, reason: metav1.StatusReasonConflict, contains: []string{"Precondition failed"}},
		{name: "delete bad policy", method: "DELETE", path: "/api/v1/namespaces/default/pods/p1?propagationPolicy=Sometimes", code: 400},
		{name: "delete missing", method: "DELETE", path: "/api/v1/namespaces/default/pods/nope", code: 404},
		{name: "deletecollection", method: "DELETE", path: "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb", code: 200,
			contains: []string{`"kind":"PodList"`, `"name":"p1"`}},
		{name: "method not allowed", method: "POST", path: "/api/v1/namespaces/default/pods/p1", body: "{}", code: 405,
			reason: metav1.StatusReasonMethodNotAllowed, contains: []string{"the server does not allow this method on the requested resource"}},

		{name: "scale get", method: "GET", path: "/apis/apps/v1/namespaces/default/deployments/web/scale", code: 200,
			contains: []string{`"kind":"Scale"`, `"apiVersion":"autoscaling/v1"`, `"replicas":2`, `"selector":"app=web"`}},
		{name: "scale merge patch", method: "PATCH", path: "/apis/apps/v1/namespaces/default/deployments/web/scale",
			ctype: "application/merge-patch+json", body: `{"spec":{"replicas":5}}`, code: 200, contains: []string{`"kind":"Scale"`, `"spec":{"replicas":5}`}},
		{name: "scale put", method: "PUT", path: "/apis/apps/v1/namespaces/default/deployments/web/scale",
			body: `{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"web","namespace":"default"},"spec":{"replicas":3}}`, code: 200,
			contains: []string{`"spec":{"replicas":3}`}},
		{name: "scale put stale", method: "PUT", path: "/apis/apps/v1/namespaces/default/deployments/web/scale",
			body: `{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"web","resourceVersion":"1"},"spec":{"replicas":3}}`, code: 409},
		{name: "scale negative", method: "PUT", path: "/apis/apps/v1/namespaces/default/deployments/web/scale",
			body: `{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"web"},"spec":{"replicas":-1}}`, code: 422, reason: metav1.StatusReasonInvalid},
		{name: "scale missing", method: "GET", path: "/apis/apps/v1/namespaces/default/replicasets/nope/scale", code: 404},

		{name: "binding", method: "POST", path: "/api/v1/namespaces/default/pods/p1/binding",
			body: `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p1"},"target":{"kind":"Node","name":"n1"}}`, code: 201,
			contains: []string{`"kind":"Status"`, `"status":"Success"`}},
		{name: "binding name mismatch", method: "POST", path: "/api/v1/namespaces/default/pods/p1/binding",
			body: `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p2"},"target":{"kind":"Node","name":"n1"}}`, code: 400},
		{name: "eviction", method: "POST", path: "/api/v1/namespaces/default/pods/p1/eviction",
			body: `{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"p1","namespace":"default"}}`, code: 201,
			contains: []string{`"status":"Success"`}},
		{name: "eviction v1beta1", method: "POST", path: "/api/v1/namespaces/default/pods/p1/eviction",
			body: `{"apiVersion":"policy/v1beta1","kind":"Eviction","metadata":{"name":"p1"},"deleteOptions":{"gracePeriodSeconds":0}}`, code: 201},
		{name: "eviction wrong kind", method: "POST", path: "/api/v1/namespaces/default/pods/p1/eviction",
			body: `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p1"}}`, code: 400},
		{name: "eviction missing", method: "POST", path: "/api/v1/namespaces/default/pods/nope/eviction",
			body: `{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"nope"}}`, code: 404},

		{name: "namespaces get", method: "GET", path: "/api/v1/namespaces/kube-system", code: 200, contains: []string{`"kind":"Namespace"`}},
		{name: "healthz", method: "GET", path: "/healthz", code: 200, contains: []string{"ok"}},
		{name: "discovery mounted", method: "GET", path: "/version", code: 200, contains: []string{"fake-discovery /version"}},
		{name: "discovery group", method: "GET", path: "/apis/apps/v1", code: 200, contains: []string{"fake-discovery /apis/apps/v1"}},
		{name: "openapi", method: "GET", path: "/openapi/v3/api/v1", code: 200, contains: []string{"fake-discovery"}},
		{name: "unknown path", method: "GET", path: "/metrics-nope", code: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, apihttp.Config{Discovery: fakeDiscovery(), Table: fakeTable}, 0)
			e.create(testPod("p1"))
			e.create(testDeployment("web", 2))
			hdr := tc.hdr
			if tc.ctype != "" {
				hdr = append(append([]string(nil), hdr...), "Content-Type", tc.ctype)
			}
			r := e.do(tc.method, tc.path, tc.body, hdr...)
			if r.code != tc.code {
				t.Fatalf("%s %s: code %d, want %d: %s", tc.method, tc.path, r.code, tc.code, r.body)
			}
			if r.code >= 400 {
				st := r.status(t)
				if st.Kind != "Status" || st.APIVersion != "v1" || st.Status != metav1.StatusFailure || int(st.Code) != tc.code {
					t.Errorf("bad Status: %s", r.body)
				}
				if tc.reason != "" && st.Reason != tc.reason {
					t.Errorf("reason %q, want %q: %s", st.Reason, tc.reason, r.body)
				}
			}
			for _, c := range tc.contains {
				if !strings.Contains(string(r.body), c) {
					t.Errorf("body lacks %s: %s", c, r.body)
				}
			}
			for k, v := range tc.header {
				if got := r.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func fakeDiscovery() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "fake-discovery %s", r.URL.Path)
	})
}

// fakeTable renders a one-column (name) table, noting includeObject.
func fakeTable(r *api.Resource, objs []api.Object, opts tables.Options) (*metav1.Table, error) {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{{Name: "Name", Type: "string", Format: "name",
		Description: "include=" + opts.IncludeObject}}}
	for _, o := range objs {
		t.Rows = append(t.Rows, metav1.TableRow{Cells: []any{o.GetName()}})
	}
	return t, nil
}

func TestCreatedObjectsAreStored(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 0)
	r := e.do("POST", "/apis/apps/v1/namespaces/default/deployments", mustJSON(t, testDeployment("d1", 1)))
	if r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	got, err := e.api.Get(context.Background(), api.Deployments, "default", "d1")
	if err != nil {
		t.Fatal(err)
	}
	if got.GetUID() == "" {
		t.Error("no uid")
	}
	// Dry run stores nothing.
	if r := e.do("POST", "/api/v1/namespaces/default/pods?dryRun=All", mustJSON(t, testPod("dry"))); r.code != 201 {
		t.Fatalf("dry run: %d %s", r.code, r.body)
	}
	if _, err := e.api.Get(context.Background(), api.Pods, "default", "dry"); !apierrors.IsNotFound(err) {
		t.Errorf("dry-run pod stored: %v", err)
	}
}

func TestScaleChangesReplicas(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 0)
	e.create(testDeployment("web", 2))
	r := e.do("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", `{"spec":{"replicas":7}}`, "Content-Type", "application/merge-patch+json")
	if r.code != 200 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	var s autoscalingv1.Scale
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatal(err)
	}
	d, _ := e.api.Get(context.Background(), api.Deployments, "default", "web")
	if s.Spec.Replicas != 7 || *d.(*appsv1.Deployment).Spec.Replicas != 7 {
		t.Errorf("scale %d", s.Spec.Replicas)
	}
}

// errAuth rejects every credential.
type errAuth struct{}

func (errAuth) Authenticate(*http.Request) (*auth.User, error) {
	return nil, fmt.Errorf("bad cert: %w", auth.ErrUnauthenticated)
}

type headerAuth struct{}

func (headerAuth) Authenticate(r *http.Request) (*auth.User, error) {
	u := r.Header.Get("X-User")
	if u == "" {
		return nil, auth.ErrUnauthenticated
	}
	return &auth.User{Name: u, Groups: []string{"g"}}, nil
}

// recordingAuthz records attributes and denies user "eve" and writes to nodes.
type recordingAuthz struct {
	mu    sync.Mutex
	attrs []auth.Attributes
}

func (a *recordingAuthz) Authorize(ctx context.Context, at auth.Attributes) error {
	a.mu.Lock()
	a.attrs = append(a.attrs, at)
	a.mu.Unlock()
	if at.User.Name == "eve" && at.Resource == "" {
		return errors.New("eve may not read discovery")
	}
	if at.User.Name == "eve" {
		return apierrors.NewForbidden(schema.GroupResource{Group: at.APIGroup, Resource: at.Resource}, at.Name,
			fmt.Errorf("User %q cannot %s resource %q", at.User.Name, at.Verb, at.Resource))
	}
	if at.Resource == "nodes" && at.Verb != "get" && at.Verb != "list" && at.Verb != "watch" {
		return errors.New("nodes are read-only here")
	}
	return nil
}

func (a *recordingAuthz) last() auth.Attributes {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.attrs[len(a.attrs)-1]
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, apihttp.Config{Authenticator: errAuth{}}, 0)
	for _, p := range []string{"/api/v1/pods", "/version", "/apis"} {
		r := e.do("GET", p, "")
		if r.code != 401 {
			t.Fatalf("%s: %d", p, r.code)
		}
		st := r.status(t)
		if st.Kind != "Status" || st.Reason != metav1.StatusReasonUnauthorized {
			t.Errorf("%s: %s", p, r.body)
		}
	}
	// Health checks too: drydock has no anonymous access.
	if r := e.do("GET", "/healthz", ""); r.code != 401 {
		t.Errorf("healthz: %d", r.code)
	}
}

func TestAuthorization(t *testing.T) {
	az := &recordingAuthz{}
	var extraUser *auth.User
	e := newEnv(t, apihttp.Config{Authenticator: headerAuth{}, Authorizer: az, Discovery: fakeDiscovery(), Extra: map[string]http.Handler{
		"/apis/drydock.io/v1/join": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { extraUser = apihttp.UserFrom(r.Context()) }),
	}}, 0)
	e.create(testPod("p1"))
	tests := []struct {
		name, user, method, path, body string
		code                           int
		want                           auth.Attributes
	}{
		{"get", "alice", "GET", "/api/v1/namespaces/default/pods/p1", "", 200,
			auth.Attributes{Verb: "get", Resource: "pods", Namespace: "default", Name: "p1"}},
		{"list", "alice", "GET", "/apis/apps/v1/deployments", "", 200, auth.Attributes{Verb: "list", APIGroup: "apps", Resource: "deployments"}},
		{"watch", "alice", "GET", "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1", "", 200,
			auth.Attributes{Verb: "watch", Resource: "pods", Namespace: "default"}},
		{"create carries object", "alice", "POST", "/api/v1/namespaces/default/pods", mustJSON(t, testPod("p2")), 201,
			auth.Attributes{Verb: "create", Resource: "pods", Namespace: "default"}},
		{"binding names the pod", "alice", "POST", "/api/v1/namespaces/default/pods/p1/binding",
			`{"metadata":{"name":"p1"},"target":{"kind":"Node","name":"n1"}}`, 201,
			auth.Attributes{Verb: "create", Resource: "pods", Subresource: "binding", Namespace: "default", Name: "p1"}},
		{"non-resource", "alice", "GET", "/version", "", 200, auth.Attributes{Verb: "get", Path: "/version"}},
		{"non-resource forbidden", "eve", "GET", "/apis", "", 403, auth.Attributes{Verb: "get", Path: "/apis"}},
		{"health", "alice", "GET", "/healthz", "", 200, auth.Attributes{Verb: "get", Path: "/healthz"}},
		{"status subresource", "alice", "PATCH", "/api/v1/namespaces/default/pods/p1/status", `{"status":{"phase":"Running"}}`, 200,
			auth.Attributes{Verb: "patch", Resource: "pods", Subresource: "status", Namespace: "default", Name: "p1"}},
		{"eve forbidden", "eve", "GET", "/api/v1/namespaces/default/pods/p1", "", 403,
			auth.Attributes{Verb: "get", Resource: "pods", Namespace: "default", Name: "p1"}},
		{"plain error becomes 403", "alice", "DELETE", "/api/v1/nodes/n1", "", 403, auth.Attributes{Verb: "delete", Resource: "nodes", Name: "n1"}},
		{"forbidden before bad body", "eve", "POST", "/api/v1/namespaces/default/pods", `{"bad`, 403,
			auth.Attributes{Verb: "create", Resource: "pods", Namespace: "default"}},
		{"namespace object", "alice", "GET", "/api/v1/namespaces/kube-system", "", 200,
			auth.Attributes{Verb: "get", Resource: "namespaces", Namespace: "kube-system", Name: "kube-system"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ct := "application/json"
			if tc.method == "PATCH" {
				ct = "application/merge-patch+json"
			}
			r := e.do(tc.method, tc.path, tc.body, "X-User", tc.user, "Content-Type", ct)
			if r.code != tc.code {
				t.Fatalf("code %d, want %d: %s", r.code, tc.code, r.body)
			}
			if r.code == 403 {
				if st := r.status(t); st.Reason != metav1.StatusReasonForbidden || st.Kind != "Status" {
					t.Errorf("not a Forbidden Status: %s", r.body)
				}
			}
			got := az.last()
			if got.User == nil || got.User.Name != tc.user {
				t.Errorf("user %+v", got.User)
			}
			obj := got.Object
			got.User, got.Object = nil, nil
			if got != tc.want {
				t.Errorf("attributes %+v, want %+v", got, tc.want)
			}
			if tc.name == "create carries object" {
				if p, ok := obj.(*corev1.Pod); !ok || p.Name != "p2" || p.Namespace != "default" {
					t.Errorf("object %#v", obj)
				}
			}
		})
	}
	if r := e.do("POST", "/apis/drydock.io/v1/join", "{}", "X-User", "system:bootstrap:abcdef"); r.code != 200 || extraUser == nil ||
		extraUser.Name != "system:bootstrap:abcdef" {
		t.Errorf("extra handler: %d %+v", r.code, extraUser)
	}
}

type panicAuthz struct{}

func (panicAuthz) Authorize(context.Context, auth.Attributes) error { panic("boom") }

func TestPanicRecoveryAndLog(t *testing.T) {
	e := newEnv(t, apihttp.Config{Authorizer: panicAuthz{}}, 0)
	r := e.do("GET", "/api/v1/namespaces/default/pods/p1", "")
	if r.code != 500 {
		t.Fatalf("code %d", r.code)
	}
	if st := r.status(t); st.Reason != metav1.StatusReasonInternalError || !strings.Contains(st.Message, "boom") {
		t.Errorf("%s", r.body)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.log) != 1 {
		t.Fatalf("log %+v", e.log)
	}
	l := e.log[0]
	if l.Code != 500 || !strings.Contains(l.Panic, "boom") || l.Verb != "get" || l.Resource != "pods" || l.Name != "p1" ||
		l.Namespace != "default" || l.User != apihttp.AnonymousAdmin.Name || l.Method != "GET" || l.UserAgent != "Go-http-client/1.1" ||
		l.URI != "/api/v1/namespaces/default/pods/p1" || l.Duration <= 0 {
		t.Errorf("log entry %+v", l)
	}
}

func TestProtobufResponses(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 0)
	e.create(testPod("p1"))
	dec := scheme.Codecs.UniversalDeserializer()
	r := e.do("GET", "/api/v1/namespaces/default/pods/p1", "", "Accept", "application/vnd.kubernetes.protobuf")
	obj, _, err := dec.Decode(r.body, nil, nil)
	if err != nil {
		t.Fatalf("%v: %q", err, r.body)
	}
	if p, ok := obj.(*corev1.Pod); !ok || p.Name != "p1" || p.UID == "" {
		t.Fatalf("%#v", obj)
	}
	r = e.do("GET", "/api/v1/pods", "", "Accept", "application/vnd.kubernetes.protobuf")
	obj, _, err = dec.Decode(r.body, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := obj.(*corev1.PodList); !ok || len(l.Items) != 1 || l.Items[0].Name != "p1" || l.ResourceVersion == "" {
		t.Fatalf("%#v", obj)
	}
	r = e.do("POST", "/api/v1/namespaces/default/pods", mustJSON(t, testPod("p2")), "Accept", "application/vnd.kubernetes.protobuf")
	if r.code != 201 || r.header.Get("Content-Type") != "application/vnd.kubernetes.protobuf" {
		t.Fatalf("%d %s", r.code, r.header.Get("Content-Type"))
	}
	// Errors stay JSON Status, which client-go decodes by content type.
	r = e.do("GET", "/api/v1/namespaces/default/pods/nope", "", "Accept", "application/vnd.kubernetes.protobuf")
	if r.code != 404 || r.status(t).Reason != metav1.StatusReasonNotFound {
		t.Fatalf("%d %s", r.code, r.body)
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 0)
	p := testPod("big")
	p.Annotations = map[string]string{"a": strings.Repeat("x", 3<<20)}
	r := e.do("POST", "/api/v1/namespaces/default/pods", mustJSON(t, p))
	if r.code != 413 || r.status(t).Reason != metav1.StatusReasonRequestEntityTooLarge {
		t.Fatalf("%d %s", r.code, r.body)
	}
}

func TestGzipLargeResponses(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 0)
	for i := 0; i < 300; i++ {
		e.create(testPod(fmt.Sprintf("p%03d", i)))
	}
	// Small bodies stay plain even when gzip is accepted.
	r := e.do("GET", "/api/v1/namespaces/default/pods/p000", "", "Accept-Encoding", "gzip")
	if r.header.Get("Content-Encoding") != "" {
		t.Errorf("small body compressed")
	}
	r = e.do("GET", "/api/v1/namespaces/default/pods", "", "Accept-Encoding", "gzip")
	if r.code != 200 || r.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("%d %v", r.code, r.header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	var l corev1.PodList
	if err := json.NewDecoder(zr).Decode(&l); err != nil || len(l.Items) != 300 {
		t.Fatalf("%v %d", err, len(l.Items))
	}
	// Without Accept-Encoding: plain.
	if r := e.do("GET", "/api/v1/namespaces/default/pods", "", "Accept-Encoding", "identity"); r.header.Get("Content-Encoding") != "" {
		t.Error("compressed without gzip in Accept-Encoding")
	}
}
