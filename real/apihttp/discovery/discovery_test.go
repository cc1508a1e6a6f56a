package discovery

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"

	"github.com/drydock-sim/drydock/core/api"
)

func get(t *testing.T, h http.Handler, path, accept string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func decode(t *testing.T, w *httptest.ResponseRecorder, into interface{}) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	if err := json.Unmarshal(w.Body.Bytes(), into); err != nil {
		t.Fatalf("decoding %T: %v\n%s", into, err, w.Body.String())
	}
}

func TestVersion(t *testing.T) {
	cases := []struct {
		git, major, minor string
	}{
		{"", "1", "32"},
		{"v1.32.4-drydock", "1", "32"},
		{"v1.31.0", "1", "31"},
	}
	for _, c := range cases {
		var info version.Info
		decode(t, get(t, Handler(Options{GitVersion: c.git, GitCommit: "abc"}), "/version", ""), &info)
		want := c.git
		if want == "" {
			want = DefaultGitVersion
		}
		if info.Major != c.major || info.Minor != c.minor || info.GitVersion != want || info.GitCommit != "abc" || info.GoVersion == "" {
			t.Errorf("GitVersion %q: /version = %+v", c.git, info)
		}
	}
}

func TestBadGitVersionPanics(t *testing.T) {
	for _, v := range []string{"1.32.0", "v1", "vX.32.0", "v1.x.0"} {
		if _, err := newHandler(Options{GitVersion: v}, api.All); err == nil || !strings.Contains(err.Error(), "GitVersion") {
			t.Errorf("GitVersion %q: err = %v, want an error naming GitVersion", v, err)
		}
	}
}

func findResource(list *metav1.APIResourceList, name string) *metav1.APIResource {
	for i := range list.APIResources {
		if list.APIResources[i].Name == name {
			return &list.APIResources[i]
		}
	}
	return nil
}

func TestLegacyResourceLists(t *testing.T) {
	h := Handler(Options{OmitDeleteCollection: true})
	var core metav1.APIResourceList
	decode(t, get(t, h, "/api/v1", ""), &core)
	if core.GroupVersion != "v1" || core.Kind != "APIResourceList" {
		t.Fatalf("/api/v1 = %s %s", core.Kind, core.GroupVersion)
	}
	var apps metav1.APIResourceList
	decode(t, get(t, h, "/apis/apps/v1", ""), &apps)

	type want struct {
		list       *metav1.APIResourceList
		name       string
		kind       string
		group, ver string
		namespaced bool
		verbs      []string
		short      []string
		categories []string
	}
	main := []string{"create", "delete", "get", "list", "patch", "update", "watch"}
	cases := []want{
		{&core, "pods", "Pod", "", "", true, main, []string{"po"}, []string{"all"}},
		{&core, "nodes", "Node", "", "", false, main, []string{"no"}, nil},
		{&core, "services", "Service", "", "", true, main, []string{"svc"}, []string{"all"}},
		{&core, "endpoints", "Endpoints", "", "", true, main, []string{"ep"}, nil},
		{&core, "namespaces", "Namespace", "", "", false, main, []string{"ns"}, nil},
		{&core, "events", "Event", "", "", true, main, []string{"ev"}, nil},
		{&apps, "deployments", "Deployment", "", "", true, main, []string{"deploy"}, []string{"all"}},
		{&apps, "replicasets", "ReplicaSet", "", "", true, main, []string{"rs"}, []string{"all"}},
		{&core, "pods/status", "Pod", "", "", true, []string{"get", "patch", "update"}, nil, nil},
		{&core, "pods/log", "Pod", "", "", true, []string{"get"}, nil, nil},
		{&core, "pods/binding", "Binding", "", "", true, []string{"create"}, nil, nil},
		{&core, "pods/eviction", "Eviction", "policy", "v1", true, []string{"create"}, nil, nil},
		{&core, "nodes/status", "Node", "", "", false, []string{"get", "patch", "update"}, nil, nil},
		{&apps, "deployments/scale", "Scale", "autoscaling", "v1", true, []string{"get", "patch", "update"}, nil, nil},
		{&apps, "replicasets/scale", "Scale", "autoscaling", "v1", true, []string{"get", "patch", "update"}, nil, nil},
		{&apps, "deployments/status", "Deployment", "", "", true, []string{"get", "patch", "update"}, nil, nil},
	}
	for _, c := range cases {
		r := findResource(c.list, c.name)
		if r == nil {
			t.Errorf("%s missing from %s", c.name, c.list.GroupVersion)
			continue
		}
		got := want{c.list, r.Name, r.Kind, r.Group, r.Version, r.Namespaced, r.Verbs, r.ShortNames, r.Categories}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("%s = %+v\nwant %+v", c.name, r, c)
		}
	}
	names := make([]string, len(core.APIResources))
	for i, r := range core.APIResources {
		names[i] = r.Name
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("/api/v1 resources not sorted: %v", names)
	}

	var groups metav1.APIGroupList
	decode(t, get(t, h, "/apis", "application/json"), &groups)
	var gnames []string
	for _, g := range groups.Groups {
		gnames = append(gnames, g.Name)
		if g.PreferredVersion.Version != "v1" || len(g.Versions) != 1 {
			t.Errorf("group %+v", g)
		}
	}
	if strings.Join(gnames, ",") != "apps,coordination.k8s.io,scheduling.k8s.io" {
		t.Errorf("/apis groups = %v", gnames)
	}
	var apiVersions metav1.APIVersions
	decode(t, get(t, h, "/api", ""), &apiVersions)
	if !reflect.DeepEqual(apiVersions.Versions, []string{"v1"}) || apiVersions.Kind != "APIVersions" {
		t.Errorf("/api = %+v", apiVersions)
	}
	var group metav1.APIGroup
	decode(t, get(t, h, "/apis/apps/", ""), &group)
	if group.Name != "apps" || group.PreferredVersion.GroupVersion != "apps/v1" {
		t.Errorf("/apis/apps = %+v", group)
	}
}

