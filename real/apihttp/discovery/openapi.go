package discovery

import (
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// subresourceTypes are the Go types of the kinds subresources answer with
// when they are not the parent's kind.
var subresourceTypes = map[schema.GroupVersionKind]reflect.Type{
	{Group: "autoscaling", Version: "v1", Kind: "Scale"}: reflect.TypeOf(autoscalingv1.Scale{}),
	{Group: "policy", Version: "v1", Kind: "Eviction"}:   reflect.TypeOf(policyv1.Eviction{}),
	{Version: "v1", Kind: "Binding"}:                     reflect.TypeOf(corev1.Binding{}),
	{Version: "v1", Kind: "PodExecOptions"}:              reflect.TypeOf(corev1.PodExecOptions{}),
	{Version: "v1", Kind: "PodAttachOptions"}:            reflect.TypeOf(corev1.PodAttachOptions{}),
	{Version: "v1", Kind: "PodPortForwardOptions"}:       reflect.TypeOf(corev1.PodPortForwardOptions{}),
	{Version: "v1", Kind: "PodProxyOptions"}:             reflect.TypeOf(corev1.PodProxyOptions{}),
	{Version: "v1", Kind: "NodeProxyOptions"}:            reflect.TypeOf(corev1.NodeProxyOptions{}),
	{Version: "v1", Kind: "ServiceProxyOptions"}:         reflect.TypeOf(corev1.ServiceProxyOptions{}),
}

// openAPIDocs holds the encoded OpenAPI v3 documents.
type openAPIDocs struct {
	index []byte
	docs  map[string]openAPIDoc // "api/v1", "apis/apps/v1" → document
}

type openAPIDoc struct {
	body []byte
	hash string
}

// gvKey is a group version's key in the /openapi/v3 index: api/v1, apis/apps/v1.
func gvKey(gv schema.GroupVersion) string { return strings.TrimPrefix(gvPath(gv), "/") }

func buildOpenAPI(h *handler) (*openAPIDocs, error) {
	out := &openAPIDocs{docs: map[string]openAPIDoc{}}
	type entry struct {
		ServerRelativeURL string `json:"serverRelativeURL"`
	}
	index := struct {
		Paths map[string]entry `json:"paths"`
	}{Paths: map[string]entry{}}
	for _, gv := range groupVersions(h.resources) {
		doc, err := h.groupVersionDoc(gv)
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("discovery: encoding OpenAPI for %s: %w", gv, err)
		}
		sum := sha512.Sum512(body)
		d := openAPIDoc{body: body, hash: fmt.Sprintf("%X", sum[:])}
		key := gvKey(gv)
		out.docs[key] = d
		index.Paths[key] = entry{ServerRelativeURL: "/openapi/v3/" + key + "?hash=" + d.hash}
	}
	out.index = mustJSON(index)
	return out, nil
}

func (h *handler) serveOpenAPIV3(w http.ResponseWriter, r *http.Request, path string) {
	if path == "/openapi/v3" {
		w.Header().Set("Cache-Control", "no-cache, private")
		writeJSON(w, "application/json", h.openapi.index)
		return
	}
	key := strings.TrimPrefix(path, "/openapi/v3/")
	d, ok := h.openapi.docs[key]
	if !ok {
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource")
		return
	}
	etag := `"` + d.hash + `"`
	w.Header().Set("Etag", etag)
	switch hash := r.URL.Query().Get("hash"); {
	case hash == d.hash:
		w.Header().Set("Cache-Control", "public, immutable")
	case hash != "":
		// A stale hash: send the client to the current document.
		w.Header().Set("Location", "/openapi/v3/"+key+"?hash="+d.hash)
		w.Header().Set("Cache-Control", "no-cache, private")
		w.WriteHeader(http.StatusMovedPermanently)
		return
	default:
		w.Header().Set("Cache-Control", "no-cache, private")
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, "application/json", d.body)
}

// ---- documents ----

