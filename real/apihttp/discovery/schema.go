package discovery

import (
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// OpenAPI extension names Kubernetes uses.
const (
	extGVK           = "x-kubernetes-group-version-kind"
	extAction        = "x-kubernetes-action"
	extPatchStrategy = "x-kubernetes-patch-strategy"
	extPatchMergeKey = "x-kubernetes-patch-merge-key"
	extPreserve      = "x-kubernetes-preserve-unknown-fields"
)

// schemaBuilder derives OpenAPI v3 component schemas from the Go types of
// k8s.io/api, named as Kubernetes names them (io.k8s.api.core.v1.Pod), with
// descriptions from the types' SwaggerDoc methods and the strategic merge
// patch metadata from their patchStrategy/patchMergeKey struct tags, which
// is what kubectl apply reads to compute patches.
type schemaBuilder struct {
	schemas map[string]*spec.Schema
	// gvks: extra x-kubernetes-group-version-kind entries by schema name.
	gvks map[string][]schema.GroupVersionKind
}

func newSchemaBuilder() *schemaBuilder {
	return &schemaBuilder{schemas: map[string]*spec.Schema{}, gvks: map[string][]schema.GroupVersionKind{}}
}

var (
	timeType        = reflect.TypeOf(metav1.Time{})
	microTimeType   = reflect.TypeOf(metav1.MicroTime{})
	durationType    = reflect.TypeOf(metav1.Duration{})
	quantityType    = reflect.TypeOf(resource.Quantity{})
	intOrStringType = reflect.TypeOf(intstr.IntOrString{})
	rawExtType      = reflect.TypeOf(runtime.RawExtension{})
	fieldsV1Type    = reflect.TypeOf(metav1.FieldsV1{})
	byteSliceType   = reflect.TypeOf([]byte(nil))
)

// schemaName is Kubernetes' OpenAPI name of a Go type: the package path with
// its domain reversed, then the type name.
func schemaName(t reflect.Type) string {
	pkg := t.PkgPath()
	domain, rest, _ := strings.Cut(pkg, "/")
	parts := strings.Split(domain, ".")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	name := strings.Join(parts, ".")
	if rest != "" {
		name += "." + strings.ReplaceAll(rest, "/", ".")
	}
	return name + "." + t.Name()
}

func refTo(name string) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef("#/components/schemas/" + name)}}
}

func typed(typ, format string) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{typ}, Format: format}}
}

// swaggerDoc returns a type's field descriptions ("" is the type's own).
func swaggerDoc(t reflect.Type) map[string]string {
	m := reflect.New(t).Elem().MethodByName("SwaggerDoc")
	if !m.IsValid() || m.Type().NumIn() != 0 || m.Type().NumOut() != 1 {
		return nil
	}
	doc, _ := m.Call(nil)[0].Interface().(map[string]string)
	return doc
}

// component defines (once) the component schema of a named struct or special
// type and returns its name.
func (b *schemaBuilder) component(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := schemaName(t)
	if _, ok := b.schemas[name]; ok {
		return name
	}
	s := &spec.Schema{}
	b.schemas[name] = s // before recursing: types may refer to themselves
	doc := swaggerDoc(t)
	switch t {
	case timeType, microTimeType:
		*s = typed("string", "date-time")
	case durationType:
		*s = typed("string", "")
	case quantityType:
		*s = spec.Schema{SchemaProps: spec.SchemaProps{OneOf: []spec.Schema{typed("string", ""), typed("number", "")}}}
		s.Description = "Quantity is a fixed-point representation of a number, in the serialization format of resource.Quantity (\"100m\", \"1Gi\")."
	case intOrStringType:
		// As Kubernetes publishes it in OpenAPI v3: no type, one of two.
		*s = spec.Schema{SchemaProps: spec.SchemaProps{Format: "int-or-string",
			OneOf: []spec.Schema{typed("integer", ""), typed("string", "")}}}
		s.Description = "IntOrString is a type that can hold an int32 or a string."
	case rawExtType, fieldsV1Type:
		*s = typed("object", "")
	default:
		*s = typed("object", "")
		s.Properties = map[string]spec.Schema{}
		b.addFields(s, t, doc)
	}
	if d := doc[""]; d != "" && s.Description == "" {
		s.Description = d
	}
	return name
}

// addFields adds t's JSON fields to s, flattening inlined embedded structs.
func (b *schemaBuilder) addFields(s *spec.Schema, t reflect.Type, doc map[string]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			et := f.Type
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				b.addFields(s, et, swaggerDoc(et))
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := b.property(f.Type)
		if d := doc[name]; d != "" {
			p.Description = d
		}
		if ps := f.Tag.Get("patchStrategy"); ps != "" {
			p.AddExtension(extPatchStrategy, ps)
		}
		if mk := f.Tag.Get("patchMergeKey"); mk != "" {
			p.AddExtension(extPatchMergeKey, mk)
		}
		s.Properties[name] = p
	}
}

// property is the schema of a field of type t: a primitive, an array, a map
// or a reference (wrapped in allOf, as Kubernetes does, so that it can carry
// a description).
func (b *schemaBuilder) property(t reflect.Type) spec.Schema {
	s := b.inline(t)
	if s.Ref.String() != "" {
		return spec.Schema{SchemaProps: spec.SchemaProps{AllOf: []spec.Schema{s}}}
	}
	return s
}

// inline is the schema of a value of type t as it appears in a property,
// an array item or a map value.
func (b *schemaBuilder) inline(t reflect.Type) spec.Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == byteSliceType {
		return typed("string", "byte")
	}
	switch t.Kind() {
	case reflect.Struct:
		return refTo(b.component(t))
	case reflect.String:
		return typed("string", "")
	case reflect.Bool:
		return typed("boolean", "")
	case reflect.Int32, reflect.Int16, reflect.Int8, reflect.Uint16, reflect.Uint8:
		return typed("integer", "int32")
	case reflect.Int, reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Uint:
		return typed("integer", "int64")
	case reflect.Float32, reflect.Float64:
		return typed("number", "double")
	case reflect.Slice, reflect.Array:
		item := b.inline(t.Elem())
		s := typed("array", "")
		s.Items = &spec.SchemaOrArray{Schema: &item}
		return s
	case reflect.Map:
		v := b.inline(t.Elem())
		s := typed("object", "")
		s.AdditionalProperties = &spec.SchemaOrBool{Allows: true, Schema: &v}
		return s
	case reflect.Interface:
		s := spec.Schema{}
		s.AddExtension(extPreserve, true)
		return s
	}
	panic(fmt.Sprintf("discovery: no OpenAPI schema for Go type %s", t))
}

// kind registers t as the Go type of gvk: its component carries the
// x-kubernetes-group-version-kind extension kubectl looks kinds up by.
func (b *schemaBuilder) kind(t reflect.Type, gvk schema.GroupVersionKind) string {
	name := b.component(t)
	for _, g := range b.gvks[name] {
		if g == gvk {
			return name
		}
	}
	b.gvks[name] = append(b.gvks[name], gvk)
	list := make([]interface{}, 0, len(b.gvks[name]))
	for _, g := range b.gvks[name] {
		list = append(list, map[string]interface{}{"group": g.Group, "version": g.Version, "kind": g.Kind})
	}
	b.schemas[name].AddExtension(extGVK, list)
	return name
}