// Every served resource and subresource appears, so a resource added to the
// registry shows up in discovery.
func TestEveryRegistryResourceServed(t *testing.T) {
	h := Handler(Options{})
	for _, r := range api.All {
		path := "/api/v1"
		if r.Group != "" {
			path = "/apis/" + r.Group + "/" + r.Version
		}
		if !Serves(path) {
			t.Errorf("Serves(%q) = false", path)
		}
		var list metav1.APIResourceList
		decode(t, get(t, h, path, ""), &list)
		res := findResource(&list, r.Name)
		if res == nil {
			t.Errorf("%s missing from %s", r.Name, path)
			continue
		}
		if res.Kind != r.Kind || res.SingularName != r.Singular || res.Namespaced != r.Namespaced ||
			!reflect.DeepEqual(res.ShortNames, r.ShortNames) || res.Verbs[2] != "deletecollection" {
			t.Errorf("%s = %+v", r.Name, res)
		}
		for _, sub := range r.Subresources {
			if findResource(&list, r.Name+"/"+sub) == nil {
				t.Errorf("%s/%s missing from %s", r.Name, sub, path)
			}
		}
	}
}

func TestAggregated(t *testing.T) {
	h := Handler(Options{})
	// What kubectl 1.32 sends.
	accept := "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
	for _, path := range []string{"/api", "/apis"} {
		w := get(t, h, path, accept)
		if ct := w.Header().Get("Content-Type"); ct != ContentTypeAggregated {
			t.Fatalf("%s Content-Type = %q", path, ct)
		}
		var list apidiscoveryv2.APIGroupDiscoveryList
		decode(t, w, &list)
		if list.Kind != "APIGroupDiscoveryList" || list.APIVersion != "apidiscovery.k8s.io/v2" {
			t.Errorf("%s: %s %s", path, list.APIVersion, list.Kind)
		}
		for _, g := range list.Items {
			if (g.Name == "") != (path == "/api") {
				t.Errorf("%s lists group %q", path, g.Name)
			}
			for _, v := range g.Versions {
				if v.Freshness != apidiscoveryv2.DiscoveryFreshnessCurrent {
					t.Errorf("%s/%s freshness %q", g.Name, v.Version, v.Freshness)
				}
				for _, r := range v.Resources {
					if r.ResponseKind == nil || r.ResponseKind.Kind == "" || r.Scope == "" || len(r.Verbs) == 0 {
						t.Errorf("%s/%s %s: %+v", g.Name, v.Version, r.Resource, r)
					}
				}
			}
		}
	}
	var core apidiscoveryv2.APIGroupDiscoveryList
	decode(t, get(t, h, "/api", accept), &core)
	var pods *apidiscoveryv2.APIResourceDiscovery
	for i, r := range core.Items[0].Versions[0].Resources {
		if r.Resource == "pods" {
			pods = &core.Items[0].Versions[0].Resources[i]
		}
	}
	if pods == nil {
		t.Fatal("no pods in aggregated /api")
	}
	if pods.Scope != apidiscoveryv2.ScopeNamespace || pods.SingularResource != "pod" ||
		!reflect.DeepEqual(pods.ShortNames, []string{"po"}) || !reflect.DeepEqual(pods.Categories, []string{"all"}) {
		t.Errorf("pods = %+v", pods)
	}
	subs := map[string]metav1.GroupVersionKind{}
	for _, s := range pods.Subresources {
		subs[s.Subresource] = *s.ResponseKind
	}
	wantSubs := map[string]metav1.GroupVersionKind{
		"status":   {Version: "v1", Kind: "Pod"},
		"log":      {Version: "v1", Kind: "Pod"},
		"binding":  {Version: "v1", Kind: "Binding"},
		"eviction": {Group: "policy", Version: "v1", Kind: "Eviction"},
	}
	if !reflect.DeepEqual(subs, wantSubs) {
		t.Errorf("pods subresources = %v, want %v", subs, wantSubs)
	}
}

