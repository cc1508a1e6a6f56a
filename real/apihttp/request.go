package apihttp

import (
	"net/http"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/drydock-sim/drydock/core/api"
)

// requestInfo is what a resource request's path and method say, as
// Kubernetes' RequestInfoFactory derives it.
type requestInfo struct {
	r    *api.Resource
	verb string // get, list, watch, create, update, patch, delete, deletecollection
	ns   string // namespace of the object ("" for all namespaces / cluster scope)
	name string
	sub  string
	// nsPath: the path named a namespace (namespaces/{ns}/...).
	nsPath bool
}

// subresourceVerbs lists the verbs each subresource serves.
var subresourceVerbs = map[string][]string{
	"status":   {"get", "update", "patch"},
	"finalize": {"update"},
	"scale":    {"get", "update", "patch"},
	"binding":  {"create"},
	"eviction": {"create"},
	"log":      {"get"},
	// GET (WebSocket) and POST (SPDY) upgrades, both authorised as create.
	"exec": {"get", "create"},
}

// unservedPodSubresources are Kubernetes pod subresources drydock does not
// serve; asking for them gets a 404 that says so.
var unservedPodSubresources = map[string]bool{"attach": true, "portforward": true, "proxy": true}

// podExecSub: pods/exec is served here although core/api's registry (the
// core's storage) does not list it: it is a connection to a kubelet, not
// stored state.
const podExecSub = "exec"

// parseRequest returns the resource request a path names, nil (and no
// error) for paths that are not resource paths (discovery, OpenAPI, ...), or
// a Status error (404, 405).
func parseRequest(req *http.Request) (*requestInfo, error) {
	parts := splitPath(req.URL.Path)
	if slices.Contains(parts, "") {
		// An empty segment ("namespaces//pods") names nothing; read as
		// namespace "" it would be authorised as all namespaces while the
		// core's writes default it to "default".
		if len(parts) > 0 && (parts[0] == "api" || parts[0] == "apis") {
			return nil, notFoundPath()
		}
	}
	var gv schema.GroupVersion
	var rest []string
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		gv, rest = schema.GroupVersion{Version: parts[1]}, parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		gv, rest = schema.GroupVersion{Group: parts[1], Version: parts[2]}, parts[3:]
	default:
		return nil, nil
	}
	watchPath := false
	if rest[0] == "watch" {
		watchPath, rest = true, rest[1:]
		if len(rest) == 0 {
			return nil, notFoundPath()
		}
	}
	info := &requestInfo{}
	if rest[0] == "namespaces" && len(rest) > 1 {
		info.ns = rest[1]
		if len(rest) > 2 && rest[2] != "status" && rest[2] != "finalize" {
			rest = rest[2:]
			info.nsPath = true
		}
	}
	if len(rest) > 3 {
		return nil, notFoundPath()
	}
	var r *api.Resource
	for _, c := range api.All {
		if c.Group == gv.Group && c.Version == gv.Version && c.Name == rest[0] {
			r = c
		}
	}
	if r == nil {
		return nil, notFoundPath()
	}
	info.r = r
	if len(rest) > 1 {
		info.name = rest[1]
	}
	if len(rest) > 2 {
		info.sub = rest[2]
	}
	if info.nsPath && !r.Namespaced {
		return nil, notFoundPath()
	}
	if r.Namespaced && !info.nsPath {
		info.ns = ""
		if info.name != "" {
			return nil, notFoundPath()
		}
	}
	servedHere := r == api.Pods && info.sub == podExecSub
	if info.sub != "" && !servedHere && (!r.HasSubresource(info.sub) || subresourceVerbs[info.sub] == nil) {
		if r == api.Pods && unservedPodSubresources[info.sub] {
			return nil, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusNotFound,
				Reason: metav1.StatusReasonNotFound, Details: &metav1.StatusDetails{Name: info.name, Kind: "pods"},
				Message: "pods/" + info.sub + " is not served by drydock: attach, port-forward and proxy are not implemented"}}
		}
		return nil, notFoundPath()
	}

	switch req.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case watchPath && info.name != "":
			if info.sub != "" {
				return nil, notFoundPath()
			}
			info.verb = "watch"
		case watchPath:
			info.verb = "watch"
		case info.name == "":
			info.verb = "list"
			if w := req.URL.Query().Get("watch"); w == "true" || w == "1" {
				info.verb = "watch"
			}
		default:
			info.verb = "get"
		}
	case http.MethodPost:
		info.verb = "create"
		if info.name != "" && info.sub == "" {
			return nil, methodNotAllowed(req.Method)
		}
	case http.MethodPut:
		info.verb = "update"
	case http.MethodPatch:
		info.verb = "patch"
	case http.MethodDelete:
		info.verb = "delete"
		if info.name == "" {
			info.verb = "deletecollection"
		}
	default:
		return nil, methodNotAllowed(req.Method)
	}
	if watchPath && info.verb != "watch" {
		return nil, methodNotAllowed(req.Method)
	}
	needsName := info.verb == "get" || info.verb == "update" || info.verb == "patch" || info.verb == "delete"
	if needsName && info.name == "" {
		return nil, methodNotAllowed(req.Method)
	}
	if (info.verb == "create" || info.verb == "deletecollection") && r.Namespaced && !info.nsPath {
		return nil, methodNotAllowed(req.Method)
	}
	if info.sub != "" {
		ok := false
		for _, v := range subresourceVerbs[info.sub] {
			ok = ok || v == info.verb
		}
		if !ok {
			return nil, methodNotAllowed(req.Method)
		}
	}
	return info, nil
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// notFoundPath is kube-apiserver's answer for a path nothing serves.
func notFoundPath() error {
	return apierrors.NewGenericServerResponse(http.StatusNotFound, "", schema.GroupResource{}, "", "", 0, false)
}

// methodNotAllowed is kube-apiserver's answer for a method a path does not
// serve.
func methodNotAllowed(method string) error {
	return apierrors.NewGenericServerResponse(http.StatusMethodNotAllowed, method, schema.GroupResource{}, "", "", 0, false)
}
