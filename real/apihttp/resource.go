package apihttp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	jsonpatch "github.com/evanphx/json-patch/v5"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/real/apihttp/tables"
	"github.com/drydock-sim/drydock/real/auth"
)

// serveResource dispatches a parsed resource request.
func (h *handler) serveResource(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) {
	var err error
	switch info.verb {
	case "get":
		switch info.sub {
		case "log":
			err = h.serveLog(w, req, info, user)
		case podExecSub:
			err = h.serveExec(w, req, info, user)
		case "scale":
			err = h.getScale(w, req, info, user)
		default:
			err = h.get(w, req, info, user)
		}
	case "list":
		err = h.list(w, req, info, user)
	case "watch":
		err = h.watch(w, req, info, user)
	case "create":
		switch info.sub {
		case "binding":
			err = h.bind(w, req, info, user)
		case "eviction":
			err = h.evict(w, req, info, user)
		case podExecSub:
			err = h.serveExec(w, req, info, user)
		default:
			err = h.create(w, req, info, user)
		}
	case "update":
		if info.sub == "scale" {
			err = h.updateScale(w, req, info, user)
		} else {
			err = h.update(w, req, info, user)
		}
	case "patch":
		if info.sub == "scale" {
			err = h.patchScale(w, req, info, user)
		} else {
			err = h.patch(w, req, info, user)
		}
	case "delete":
		err = h.delete(w, req, info, user)
	case "deletecollection":
		err = h.deleteCollection(w, req, info, user)
	default:
		err = methodNotAllowed(req.Method)
	}
	if err != nil {
		writeError(w, req, err)
	}
}

func (h *handler) get(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) error {
	if err := h.authorize(req.Context(), user, info, "get"); err != nil {
		return err
	}
	out, err := h.negotiate(req, false)
	if err != nil {
		return err
	}
	obj, err := h.cfg.Server.Get(req.Context(), info.r, info.ns, info.name)
	if err != nil {
		return err
	}
	return h.render(w, req, info.r, http.StatusOK, obj, out)
}

// render writes one object as negotiated: itself, a one-row Table or its
// PartialObjectMetadata.
func (h *handler) render(w http.ResponseWriter, req *http.Request, r *api.Resource, code int, obj api.Object, out output) error {
	switch out.as {
	case "Table":
		t, err := h.table(req, r, []api.Object{obj}, out)
		if err != nil {
			return err
		}
		t.ResourceVersion = obj.GetResourceVersion()
		writeObject(w, code, t, out)
	case "PartialObjectMetadata":
		writeObject(w, code, partial(obj, out.asVersion), out)
	default:
		writeObject(w, code, obj, out)
	}
	return nil
}

func partial(obj api.Object, version string) *metav1.PartialObjectMetadata {
	if version == "" {
		version = "v1"
	}
	var m metav1.ObjectMeta
	if a, ok := obj.(metav1.ObjectMetaAccessor); ok {
		m = *a.GetObjectMeta().(*metav1.ObjectMeta)
	}
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: "meta.k8s.io/" + version},
		ObjectMeta: m}
}

// table renders objs through cfg.Table with the request's includeObject.
func (h *handler) table(req *http.Request, r *api.Resource, objs []api.Object, out output) (*metav1.Table, error) {
	io := req.URL.Query().Get("includeObject")
	switch io {
	case "", "None", "Metadata", "Object":
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("includeObject must be one of None, Metadata or Object, got %q", io))
	}
	t, err := h.cfg.Table(r, objs, tables.Options{Wide: true, IncludeObject: io, Now: h.cfg.Now()})
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	t.Kind, t.APIVersion = "Table", "meta.k8s.io/"+out.asVersion
	return t, nil
}

