package apihttp

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	policyv1 "k8s.io/api/policy/v1"
	policyv1beta1 "k8s.io/api/policy/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/drydock-sim/drydock/core/api"
)

// Media types.
const (
	mediaJSON     = "application/json"
	mediaYAML     = "application/yaml"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

// maxBodyBytes is kube-apiserver's request body limit (3 MiB).
const maxBodyBytes = 3 << 20

var (
	jsonStrict = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, kjson.SerializerOptions{Strict: true})
	yamlStrict = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, kjson.SerializerOptions{Yaml: true, Strict: true})
	protoSer   = protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
)

// fieldValidation is the fieldValidation query parameter.
type fieldValidation int

const (
	validationIgnore fieldValidation = iota
	validationWarn
	validationStrict
)

func parseFieldValidation(req *http.Request) (fieldValidation, error) {
	switch v := req.URL.Query().Get("fieldValidation"); v {
	case "", "Warn":
		// kube-apiserver's default since 1.27.
		return validationWarn, nil
	case "Ignore":
		return validationIgnore, nil
	case "Strict":
		return validationStrict, nil
	default:
		return 0, apierrors.NewBadRequest(fmt.Sprintf("fieldValidation must be one of Ignore, Warn or Strict, got %q", v))
	}
}

// readBody reads a request body up to kube-apiserver's limit.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, maxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest("reading the request body: " + err.Error())
	}
	if len(data) > maxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", maxBodyBytes))
	}
	return data, nil
}

// contentType is the media type of the request body (JSON when unset).
func contentType(req *http.Request) string {
	ct := req.Header.Get("Content-Type")
	if ct == "" {
		return mediaJSON
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mt
}

func unsupportedMediaType(ct string, accepted ...string) error {
	return apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", schema.GroupResource{}, "",
		fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s", strings.Join(accepted, ", ")), 0, false)
}

// decodeObject decodes a request body of the given kind (JSON, YAML or
// protobuf, as client-go's UniversalDeserializer) into a new object from
// newObj. Unknown and duplicate fields fail the request with 400 under
// Strict validation and come back as warnings under Warn, as in Kubernetes;
// protobuf bodies are not field-validated (neither are they there).
func decodeObject(req *http.Request, data []byte, gvk schema.GroupVersionKind, newObj func() runtime.Object) (runtime.Object, []string, error) {
	fv, err := parseFieldValidation(req)
	if err != nil {
		return nil, nil, err
	}
	if len(data) == 0 {
		return nil, nil, apierrors.NewBadRequest("the request body is empty")
	}
	into := newObj()
	cannot := func(err error) error {
		return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvk.Kind, gvk.Version, gvk.Kind, err))
	}
	var out runtime.Object
	var warnings []string
	switch ct := contentType(req); ct {
	case mediaJSON, mediaYAML, "application/merge-patch+json", "text/yaml":
		ser := jsonStrict
		if ct == mediaYAML || ct == "text/yaml" {
			ser = yamlStrict
		}
		obj, _, err := ser.Decode(data, nil, into)
		if err != nil {
			if !runtime.IsStrictDecodingError(err) || obj == nil {
				return nil, nil, cannot(err)
			}
			switch fv {
			case validationStrict:
				return nil, nil, cannot(err)
			case validationWarn:
				warnings = strictMessages(err)
			}
		}
		out = obj
	case mediaProtobuf:
		obj, _, err := protoSer.Decode(data, nil, into)
		if err != nil {
			return nil, nil, cannot(err)
		}
		out = obj
	default:
		return nil, nil, unsupportedMediaType(ct, mediaJSON, mediaYAML, mediaProtobuf)
	}
	if e, ok := out.(*policyv1beta1.Eviction); ok {
		if _, want := into.(*policyv1.Eviction); want {
			// pods/eviction accepts both versions, as Kubernetes does.
			out = &policyv1.Eviction{TypeMeta: metav1.TypeMeta{Kind: "Eviction", APIVersion: "policy/v1"},
				ObjectMeta: e.ObjectMeta, DeleteOptions: e.DeleteOptions}
		}
	}
	if reflect.TypeOf(out) != reflect.TypeOf(into) {
		got := out.GetObjectKind().GroupVersionKind()
		if got.GroupVersion() != gvk.GroupVersion() {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)",
				got.GroupVersion().String(), gvk.GroupVersion().String()))
		}
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", got.Kind, gvk.Kind))
	}
	return out, warnings, nil
}

