package discovery

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"sigs.k8s.io/randfill"

	"github.com/drydock-sim/drydock/core/api"
)

// resolve follows allOf and $ref the way kubectl's strategic merge patch
// code does.
func resolveSchema(t *testing.T, s *spec.Schema, all map[string]*spec.Schema) *spec.Schema {
	t.Helper()
	for {
		if len(s.AllOf) > 0 {
			s = &s.AllOf[0]
			continue
		}
		if ref := s.Ref.String(); ref != "" {
			next, ok := all[strings.TrimPrefix(ref, "#/components/schemas/")]
			if !ok {
				t.Fatalf("dangling reference %s", ref)
			}
			s = next
			continue
		}
		return s
	}
}

// walk checks that every key of the JSON value v has a schema.
func walk(t *testing.T, path string, v interface{}, s *spec.Schema, all map[string]*spec.Schema, seen map[string]bool) {
	s = resolveSchema(t, s, all)
	switch v := v.(type) {
	case map[string]interface{}:
		if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
			for k, e := range v {
				walk(t, path+"["+k+"]", e, s.AdditionalProperties.Schema, all, seen)
			}
			return
		}
		if len(s.Type) == 1 && s.Type[0] == "object" && len(s.Properties) == 0 {
			return // free-form object (RawExtension, FieldsV1)
		}
		for k, e := range v {
			p, ok := s.Properties[k]
			if !ok {
				t.Errorf("%s.%s: no such property in the OpenAPI schema", path, k)
				continue
			}
			seen[path+"."+k] = true
			walk(t, path+"."+k, e, &p, all, seen)
		}
	case []interface{}:
		if s.Items == nil || s.Items.Schema == nil {
			if len(s.Type) == 1 && s.Type[0] == "string" && s.Format == "byte" {
				return
			}
			t.Errorf("%s: array without items schema (%v)", path, s.Type)
			return
		}
		for _, e := range v {
			walk(t, path+"[]", e, s.Items.Schema, all, seen)
		}
	}
}

// Randomly filled objects of every served kind, encoded as JSON, have a
// schema for every field: kubectl apply's patch computation from OpenAPI v3
// fails on any field it cannot find.
func TestOpenAPICoversEveryField(t *testing.T) {
	h, err := newHandler(Options{}, api.All)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range api.All {
		doc, err := h.groupVersionDoc(r.GroupVersion())
		if err != nil {
			t.Fatal(err)
		}
		all := doc.Components.Schemas
		var name string
		for n, s := range all {
			var gvks []map[string]string
			if s.Extensions.GetObject(extGVK, &gvks) == nil && len(gvks) == 1 && gvks[0]["kind"] == r.Kind && gvks[0]["group"] == r.Group {
				name = n
			}
		}
		if name == "" {
			t.Fatalf("no schema for %s", r.GVK())
		}
		seen := map[string]bool{}
		for seed := int64(0); seed < 20; seed++ {
			obj := r.New()
			randfill.NewWithSeed(seed).NilChance(0.2).NumElements(1, 2).MaxDepth(12).Funcs(
				func(q *resource.Quantity, c randfill.Continue) { *q = resource.MustParse("100m") },
				func(x *runtime.RawExtension, c randfill.Continue) { x.Raw = []byte(`{"a":1}`) },
				func(f *metav1.FieldsV1, c randfill.Continue) { f.Raw = []byte(`{"f:a":{}}`) },
				func(m *metav1.Time, c randfill.Continue) { *m = metav1.Unix(c.Int63n(1<<31), 0) },
				func(m *metav1.MicroTime, c randfill.Continue) {
					*m = metav1.NewMicroTime(metav1.Unix(c.Int63n(1<<31), 0).Time)
				},
			).Fill(obj)
			data, err := json.Marshal(obj)
			if err != nil {
				t.Fatalf("%s seed %d: %v", r.Kind, seed, err)
			}
			var v map[string]interface{}
			if err := json.Unmarshal(data, &v); err != nil {
				t.Fatal(err)
			}
			walk(t, r.Kind, v, all[name], all, seen)
		}
		if len(seen) < 5 {
			paths := make([]string, 0, len(seen))
			for p := range seen {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			t.Errorf("%s: random objects reached only %v", r.Kind, paths)
		}
	}
}