// listOptions reads the list and watch query parameters.
func listOptions(req *http.Request) (metav1.ListOptions, error) {
	q := req.URL.Query()
	opts := metav1.ListOptions{
		LabelSelector:        q.Get("labelSelector"),
		FieldSelector:        q.Get("fieldSelector"),
		ResourceVersion:      q.Get("resourceVersion"),
		ResourceVersionMatch: metav1.ResourceVersionMatch(q.Get("resourceVersionMatch")),
		Continue:             q.Get("continue"),
	}
	var err error
	parseBool := func(name string) *bool {
		v := q.Get(name)
		if v == "" || err != nil {
			return nil
		}
		b, e := strconv.ParseBool(v)
		if e != nil {
			err = apierrors.NewBadRequest(fmt.Sprintf("invalid %s: %q", name, v))
			return nil
		}
		return &b
	}
	if b := parseBool("allowWatchBookmarks"); b != nil {
		opts.AllowWatchBookmarks = *b
	}
	opts.SendInitialEvents = parseBool("sendInitialEvents")
	for _, p := range []struct {
		name string
		dst  **int64
	}{{"timeoutSeconds", &opts.TimeoutSeconds}} {
		if v := q.Get(p.name); v != "" {
			n, e := strconv.ParseInt(v, 10, 64)
			if e != nil {
				return opts, apierrors.NewBadRequest(fmt.Sprintf("invalid %s: %q", p.name, v))
			}
			*p.dst = &n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, e := strconv.ParseInt(v, 10, 64)
		if e != nil {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("invalid limit: %q", v))
		}
		opts.Limit = n
	}
	return opts, err
}

func invalidListOptions(errs field.ErrorList) error {
	return apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "ListOptions"}, "", errs)
}

func (h *handler) list(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) error {
	if err := h.authorize(req.Context(), user, info, "list"); err != nil {
		return err
	}
	opts, err := listOptions(req)
	if err != nil {
		return err
	}
	var errs field.ErrorList
	if opts.ResourceVersionMatch != "" && opts.ResourceVersion == "" {
		errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden unless resourceVersion is provided"))
	}
	if opts.SendInitialEvents != nil {
		errs = append(errs, field.Forbidden(field.NewPath("sendInitialEvents"), "sendInitialEvents is forbidden for list"))
	}
	if len(errs) > 0 {
		return invalidListOptions(errs)
	}
	if opts.Continue != "" {
		// drydock answers lists whole and never hands out continue tokens.
		return apierrors.NewBadRequest("invalid continue token: drydock does not page lists")
	}
	out, err := h.negotiate(req, true)
	if err != nil {
		return err
	}
	objs, rv, err := h.cfg.Server.List(req.Context(), info.r, info.ns, opts)
	if err != nil {
		return err
	}
	if opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact && opts.ResourceVersion != rv {
		// Lists are served from the newest state only.
		return apierrors.NewResourceExpired(fmt.Sprintf("resourceVersion %s: drydock serves lists at the current resourceVersion %s only", opts.ResourceVersion, rv))
	}
	switch out.as {
	case "Table":
		t, err := h.table(req, info.r, objs, out)
		if err != nil {
			return err
		}
		t.ResourceVersion = rv
		writeObject(w, http.StatusOK, t, out)
	case "PartialObjectMetadataList":
		l := &metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{Kind: "PartialObjectMetadataList", APIVersion: "meta.k8s.io/" + out.asVersion},
			ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: make([]metav1.PartialObjectMetadata, len(objs))}
		for i, o := range objs {
			l.Items[i] = *partial(o, out.asVersion)
		}
		writeObject(w, http.StatusOK, l, out)
	default:
		l := &list{TypeMeta: metav1.TypeMeta{Kind: info.r.ListKind, APIVersion: info.r.APIVersion()},
			ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: make([]runtime.Object, len(objs)), r: info.r}
		for i, o := range objs {
			l.Items[i] = withTypeMeta(o)
		}
		writeObject(w, http.StatusOK, l, out)
	}
	return nil
}

func dryRun(req *http.Request) (bool, error) {
	v := req.URL.Query()["dryRun"]
	for _, d := range v {
		if d != metav1.DryRunAll {
			return false, apierrors.NewBadRequest(fmt.Sprintf("dryRun: unsupported value %q, supported values: \"All\"", d))
		}
	}
	return len(v) > 0, nil
}

// decodeFor decodes a create/update body of info's resource, fills in the
// namespace from the path and checks the name. The decode error (if any) is
// returned separately so the request is authorised before it is reported.
func decodeFor(req *http.Request, info *requestInfo, gvk schema.GroupVersionKind, newObj func() runtime.Object, checkName bool) (runtime.Object, []string, error) {
	data, err := readBody(req)
	if err != nil {
		return nil, nil, err
	}
	obj, warnings, err := decodeObject(req, data, gvk, newObj)
	if err != nil {
		return nil, nil, err
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return obj, warnings, nil
	}
	if info.r.Namespaced {
		switch m.GetNamespace() {
		case "":
			m.SetNamespace(info.ns)
		case info.ns:
		default:
			return nil, nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
	}
	if checkName && m.GetName() != info.name {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), info.name))
	}
	return obj, warnings, nil
}