// decodeDeleteOptions decodes an optional DeleteOptions body and the query
// parameters that override it (gracePeriodSeconds, propagationPolicy,
// orphanDependents, dryRun).
func decodeDeleteOptions(req *http.Request) (metav1.DeleteOptions, error) {
	var opts metav1.DeleteOptions
	data, err := readBody(req)
	if err != nil {
		return opts, err
	}
	if len(strings.TrimSpace(string(data))) > 0 {
		switch ct := contentType(req); ct {
		case mediaJSON:
			err = json.Unmarshal(data, &opts)
		case mediaYAML:
			err = yaml.Unmarshal(data, &opts)
		case mediaProtobuf:
			_, _, err = protoSer.Decode(data, nil, &opts)
		default:
			return opts, unsupportedMediaType(ct, mediaJSON, mediaYAML, mediaProtobuf)
		}
		if err != nil {
			return opts, apierrors.NewBadRequest("DeleteOptions in version \"v1\" cannot be handled as a DeleteOptions: " + err.Error())
		}
	}
	q := req.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" {
		g, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return opts, apierrors.NewBadRequest("invalid gracePeriodSeconds: " + v)
		}
		opts.GracePeriodSeconds = &g
	}
	if v := q.Get("propagationPolicy"); v != "" {
		p := metav1.DeletionPropagation(v)
		opts.PropagationPolicy = &p
	}
	if v := q.Get("orphanDependents"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return opts, apierrors.NewBadRequest("invalid orphanDependents: " + v)
		}
		opts.OrphanDependents = &b
	}
	if v := q["dryRun"]; len(v) > 0 {
		opts.DryRun = v
	}
	if opts.OrphanDependents != nil && opts.PropagationPolicy != nil {
		return opts, apierrors.NewInvalid(schema.GroupKind{Kind: "DeleteOptions"}, "", field.ErrorList{
			field.Invalid(field.NewPath("propagationPolicy"), *opts.PropagationPolicy, "orphanDependents and deletionPropagation cannot be both set")})
	}
	return opts, nil
}

// ---- responses ----

// output says how a response is rendered.
type output struct {
	yaml bool
	// proto: protobuf, for objects, lists and watch streams of the served
	// resources (Status, Scale, Table and PartialObjectMetadata are
	// answered in JSON, which client-go decodes by the Content-Type).
	proto bool
	// as: "" (the object or list), "Table", "PartialObjectMetadata" or
	// "PartialObjectMetadataList".
	as string
	// asVersion: the meta.k8s.io version asked for with as (v1 or v1beta1).
	asVersion string
	// gzip: the client accepts gzip; large bodies are compressed, as
	// kube-apiserver's APIResponseCompression does.
	gzip bool
}

// gzipThreshold is the body size from which responses are compressed
// (kube-apiserver's 128 KiB).
const gzipThreshold = 128 << 10

func acceptsGzip(req *http.Request) bool {
	for _, enc := range strings.Split(req.Header.Get("Accept-Encoding"), ",") {
		if e, _, _ := strings.Cut(strings.TrimSpace(enc), ";"); e == "gzip" {
			return true
		}
	}
	return false
}

// negotiate picks the response rendering from the Accept header, in the
// client's order of preference. list: the request returns a list.
func (h *handler) negotiate(req *http.Request, list bool) (output, error) {
	out, err := h.negotiateType(req, list)
	out.gzip = acceptsGzip(req)
	return out, err
}

func (h *handler) negotiateType(req *http.Request, list bool) (output, error) {
	accept := req.Header.Get("Accept")
	if strings.TrimSpace(accept) == "" {
		return output{}, nil
	}
	for _, clause := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(clause))
		if err != nil {
			continue
		}
		yml := mt == mediaYAML
		switch mt {
		case mediaJSON, mediaYAML, mediaProtobuf, "*/*", "application/*":
		default:
			continue
		}
		as := params["as"]
		if as == "" {
			return output{yaml: yml, proto: mt == mediaProtobuf}, nil
		}
		if params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
			continue
		}
		switch {
		case as == "Table" && h.cfg.Table != nil:
			return output{yaml: yml, as: as, asVersion: params["v"]}, nil
		case as == "PartialObjectMetadata" && !list, as == "PartialObjectMetadataList" && list:
			return output{yaml: yml, as: as, asVersion: params["v"]}, nil
		}
	}
	return output{}, apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "", schema.GroupResource{}, "",
		"only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf", 0, false)
}