// groupPart is the group's part of Kubernetes operation IDs: Core, Apps,
// Coordination (for coordination.k8s.io), Scheduling.
func groupPart(group string) string {
	if group == "" {
		return "Core"
	}
	g := strings.TrimSuffix(strings.TrimSuffix(group, ".k8s.io"), ".authorization")
	var b strings.Builder
	for _, p := range strings.FieldsFunc(g, func(r rune) bool { return r == '.' || r == '-' }) {
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func queryParam(name, typ, desc string) *spec3.Parameter {
	s := typed(typ, "")
	return &spec3.Parameter{ParameterProps: spec3.ParameterProps{Name: name, In: "query", Description: desc, Schema: &s}}
}

func pathParam(name, desc string) *spec3.Parameter {
	s := typed("string", "")
	return &spec3.Parameter{ParameterProps: spec3.ParameterProps{Name: name, In: "path", Description: desc, Required: true, Schema: &s}}
}

var (
	paramPretty          = queryParam("pretty", "string", "Indent the JSON answer (\"true\").")
	paramDryRun          = queryParam("dryRun", "string", "\"All\": check the request and answer as if it ran, storing nothing.")
	paramFieldManager    = queryParam("fieldManager", "string", "Name of the client making the change.")
	paramFieldValidation = queryParam("fieldValidation", "string", "What to do with unknown or repeated fields in the body: Ignore, Warn or Strict.")
	paramForce           = queryParam("force", "boolean", "Take over conflicting fields in a server-side apply; only for apply patches.")
	paramGrace           = queryParam("gracePeriodSeconds", "integer", "Seconds the object's processes get to stop before it is removed.")
	paramPropagation     = queryParam("propagationPolicy", "string", "What happens to dependents: Orphan, Background or Foreground.")
	listParams           = []*spec3.Parameter{
		queryParam("allowWatchBookmarks", "boolean", "Send BOOKMARK events on a watch."),
		queryParam("continue", "string", "Token from a previous page of a list."),
		queryParam("fieldSelector", "string", "Only objects whose fields match, e.g. spec.nodeName=n1."),
		queryParam("labelSelector", "string", "Only objects whose labels match, e.g. app=web."),
		queryParam("limit", "integer", "Largest number of objects in one page."),
		queryParam("resourceVersion", "string", "Revision the answer must be at least as new as (or start the watch from)."),
		queryParam("resourceVersionMatch", "string", "How resourceVersion applies to a list: NotOlderThan or Exact."),
		queryParam("sendInitialEvents", "boolean", "With watch=true: send the current objects first, then a bookmark."),
		queryParam("timeoutSeconds", "integer", "End the list or watch after this many seconds."),
		queryParam("watch", "boolean", "Stream changes (ADDED, MODIFIED, DELETED) instead of answering a list."),
	}
	logParams = []*spec3.Parameter{
		queryParam("container", "string", "Container whose log to read; may be left out when the pod has one."),
		queryParam("follow", "boolean", "Keep streaming as the container writes."),
		queryParam("limitBytes", "integer", "Stop after this many bytes."),
		queryParam("previous", "boolean", "Read the log of the container's previous, terminated instance."),
		queryParam("sinceSeconds", "integer", "Only lines written in the last this many seconds."),
		queryParam("tailLines", "integer", "Only this many lines from the end."),
		queryParam("timestamps", "boolean", "Start each line with its RFC 3339 time."),
	}
)

// jsonContent is a request or response body of the given component.
func jsonContent(name string) map[string]*spec3.MediaType {
	s := refTo(name)
	return map[string]*spec3.MediaType{
		"application/json": {MediaTypeProps: spec3.MediaTypeProps{Schema: &s}},
		"application/yaml": {MediaTypeProps: spec3.MediaTypeProps{Schema: &s}},
	}
}

func responses(codes map[int]string, content map[string]*spec3.MediaType) *spec3.Responses {
	rs := &spec3.Responses{ResponsesProps: spec3.ResponsesProps{StatusCodeResponses: map[int]*spec3.Response{}}}
	for code, desc := range codes {
		rs.StatusCodeResponses[code] = &spec3.Response{ResponseProps: spec3.ResponseProps{Description: desc, Content: content}}
	}
	rs.StatusCodeResponses[http.StatusUnauthorized] = &spec3.Response{ResponseProps: spec3.ResponseProps{Description: "Unauthorized"}}
	return rs
}

func operation(id, tag, action string, gvk schema.GroupVersionKind, params []*spec3.Parameter) *spec3.Operation {
	op := &spec3.Operation{OperationProps: spec3.OperationProps{OperationId: id, Tags: []string{tag}, Parameters: params}}
	op.AddExtension(extAction, action)
	op.AddExtension(extGVK, map[string]interface{}{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind})
	return op
}

func withParams(base []*spec3.Parameter, more ...*spec3.Parameter) []*spec3.Parameter {
	return append(append([]*spec3.Parameter(nil), base...), more...)
}

// groupVersionDoc is the OpenAPI v3 document of one group version: a path
// per resource, collection and subresource, with Kubernetes' operations,
// and the component schemas of every kind they use.
func (h *handler) groupVersionDoc(gv schema.GroupVersion) (*spec3.OpenAPI, error) {
	b := newSchemaBuilder()
	statusName := b.kind(reflect.TypeOf(metav1.Status{}), schema.GroupVersionKind{Version: "v1", Kind: "Status"})
	deleteOptions := b.kind(reflect.TypeOf(metav1.DeleteOptions{}), gv.WithKind("DeleteOptions"))
	patchName := "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
	b.schemas[patchName] = &spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{"object"},
		Description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body."}}

	prefix := gvPath(gv)
	tag := strings.ToLower(groupPart(gv.Group)) + "_" + gv.Version
	idPart := groupPart(gv.Group) + upperFirst(gv.Version)
	paths := map[string]*spec3.Path{}
	nsParam := pathParam("namespace", "object name and auth scope, such as for teams and projects")

	for _, r := range resourcesIn(h.resources, gv) {
		gvk := r.GVK()
		kindName := b.kind(reflect.TypeOf(r.New()), gvk)
		listName := b.kind(reflect.TypeOf(r.NewList()), gv.WithKind(r.ListKind))
		scope := ""
		collection := prefix + "/" + r.Name
		var scopeParams []*spec3.Parameter
		if r.Namespaced {
			scope = "Namespaced"
			collection = prefix + "/namespaces/{namespace}/" + r.Name
			scopeParams = []*spec3.Parameter{nsParam}
		}
		nameParam := pathParam("name", "name of the "+r.Kind)
		itemParams := withParams(scopeParams, nameParam)
		id := func(verb, sub string) string { return verb + idPart + scope + r.Kind + upperFirst(sub) }
		writeParams := []*spec3.Parameter{paramPretty, paramDryRun, paramFieldManager, paramFieldValidation}

		// collection: list, create [, deletecollection]
		list := operation(id("list", ""), tag, "list", gvk, withParams(scopeParams, append(listParams, paramPretty)...))
		list.Description = "list or watch objects of kind " + r.Kind
		list.Responses = responses(map[int]string{200: "OK"}, jsonContent(listName))
		create := operation(id("create", ""), tag, "post", gvk, withParams(scopeParams, writeParams...))
		create.Description = "create a " + r.Kind
		create.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{Required: true, Content: jsonContent(kindName)}}
		create.Responses = responses(map[int]string{200: "OK", 201: "Created", 202: "Accepted"}, jsonContent(kindName))
		coll := &spec3.Path{PathProps: spec3.PathProps{Get: list, Post: create}}
		if !h.opts.OmitDeleteCollection {
			dc := operation(id("deleteCollection", ""), tag, "deletecollection", gvk,
				withParams(scopeParams, append(listParams, paramPretty, paramDryRun, paramGrace, paramPropagation)...))
			dc.Description = "delete collection of " + r.Kind
			dc.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{Content: jsonContent(deleteOptions)}}
			dc.Responses = responses(map[int]string{200: "OK"}, jsonContent(statusName))
			coll.Delete = dc
		}
		paths[collection] = coll
		if r.Namespaced {
			all := operation("list"+idPart+r.Kind+"ForAllNamespaces", tag, "list", gvk, withParams(listParams, paramPretty))
			all.Description = "list or watch objects of kind " + r.Kind
			all.Responses = responses(map[int]string{200: "OK"}, jsonContent(listName))
			paths[prefix+"/"+r.Name] = &spec3.Path{PathProps: spec3.PathProps{Get: all}}
		}

		// item: read, replace, patch, delete
		item := collection + "/{name}"
		paths[item] = h.itemPath(id, tag, gvk, kindName, statusName, deleteOptions, patchName, "", itemParams, writeParams, true)

		for _, sub := range r.Subresources {
			s, err := subresourceOf(r, sub)
			if err != nil {
				return nil, err
			}
			subKind := kindName
			if s.kind != gvk {
				t, ok := subresourceTypes[s.kind]
				if !ok {
					return nil, fmt.Errorf("discovery: no Go type for %s, the kind of %s/%s", s.kind, r.Name, sub)
				}
				subKind = b.kind(t, s.kind)
			}
			p := &spec3.Path{}
			for _, verb := range s.verbs {
				switch verb {
				case "get":
					if sub == "log" {
						op := operation(id("read", "log"), tag, "get", gvk, withParams(itemParams, append(logParams, paramPretty)...))
						op.Description = "read log of the specified Pod"
						str := typed("string", "")
						op.Responses = responses(map[int]string{200: "OK"}, map[string]*spec3.MediaType{
							"text/plain": {MediaTypeProps: spec3.MediaTypeProps{Schema: &str}}})
						p.Get = op
						continue
					}
					op := operation(id("read", sub), tag, "get", s.kind, withParams(itemParams, paramPretty))
					op.Description = "read " + sub + " of the specified " + r.Kind
					op.Responses = responses(map[int]string{200: "OK"}, jsonContent(subKind))
					p.Get = op
				case "update":
					op := operation(id("replace", sub), tag, "put", s.kind, withParams(itemParams, writeParams...))
					op.Description = "replace " + sub + " of the specified " + r.Kind
					op.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{Required: true, Content: jsonContent(subKind)}}
					op.Responses = responses(map[int]string{200: "OK", 201: "Created"}, jsonContent(subKind))
					p.Put = op
				case "patch":
					p.Patch = patchOperation(id("patch", sub), tag, s.kind, subKind, patchName, itemParams, writeParams, sub, h.opts.ApplyPatch)
				case "create":
					op := operation(id("create", sub), tag, "post", s.kind, withParams(itemParams, writeParams...))
					op.Description = "create " + sub + " of a " + r.Kind
					op.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{Required: true, Content: jsonContent(subKind)}}
					op.Responses = responses(map[int]string{200: "OK", 201: "Created", 202: "Accepted"}, jsonContent(subKind))
					p.Post = op
				}
			}
			paths[item+"/"+sub] = p
		}
	}

	return &spec3.OpenAPI{
		Version:    "3.0.0",
		Info:       &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: h.opts.GitVersion}},
		Paths:      &spec3.Paths{Paths: paths},
		Components: &spec3.Components{Schemas: b.schemas},
	}, nil
}

