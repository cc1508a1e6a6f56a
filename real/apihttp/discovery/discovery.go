// Package discovery serves the Kubernetes discovery and OpenAPI endpoints of the
// real-mode API server: /version, /api, /apis (plain and aggregated), the
// per-group-version resource lists, /openapi/v3 and its group-version
// documents. Everything is generated from core/api's registry (api.All), so
// adding a resource there updates discovery.
//
// /openapi/v2 answers 404: kubectl 1.32 reads /openapi/v3 first and only falls
// back to v2 when v3 is missing.
package discovery

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	goruntime "runtime"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"

	"github.com/drydock-sim/drydock/core/api"
)

// DefaultGitVersion is reported by /version when Options.GitVersion is empty.
// /usr/bin/kubectl dispatches to the bundled kubectl whose minor version
// matches the server's, so this selects kubectl 1.32.
const DefaultGitVersion = "v1.32.0-drydock"

// ContentTypeAggregated is the media type of aggregated discovery documents
// (apidiscovery.k8s.io/v2 APIGroupDiscoveryList).
const ContentTypeAggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

// Options configures the discovery handler.
type Options struct {
	// GitVersion reported by /version, "v<major>.<minor>.<patch>[-suffix]";
	// default DefaultGitVersion. Major and minor are taken from it.
	GitVersion string
	// GitCommit and BuildDate reported by /version (optional).
	GitCommit string
	BuildDate string
	// OmitDeleteCollection leaves the deletecollection verb (DELETE on a
	// collection) out of discovery and OpenAPI, for a REST layer that does
	// not serve it. real/apihttp serves it, as Kubernetes does.
	OmitDeleteCollection bool
	// ApplyPatch lists application/apply-patch+yaml (server-side apply) among
	// the PATCH content types in OpenAPI; set it when the REST layer serves
	// server-side apply.
	ApplyPatch bool
}

type handler struct {
	opts      Options
	resources []*api.Resource
	version   []byte
	legacy    map[string][]byte // path → plain JSON document
	agg       map[string][]byte // "/api", "/apis" → aggregated document
	openapi   *openAPIDocs
}

// Handler serves GET (and HEAD) /version, /api, /api/v1, /apis, /apis/{group},
// /apis/{group}/{version}, /openapi/v3 and /openapi/v3/{api/v1,apis/{group}/{version}};
// /openapi/v2 and every other path get a 404 Status. Route the paths for
// which Serves is true to it.
//
// Handler panics if the registry declares a subresource Kubernetes does not
// define (a programming error the package tests catch).
func Handler(opts Options) http.Handler {
	h, err := newHandler(opts, api.All)
	if err != nil {
		panic(err)
	}
	return h
}

// Serves reports whether path is one of the discovery or OpenAPI paths
// Handler answers (for the resources in api.All).
func Serves(path string) bool {
	switch {
	case path == "/version" || path == "/api" || path == "/apis" || path == "/openapi/v2" || path == "/openapi/v3":
		return true
	case strings.HasPrefix(path, "/openapi/v3/"):
		return true
	}
	for _, gv := range groupVersions(api.All) {
		if path == gvPath(gv) || (gv.Group != "" && path == "/apis/"+gv.Group) {
			return true
		}
	}
	return false
}

// gvPath is the discovery path of a group version: /api/v1, /apis/apps/v1.
func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "/api/" + gv.Version
	}
	return "/apis/" + gv.Group + "/" + gv.Version
}

func newHandler(opts Options, resources []*api.Resource) (*handler, error) {
	if opts.GitVersion == "" {
		opts.GitVersion = DefaultGitVersion
	}
	major, minor, err := parseGitVersion(opts.GitVersion)
	if err != nil {
		return nil, err
	}
	h := &handler{opts: opts, resources: resources, legacy: map[string][]byte{}, agg: map[string][]byte{}}
	h.version = mustJSON(version.Info{
		Major: major, Minor: minor, GitVersion: opts.GitVersion, GitCommit: opts.GitCommit, BuildDate: opts.BuildDate,
		GoVersion: goruntime.Version(), Compiler: goruntime.Compiler, Platform: goruntime.GOOS + "/" + goruntime.GOARCH,
	})

	gs := groups(resources)
	h.legacy["/apis"] = mustJSON(metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: gs})
	for _, g := range gs {
		h.legacy["/apis/"+g.Name] = mustJSON(g)
	}
	for _, gv := range groupVersions(resources) {
		list, err := h.apiResourceList(gv)
		if err != nil {
			return nil, err
		}
		h.legacy[gvPath(gv)] = mustJSON(list)
	}
	for path, core := range map[string]bool{"/api": true, "/apis": false} {
		doc, err := h.aggregated(core)
		if err != nil {
			return nil, err
		}
		h.agg[path] = mustJSON(doc)
	}
	if h.openapi, err = buildOpenAPI(h); err != nil {
		return nil, err
	}
	return h, nil
}

// parseGitVersion takes major and minor from "v1.32.0-drydock".
func parseGitVersion(v string) (major, minor string, err error) {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if !strings.HasPrefix(v, "v") || len(parts) < 2 || !digits(parts[0]) || !digits(parts[1]) {
		return "", "", fmt.Errorf("discovery: Options.GitVersion %q is not v<major>.<minor>.<patch>", v)
	}
	return parts[0], parts[1], nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func mustJSON(v interface{}) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("discovery: encoding %T: %v", v, err))
	}
	return b
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed,
			fmt.Sprintf("%s is not supported on %s", r.Method, r.URL.Path))
		return
	}
	path := r.URL.Path
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	switch {
	case path == "/version":
		writeJSON(w, "application/json", h.version)
		return
	case path == "/openapi/v3" || strings.HasPrefix(path, "/openapi/v3/"):
		h.serveOpenAPIV3(w, r, path)
		return
	case path == "/api" || path == "/apis":
		w.Header().Add("Vary", "Accept")
		aggregated, ok := negotiateDiscovery(r.Header.Get("Accept"))
		if !ok {
			writeStatus(w, http.StatusNotAcceptable, metav1.StatusReasonNotAcceptable,
				"only the following media types are accepted: application/json, "+ContentTypeAggregated)
			return
		}
		if aggregated {
			writeJSON(w, ContentTypeAggregated, h.agg[path])
			return
		}
		if path == "/api" {
			writeJSON(w, "application/json", mustJSON(metav1.APIVersions{
				TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
				Versions: []string{"v1"},
				ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{
					{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}},
			}))
			return
		}
	}
	if doc, ok := h.legacy[path]; ok {
		writeJSON(w, "application/json", doc)
		return
	}
	writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource")
}

// negotiateDiscovery picks plain or aggregated discovery from an Accept
// header, honouring the client's order; ok is false when neither is
// acceptable. No Accept header means plain JSON.
func negotiateDiscovery(accept string) (aggregated, ok bool) {
	if strings.TrimSpace(accept) == "" {
		return false, true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, has := params["q"]; has && (q == "0" || q == "0.0" || q == "0.00" || q == "0.000") {
			continue
		}
		switch mt {
		case "application/json":
			if params["as"] == "" && params["g"] == "" && params["v"] == "" {
				return false, true
			}
			if params["g"] == apidiscoveryv2.SchemeGroupVersion.Group && params["v"] == "v2" && params["as"] == "APIGroupDiscoveryList" {
				return true, true
			}
		case "*/*", "application/*":
			return false, true
		}
	}
	return false, false
}

func writeJSON(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// writeStatus answers with a Kubernetes Status error.
func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	st := metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status: metav1.StatusFailure, Message: msg, Reason: reason, Code: int32(code)}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(mustJSON(st))
}