func TestNegotiation(t *testing.T) {
	h := Handler(Options{})
	cases := []struct {
		accept string
		code   int
		ct     string
	}{
		{"", 200, "application/json"},
		{"application/json", 200, "application/json"},
		{"*/*", 200, "application/json"},
		{"application/vnd.kubernetes.protobuf, application/json", 200, "application/json"},
		{ContentTypeAggregated, 200, ContentTypeAggregated},
		{"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=nopeer", 200, ContentTypeAggregated},
		{"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList, application/json", 200, "application/json"},
		{"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList", 406, "application/json"},
		{"text/html", 406, "application/json"},
	}
	for _, c := range cases {
		w := get(t, h, "/apis", c.accept)
		if w.Code != c.code || w.Header().Get("Content-Type") != c.ct {
			t.Errorf("Accept %q: %d %q, want %d %q", c.accept, w.Code, w.Header().Get("Content-Type"), c.code, c.ct)
		}
	}
}

func TestErrors(t *testing.T) {
	h := Handler(Options{})
	for _, c := range []struct {
		method, path string
		code         int
		reason       metav1.StatusReason
	}{
		{"GET", "/apis/nosuch.example.com", 404, metav1.StatusReasonNotFound},
		{"GET", "/apis/apps/v2", 404, metav1.StatusReasonNotFound},
		{"GET", "/openapi/v2", 404, metav1.StatusReasonNotFound},
		{"GET", "/openapi/v3/apis/nosuch/v1", 404, metav1.StatusReasonNotFound},
		{"POST", "/api/v1", 405, metav1.StatusReasonMethodNotAllowed},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		var st metav1.Status
		if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		if w.Code != c.code || st.Kind != "Status" || st.APIVersion != "v1" || st.Reason != c.reason || st.Code != int32(c.code) {
			t.Errorf("%s %s: %d %+v", c.method, c.path, w.Code, st)
		}
	}
}

func TestServes(t *testing.T) {
	for path, want := range map[string]bool{
		"/version": true, "/api": true, "/api/v1": true, "/apis": true, "/apis/apps": true, "/apis/apps/v1": true,
		"/apis/coordination.k8s.io/v1": true, "/openapi/v3": true, "/openapi/v3/api/v1": true, "/openapi/v2": true,
		"/api/v1/pods": false, "/api/v1/namespaces/default/pods": false, "/apis/apps/v1/deployments": false,
		"/apis/nosuch/v1": false, "/healthz": false,
	} {
		if Serves(path) != want {
			t.Errorf("Serves(%q) = %v, want %v", path, !want, want)
		}
	}
}