func patchOperation(id, tag string, gvk schema.GroupVersionKind, kindName, patchName string,
	itemParams, writeParams []*spec3.Parameter, sub string, applyPatch bool) *spec3.Operation {
	op := operation(id, tag, "patch", gvk, withParams(itemParams, append(writeParams, paramForce)...))
	if sub == "" {
		op.Description = "partially update the specified " + gvk.Kind
	} else {
		op.Description = "partially update " + sub + " of the specified " + gvk.Kind
	}
	ps := refTo(patchName)
	content := map[string]*spec3.MediaType{}
	types := []string{"application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"}
	if applyPatch {
		types = append(types, "application/apply-patch+yaml")
	}
	for _, mt := range types {
		content[mt] = &spec3.MediaType{MediaTypeProps: spec3.MediaTypeProps{Schema: &ps}}
	}
	op.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{Required: true, Content: content}}
	op.Responses = responses(map[int]string{200: "OK", 201: "Created"}, jsonContent(kindName))
	return op
}

// itemPath holds the operations on one object: read, replace, patch, delete.
func (h *handler) itemPath(id func(verb, sub string) string, tag string, gvk schema.GroupVersionKind,
	kindName, statusName, deleteOptions, patchName, sub string, itemParams, writeParams []*spec3.Parameter, withDelete bool) *spec3.Path {
	read := operation(id("read", sub), tag, "get", gvk, withParams(itemParams, paramPretty))
	read.Description = "read the specified " + gvk.Kind
	read.Responses = responses(map[int]string{200: "OK"}, jsonContent(kindName))
	replace := operation(id("replace", sub), tag, "put", gvk, withParams(itemParams, writeParams...))
	replace.Description = "replace the specified " + gvk.Kind
	replace.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{Required: true, Content: jsonContent(kindName)}}
	replace.Responses = responses(map[int]string{200: "OK", 201: "Created"}, jsonContent(kindName))
	p := &spec3.Path{PathProps: spec3.PathProps{Get: read, Put: replace,
		Patch: patchOperation(id("patch", sub), tag, gvk, kindName, patchName, itemParams, writeParams, sub, h.opts.ApplyPatch)}}
	if withDelete {
		del := operation(id("delete", sub), tag, "delete", gvk, withParams(itemParams, paramPretty, paramDryRun, paramGrace, paramPropagation))
		del.Description = "delete a " + gvk.Kind
		del.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{Content: jsonContent(deleteOptions)}}
		del.Responses = responses(map[int]string{200: "OK", 202: "Accepted"}, jsonContent(kindName))
		p.Delete = del
	}
	return p
}