// authorizeObject authorises a create/update request with its decoded body
// (nil when the body did not decode: that error is reported only to callers
// who may make the request).
func (h *handler) authorizeObject(ctx context.Context, user *auth.User, info *requestInfo, obj runtime.Object) error {
	if h.cfg.Authorizer == nil {
		return nil
	}
	a := auth.Attributes{User: user, Verb: info.verb, APIGroup: info.r.Group, Resource: info.r.Name,
		Subresource: info.sub, Namespace: info.ns, Name: info.name, Object: obj}
	if err := h.cfg.Authorizer.Authorize(ctx, a); err != nil {
		// A status error is the authoriser's answer as it stands (Forbidden,
		// or NotFound for a pod a node asked about that does not exist, as
		// Kubernetes answers); anything else is a refusal with a reason.
		if _, ok := err.(apierrors.APIStatus); ok {
			return err
		}
		return apierrors.NewForbidden(info.r.GroupResource(), a.Name, err)
	}
	return nil
}

func (h *handler) create(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) error {
	obj, warnings, derr := decodeFor(req, info, info.r.GVK(), func() runtime.Object { return info.r.New() }, false)
	if err := h.authorizeObject(req.Context(), user, info, obj); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	dry, err := dryRun(req)
	if err != nil {
		return err
	}
	out, err := h.negotiate(req, false)
	if err != nil {
		return err
	}
	opts := metav1.CreateOptions{FieldManager: req.URL.Query().Get("fieldManager")}
	if dry {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	created, err := h.cfg.Server.Create(req.Context(), obj.(api.Object), opts)
	if err != nil {
		return err
	}
	addWarnings(w, warnings)
	return h.render(w, req, info.r, http.StatusCreated, created, out)
}

func (h *handler) update(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) error {
	obj, warnings, derr := decodeFor(req, info, info.r.GVK(), func() runtime.Object { return info.r.New() }, true)
	if err := h.authorizeObject(req.Context(), user, info, obj); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	dry, err := dryRun(req)
	if err != nil {
		return err
	}
	out, err := h.negotiate(req, false)
	if err != nil {
		return err
	}
	ao := obj.(api.Object)
	if err := h.admitNodeUpdate(req.Context(), user, info, ao); err != nil {
		return err
	}
	if err := h.admitNodePodStatus(req.Context(), user, info, ao); err != nil {
		return err
	}
	fieldManager := req.URL.Query().Get("fieldManager")
	uopts := metav1.UpdateOptions{FieldManager: fieldManager}
	copts := metav1.CreateOptions{FieldManager: fieldManager}
	if dry {
		// Checked and answered as the write would be; nothing is stored.
		uopts.DryRun = []string{metav1.DryRunAll}
		copts.DryRun = uopts.DryRun
	}
	updated, err := h.cfg.Server.UpdateWithOptions(req.Context(), ao, info.sub, uopts)
	if apierrors.IsNotFound(err) && info.sub == "" && createOnUpdate[info.r] && ao.GetResourceVersion() == "" {
		// Like Kubernetes' strategies for these types, a PUT of a missing
		// object creates it.
		created, err := h.cfg.Server.Create(req.Context(), ao, copts)
		if err != nil {
			return err
		}
		addWarnings(w, warnings)
		return h.render(w, req, info.r, http.StatusCreated, created, out)
	}
	if err != nil {
		return err
	}
	addWarnings(w, warnings)
	return h.render(w, req, info.r, http.StatusOK, updated, out)
}

// admitNodeUpdate runs NodeRestriction's check of a node's update of its
// own Node against the object the write will replace, and pins that
// object's resourceVersion: the authoriser checked an earlier read, and an
// unconditional write (no resourceVersion) would otherwise overwrite a
// change made since, such as an admin's taint, unchecked. A write that finds
// the Node changed fails with 409 and the node retries.
func (h *handler) admitNodeUpdate(ctx context.Context, user *auth.User, info *requestInfo, obj api.Object) error {
	if _, isNode := auth.NodeIdentity(user); !isNode || h.cfg.Authorizer == nil || info.r != api.Nodes || info.sub != "" {
		return nil
	}
	stored, err := h.cfg.Server.Get(ctx, api.Nodes, "", info.name)
	if err != nil {
		return err
	}
	old, okOld := stored.(*corev1.Node)
	updated, okNew := obj.(*corev1.Node)
	if !okOld || !okNew {
		return apierrors.NewInternalError(fmt.Errorf("node update: unexpected types %T, %T", stored, obj))
	}
	if err := auth.AdmitNodeUpdate(user, "update", "", old, updated); err != nil {
		return err
	}
	switch rv := obj.GetResourceVersion(); rv {
	case "":
		obj.SetResourceVersion(stored.GetResourceVersion())
	case stored.GetResourceVersion():
	default:
		return apierrors.NewConflict(info.r.GroupResource(), info.name,
			fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	return nil
}

// nodePod returns the stored pod a node's write names and checks that it
// is bound to the node (NodeRestriction), for writes the authoriser judged
// on an earlier read; nil, nil when the user is not a node under an
// authoriser.
func (h *handler) nodePod(ctx context.Context, user *auth.User, info *requestInfo, verb string) (*corev1.Pod, error) {
	if _, isNode := auth.NodeIdentity(user); !isNode || h.cfg.Authorizer == nil || info.r != api.Pods {
		return nil, nil
	}
	obj, err := h.cfg.Server.Get(ctx, api.Pods, info.ns, info.name)
	if err != nil {
		return nil, err
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("pod %s: unexpected type %T", info.name, obj))
	}
	if err := auth.AdmitNodePodWrite(user, verb, info.sub, pod); err != nil {
		return nil, err
	}
	return pod, nil
}

// admitNodePodStatus pins a node's pods/status update to the UID of the
// bound pod it was checked against, so that it cannot land on a pod of the
// same name created since on another node.
func (h *handler) admitNodePodStatus(ctx context.Context, user *auth.User, info *requestInfo, obj api.Object) error {
	if info.sub != "status" {
		return nil
	}
	pod, err := h.nodePod(ctx, user, info, "update")
	if err != nil || pod == nil {
		return err
	}
	if obj.GetUID() == "" {
		obj.SetUID(pod.UID) // core's update fails with 409 on another UID
	}
	return nil
}

// createOnUpdate: the resources whose Kubernetes strategy allows creating
// with PUT (AllowCreateOnUpdate).
var createOnUpdate = map[*api.Resource]bool{api.Endpoints: true, api.Events: true, api.Leases: true}

// returnDeletedObject: the resources for which kube-apiserver answers a
// completed delete with the deleted object rather than a Success Status.
var returnDeletedObject = map[*api.Resource]bool{api.Pods: true, api.Services: true}

// patchType checks the request's patch media type.
func patchType(req *http.Request) (types.PatchType, error) {
	pt := types.PatchType(contentType(req))
	switch pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType:
		return pt, nil
	case types.ApplyYAMLPatchType, types.ApplyCBORPatchType:
		return "", apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "PATCH", schema.GroupResource{}, "",
			"server-side apply ("+string(pt)+") is not supported by drydock: use client-side apply (kubectl apply without --server-side)", 0, false)
	}
	return "", unsupportedMediaType(string(pt), string(types.JSONPatchType), string(types.MergePatchType), string(types.StrategicMergePatchType))
}