// client-go's discovery client reads what we serve, aggregated (its default)
// and plain (when a proxy strips the aggregated media type).
func TestClientGoDiscovery(t *testing.T) {
	h := Handler(Options{})
	for _, plain := range []bool{false, true} {
		var mu sync.Mutex // client-go asks for the group versions in parallel
		var hits []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hits = append(hits, r.URL.Path)
			mu.Unlock()
			if plain {
				r.Header.Set("Accept", "application/json")
			}
			h.ServeHTTP(w, r)
		}))
		dc := discovery.NewDiscoveryClientForConfigOrDie(&rest.Config{Host: srv.URL})
		groups, lists, err := dc.ServerGroupsAndResources()
		srv.Close()
		if err != nil {
			t.Fatalf("plain=%v: %v", plain, err)
		}
		if len(groups) != 4 {
			t.Errorf("plain=%v: %d groups", plain, len(groups))
		}
		found := map[string]metav1.APIResource{}
		for _, l := range lists {
			for _, r := range l.APIResources {
				found[l.GroupVersion+" "+r.Name] = r
			}
		}
		ev := found["v1 pods/eviction"]
		if ev.Group != "policy" || ev.Version != "v1" || ev.Kind != "Eviction" {
			t.Errorf("plain=%v: pods/eviction = %+v", plain, ev)
		}
		sc := found["apps/v1 deployments/scale"]
		if sc.Group != "autoscaling" || sc.Version != "v1" || sc.Kind != "Scale" {
			t.Errorf("plain=%v: deployments/scale = %+v", plain, sc)
		}
		if d := found["apps/v1 deployments"]; !reflect.DeepEqual(d.ShortNames, []string{"deploy"}) || !d.Namespaced {
			t.Errorf("plain=%v: deployments = %+v", plain, d)
		}
		perGroup := false
		for _, p := range hits {
			perGroup = perGroup || p == "/apis/apps/v1"
		}
		if perGroup == !plain {
			t.Errorf("plain=%v: requests %v (per-group requests are needed only without aggregated discovery)", plain, hits)
		}
	}
}

func openAPIRoot(t *testing.T) (openapi3.Root, func()) {
	srv := httptest.NewServer(Handler(Options{}))
	dc := discovery.NewDiscoveryClientForConfigOrDie(&rest.Config{Host: srv.URL})
	return openapi3.NewRoot(dc.OpenAPIV3()), srv.Close
}

// Every PATCH operation carries the GVK and the fieldValidation parameter
// kubectl looks for before sending fieldValidation=Strict, and every kind has
// a component schema with its GVK.
func TestOpenAPIForKubectl(t *testing.T) {
	root, done := openAPIRoot(t)
	defer done()
	gvs, err := root.GroupVersions()
	if err != nil {
		t.Fatal(err)
	}
	if len(gvs) != 4 {
		t.Errorf("openapi/v3 group versions = %v", gvs)
	}
	for _, r := range api.All {
		doc, err := root.GVSpec(r.GroupVersion())
		if err != nil {
			t.Fatalf("%s: %v", r.GroupVersion(), err)
		}
		patches := 0
		for path, p := range doc.Paths.Paths {
			if p.Patch == nil {
				continue
			}
			var gvk map[string]string
			if err := p.Patch.Extensions.GetObject(extGVK, &gvk); err != nil || gvk["kind"] == "" {
				t.Errorf("PATCH %s has no GVK (%v)", path, err)
			}
			if gvk["kind"] != r.Kind || gvk["group"] != r.Group {
				continue
			}
			patches++
			hasFV := false
			for _, param := range p.Patch.Parameters {
				hasFV = hasFV || (param.Name == "fieldValidation" && param.In == "query")
			}
			if !hasFV {
				t.Errorf("PATCH %s has no fieldValidation parameter", path)
			}
			if _, ok := p.Patch.RequestBody.Content["application/strategic-merge-patch+json"]; !ok {
				t.Errorf("PATCH %s does not accept strategic merge patches", path)
			}
			if _, ok := p.Patch.RequestBody.Content["application/apply-patch+yaml"]; ok {
				t.Errorf("PATCH %s advertises server-side apply without Options.ApplyPatch", path)
			}
		}
		if patches == 0 {
			t.Errorf("no PATCH operation for %s", r.GVK())
		}
		found := false
		for _, s := range doc.Components.Schemas {
			var gvks []map[string]string
			if s.Extensions.GetObject(extGVK, &gvks) != nil {
				continue
			}
			for _, g := range gvks {
				found = found || (g["kind"] == r.Kind && g["group"] == r.Group && g["version"] == r.Version)
			}
		}
		if !found {
			t.Errorf("no component schema with GVK %s", r.GVK())
		}
	}
}