// withTypeMeta returns obj with kind and apiVersion set, copying it if the
// (shared) object lacks them.
func withTypeMeta(obj runtime.Object) runtime.Object {
	if obj == nil || !obj.GetObjectKind().GroupVersionKind().Empty() {
		return obj
	}
	if r, err := api.For(obj); err == nil {
		c := obj.DeepCopyObject()
		c.GetObjectKind().SetGroupVersionKind(r.GVK())
		return c
	}
	return obj
}

// list is a Kubernetes list (PodList, ...) of shared objects.
type list struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []runtime.Object `json:"items"`
	r               *api.Resource
}

// typed returns the list as its Go list type (PodList, ...), for protobuf.
func (l *list) typed() (runtime.Object, error) {
	tl := l.r.NewList()
	if err := meta.SetList(tl, l.Items); err != nil {
		return nil, err
	}
	la, err := meta.ListAccessor(tl)
	if err != nil {
		return nil, err
	}
	la.SetResourceVersion(l.ResourceVersion)
	tl.GetObjectKind().SetGroupVersionKind(l.r.GroupVersion().WithKind(l.r.ListKind))
	return tl, nil
}

// protobufBody encodes an object or list of a served resource as protobuf;
// ok is false for anything else.
func protobufBody(v any) ([]byte, bool) {
	var obj runtime.Object
	switch o := v.(type) {
	case *list:
		if o.r == nil {
			return nil, false
		}
		t, err := o.typed()
		if err != nil {
			return nil, false
		}
		obj = t
	case api.Object:
		if _, err := api.For(o); err != nil {
			return nil, false
		}
		obj = withTypeMeta(o)
	default:
		return nil, false
	}
	var buf bytes.Buffer
	if err := protoSer.Encode(obj, &buf); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// writeObject writes v (an object, list, Status or Table) with code.
func writeObject(w http.ResponseWriter, code int, v any, out output) {
	if out.proto && out.as == "" {
		if data, ok := protobufBody(v); ok {
			writeBody(w, code, mediaProtobuf, data, out.gzip)
			return
		}
	}
	var data []byte
	var err error
	if ro, ok := v.(runtime.Object); ok {
		v = withTypeMeta(ro)
	}
	data, err = json.Marshal(v)
	ct := mediaJSON
	if err == nil && out.yaml {
		data, err = yaml.JSONToYAML(data)
		ct = mediaYAML
	}
	if err != nil {
		writeError(w, nil, apierrors.NewInternalError(err))
		return
	}
	writeBody(w, code, ct, append(data, '\n'), out.gzip)
}

// writeBody writes a response body, gzipped when allowed and large.
func writeBody(w http.ResponseWriter, code int, ct string, data []byte, gz bool) {
	w.Header().Set("Content-Type", ct)
	if gz && len(data) >= gzipThreshold {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(data); err == nil && zw.Close() == nil {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Add("Vary", "Accept-Encoding")
			data = buf.Bytes()
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(code)
	_, _ = w.Write(data)
}

// statusOf turns any error into a Kubernetes Status with kind and apiVersion
// set (apimachinery's Status() leaves them empty).
func statusOf(err error) *metav1.Status {
	var st metav1.Status
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st = se.Status()
	} else {
		st = apierrors.NewInternalError(err).Status()
	}
	st.Kind, st.APIVersion = "Status", "v1"
	if st.Status == "" {
		st.Status = metav1.StatusFailure
	}
	if st.Code == 0 {
		st.Code = http.StatusInternalServerError
	}
	return &st
}

// writeError writes err as a Status (JSON) with its code.
func writeError(w http.ResponseWriter, _ *http.Request, err error) {
	st := statusOf(err)
	data, _ := json.Marshal(st)
	w.Header().Set("Content-Type", mediaJSON)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(int(st.Code))
	_, _ = w.Write(append(data, '\n'))
}

// successStatus is the Status kube-apiserver answers for requests whose
// result is not an object (binding, eviction, deletes of most types).
func successStatus(code int32, details *metav1.StatusDetails) *metav1.Status {
	return &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess,
		Code: code, Details: details}
}

// addWarnings adds RFC 7234 Warning headers (code 299), as kube-apiserver
// reports unknown fields under fieldValidation=Warn.
func addWarnings(w http.ResponseWriter, warnings []string) {
	for _, m := range warnings {
		w.Header().Add("Warning", `299 - "`+strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(m)+`"`)
	}
}

// strictMessages lists the unknown and duplicate fields of a strict
// decoding error, one message each (kube-apiserver's warnings).
func strictMessages(err error) []string {
	sde, ok := runtime.AsStrictDecodingError(err)
	if !ok {
		return nil
	}
	var out []string
	for _, e := range sde.Errors() {
		out = append(out, e.Error())
	}
	return out
}