// applyPatch applies a patch document to a JSON object; dataStruct is the
// Go type strategic merge patches are resolved against.
func applyPatch(pt types.PatchType, orig, patch []byte, dataStruct any) ([]byte, error) {
	switch pt {
	case types.MergePatchType:
		return jsonpatch.MergePatch(orig, patch)
	case types.StrategicMergePatchType:
		return strategicpatch.StrategicMergePatch(orig, patch, dataStruct)
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, err
		}
		return p.Apply(orig)
	}
	return nil, fmt.Errorf("unsupported patch type %s", pt)
}

// strictPatchCheck finds unknown or duplicate fields a patch would bring
// into an object (core's Patch drops them silently): under Strict they fail
// the request with 400, under Warn they become warnings.
func strictPatchCheck(fv fieldValidation, cur runtime.Object, pt types.PatchType, patch []byte, newObj func() runtime.Object) ([]string, error) {
	if fv == validationIgnore {
		return nil, nil
	}
	orig, err := json.Marshal(cur)
	if err != nil {
		return nil, nil
	}
	patched, err := applyPatch(pt, orig, patch, newObj())
	if err != nil {
		// The core reports a patch that does not apply.
		return nil, nil
	}
	_, _, err = jsonStrict.Decode(patched, nil, newObj())
	if err == nil || !runtime.IsStrictDecodingError(err) {
		return nil, nil
	}
	if fv == validationStrict {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return strictMessages(err), nil
}

// readPatch authorises a patch request and reads its media type, body and
// fieldValidation.
func (h *handler) readPatch(req *http.Request, info *requestInfo, user *auth.User) (types.PatchType, []byte, fieldValidation, error) {
	if err := h.authorize(req.Context(), user, info, "patch"); err != nil {
		return "", nil, 0, err
	}
	pt, err := patchType(req)
	if err != nil {
		return "", nil, 0, err
	}
	data, err := readBody(req)
	if err != nil {
		return "", nil, 0, err
	}
	fv, err := parseFieldValidation(req)
	if err != nil {
		return "", nil, 0, err
	}
	return pt, data, fv, nil
}

func (h *handler) patch(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) error {
	pt, data, fv, err := h.readPatch(req, info, user)
	if err != nil {
		return err
	}
	dry, err := dryRun(req)
	if err != nil {
		return err
	}
	out, err := h.negotiate(req, false)
	if err != nil {
		return err
	}
	cur, err := h.cfg.Server.Get(req.Context(), info.r, info.ns, info.name)
	if err != nil {
		return err
	}
	warnings, err := strictPatchCheck(fv, withTypeMeta(cur), pt, data, func() runtime.Object { return info.r.New() })
	if err != nil {
		return err
	}
	if data, err = h.admitNodePatch(user, info, cur, pt, data); err != nil {
		return err
	}
	popts := metav1.PatchOptions{FieldManager: req.URL.Query().Get("fieldManager")}
	if dry {
		popts.DryRun = []string{metav1.DryRunAll}
	}
	patched, err := h.cfg.Server.PatchWithOptions(req.Context(), info.r, info.ns, info.name, pt, data, info.sub, popts)
	if err != nil {
		return err
	}
	addWarnings(w, warnings)
	return h.render(w, req, info.r, http.StatusOK, patched, out)
}

// admitNodePatch applies NodeRestriction to a node's patch, which the
// authoriser lets through unseen (AuthorizerConfig.NodePatchesAdmitted,
// pods/status): a patch of its own Node is applied here to the stored Node
// cur and the result checked with auth.AdmitNodeUpdate, a patch of pod
// status needs cur bound to the node. The returned patch is pinned to what
// was checked (the Node's resourceVersion, the pod's UID), so that the
// core's patch of a changed or replaced object fails with 409.
func (h *handler) admitNodePatch(user *auth.User, info *requestInfo, cur api.Object, pt types.PatchType, patch []byte) ([]byte, error) {
	if _, isNode := auth.NodeIdentity(user); !isNode || h.cfg.Authorizer == nil {
		return patch, nil
	}
	switch o := cur.(type) {
	case *corev1.Pod:
		if err := auth.AdmitNodePodWrite(user, "patch", info.sub, o); err != nil {
			return nil, err
		}
		return pinPatchMetadata(info, pt, patch, "uid", string(o.UID))
	case *corev1.Node:
		if info.sub != "" {
			return patch, nil // status writes keep the stored spec and labels
		}
		orig, err := json.Marshal(withTypeMeta(o))
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		out, err := applyPatch(pt, orig, patch, &corev1.Node{})
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the patch could not be applied: %v", err))
		}
		var patched corev1.Node
		if err := json.Unmarshal(out, &patched); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the patched object is invalid: %v", err))
		}
		if err := auth.AdmitNodeUpdate(user, "patch", "", o, &patched); err != nil {
			return nil, err
		}
		return pinPatchMetadata(info, pt, patch, "resourceVersion", o.ResourceVersion)
	}
	return patch, nil
}