// kubectl apply computes strategic merge patches from the OpenAPI v3 schemas;
// they must give the same patch as the Go types' struct tags do.
func TestOpenAPIPatchMetaMatchesStructs(t *testing.T) {
	root, done := openAPIRoot(t)
	defer done()
	doc, err := root.GVSpec(schema.GroupVersion{Group: "apps", Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	schemaName := "io.k8s.api.apps.v1.Deployment"
	s := doc.Components.Schemas[schemaName]
	if s == nil {
		t.Fatalf("no %s", schemaName)
	}
	fromOpenAPI := strategicpatch.PatchMetaFromOpenAPIV3{Schema: s, SchemaList: doc.Components.Schemas}
	fromStruct, err := strategicpatch.NewPatchMetaFromStruct(&appsv1.Deployment{})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(containers []corev1.Container, env []corev1.EnvVar, annotations map[string]string) []byte {
		containers[0].Env = env
		d := appsv1.Deployment{TypeMeta: metav1.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
			ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: annotations},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers,
				Tolerations: []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}}}}}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	original := mk([]corev1.Container{{Name: "a", Image: "a:1", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}, {Name: "b", Image: "b:1"}},
		[]corev1.EnvVar{{Name: "X", Value: "1"}, {Name: "Y", Value: "2"}}, map[string]string{"keep": "1", "drop": "2"})
	modified := mk([]corev1.Container{{Name: "a", Image: "a:2", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}},
		[]corev1.EnvVar{{Name: "X", Value: "1"}, {Name: "Z", Value: "3"}}, map[string]string{"keep": "1"})
	current := mk([]corev1.Container{{Name: "a", Image: "a:1", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}, {Name: "b", Image: "b:1"}, {Name: "c", Image: "c:1"}},
		[]corev1.EnvVar{{Name: "X", Value: "1"}, {Name: "Y", Value: "2"}}, map[string]string{"keep": "1", "drop": "2", "other": "3"})

	want, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, fromStruct, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, fromOpenAPI, false)
	if err != nil {
		t.Fatalf("patch from OpenAPI: %v", err)
	}
	if string(got) != string(want) {
		t.Errorf("patch from OpenAPI schemas\n%s\ndiffers from the patch from Go struct tags\n%s", got, want)
	}
	if !strings.Contains(string(want), "$setElementOrder") {
		t.Errorf("test patch %s does not exercise merge keys", want)
	}
}

func TestOpenAPIApplyPatchOption(t *testing.T) {
	h, err := newHandler(Options{ApplyPatch: true}, api.All)
	if err != nil {
		t.Fatal(err)
	}
	body := string(h.openapi.docs["apis/apps/v1"].body)
	if !strings.Contains(body, `"application/apply-patch+yaml"`) {
		t.Error("ApplyPatch: apply-patch+yaml not advertised")
	}
}

func TestOpenAPIHashAndCaching(t *testing.T) {
	h := Handler(Options{})
	var index struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	decode(t, get(t, h, "/openapi/v3", ""), &index)
	url := index.Paths["apis/apps/v1"].ServerRelativeURL
	if !strings.HasPrefix(url, "/openapi/v3/apis/apps/v1?hash=") {
		t.Fatalf("apps/v1 URL %q", url)
	}
	w := get(t, h, url, "application/json")
	if w.Code != 200 || w.Header().Get("Cache-Control") != "public, immutable" {
		t.Errorf("GET %s: %d %v", url, w.Code, w.Header())
	}
	stale := get(t, h, "/openapi/v3/apis/apps/v1?hash=0123", "")
	if stale.Code != http.StatusMovedPermanently || stale.Header().Get("Location") != url {
		t.Errorf("stale hash: %d %v", stale.Code, stale.Header())
	}
	// Documents are deterministic: a second handler hashes them the same.
	var again struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	decode(t, get(t, Handler(Options{}), "/openapi/v3", ""), &again)
	if !reflect.DeepEqual(index, again) {
		t.Errorf("OpenAPI hashes differ between two handlers")
	}
}