// pinPatchMetadata makes a patch set metadata.<field> to value, so that the
// patched object carries it and the core's update fails with 409 if the
// stored object has another (uid, resourceVersion). A merge patch that sets
// the field to something else is a conflict already.
func pinPatchMetadata(info *requestInfo, pt types.PatchType, patch []byte, field, value string) ([]byte, error) {
	if pt == types.JSONPatchType {
		var ops []any
		if err := json.Unmarshal(patch, &ops); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the JSON patch is not a list of operations: %v", err))
		}
		ops = append(ops, map[string]any{"op": "add", "path": "/metadata/" + field, "value": value})
		return json.Marshal(ops)
	}
	var doc map[string]any
	if err := json.Unmarshal(patch, &doc); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the %s patch is not a JSON object: %v", pt, err))
	}
	if doc == nil {
		doc = map[string]any{}
	}
	md, _ := doc["metadata"].(map[string]any)
	if md == nil {
		if v, set := doc["metadata"]; set && v != nil {
			return nil, apierrors.NewBadRequest("the patch's metadata is not an object")
		}
		md = map[string]any{}
		doc["metadata"] = md
	}
	if v, set := md[field]; set && v != value {
		return nil, apierrors.NewConflict(info.r.GroupResource(), info.name, fmt.Errorf("the patch's metadata.%s %v does not match the stored %s", field, v, value))
	}
	md[field] = value
	return json.Marshal(doc)
}

func (h *handler) delete(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) error {
	if err := h.authorize(req.Context(), user, info, "delete"); err != nil {
		return err
	}
	opts, err := decodeDeleteOptions(req)
	if err != nil {
		return err
	}
	out, err := h.negotiate(req, false)
	if err != nil {
		return err
	}
	// A dry run (opts.DryRun, from the query) goes through the same
	// checks, NodeRestriction's included; the server writes nothing.
	if _, err := dryRun(req); err != nil {
		return err
	}
	pod, err := h.nodePod(req.Context(), user, info, "delete")
	if err != nil {
		return err
	}
	if pod != nil && (opts.Preconditions == nil || opts.Preconditions.UID == nil) {
		// Delete the pod that was checked, not one created since under the
		// same name.
		if opts.Preconditions == nil {
			opts.Preconditions = &metav1.Preconditions{}
		}
		opts.Preconditions.UID = &pod.UID
	}
	obj, gone, err := h.cfg.Server.Delete(req.Context(), info.r, info.ns, info.name, opts)
	if err != nil {
		return err
	}
	code := http.StatusOK
	if !gone && opts.OrphanDependents != nil && !*opts.OrphanDependents {
		code = http.StatusAccepted
	}
	if gone && !returnDeletedObject[info.r] {
		// kube-apiserver returns the deleted object only for some types
		// (pods, services); the others get a Success Status naming it.
		writeObject(w, code, successStatus(int32(code), &metav1.StatusDetails{Name: info.name, Group: info.r.Group,
			Kind: info.r.Name, UID: obj.GetUID()}), out)
		return nil
	}
	return h.render(w, req, info.r, code, obj, out)
}

func (h *handler) deleteCollection(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) error {
	if err := h.authorize(req.Context(), user, info, "deletecollection"); err != nil {
		return err
	}
	lopts, err := listOptions(req)
	if err != nil {
		return err
	}
	opts, err := decodeDeleteOptions(req)
	if err != nil {
		return err
	}
	dry := false
	for _, d := range opts.DryRun {
		if d != metav1.DryRunAll {
			return apierrors.NewBadRequest(fmt.Sprintf("dryRun: unsupported value %q, supported values: \"All\"", d))
		}
		dry = true
	}
	objs, rv, err := h.cfg.Server.List(req.Context(), info.r, info.ns, metav1.ListOptions{LabelSelector: lopts.LabelSelector, FieldSelector: lopts.FieldSelector})
	if err != nil {
		return err
	}
	l := &list{TypeMeta: metav1.TypeMeta{Kind: info.r.ListKind, APIVersion: info.r.APIVersion()}, ListMeta: metav1.ListMeta{ResourceVersion: rv}}
	for _, o := range objs {
		if dry {
			// As a dry-run delete of one object: the objects that would
			// be deleted, as they stand; nothing changes.
			l.Items = append(l.Items, withTypeMeta(o))
			continue
		}
		after, _, err := h.cfg.Server.Delete(req.Context(), info.r, o.GetNamespace(), o.GetName(), opts)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		l.Items = append(l.Items, withTypeMeta(after))
	}
	if l.Items == nil {
		l.Items = []runtime.Object{}
	}
	writeObject(w, http.StatusOK, l, output{})
	return nil
}
