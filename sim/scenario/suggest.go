package scenario

import (
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
)

// suggestField proposes the field a misspelt manifest field probably meant,
// by looking at the JSON names of the Go type at that place in the object.
// It returns "" when nothing is close.
func suggestField(gvk schema.GroupVersionKind, path string) string {
	t, ok := scheme.Scheme.AllKnownTypes()[gvk]
	if !ok {
		return ""
	}
	segs := parsePath(path)
	for _, s := range segs[:len(segs)-1] {
		ft, ok := jsonFields(t)[s.key]
		if !ok {
			return ""
		}
		t = ft
		for range s.indices {
			t = deref(t)
			if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
				return ""
			}
			t = t.Elem()
		}
	}
	return closest(segs[len(segs)-1].key, jsonFields(t))
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// jsonFields maps the JSON names of a struct's fields (embedded and inline
// fields flattened) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	t = deref(t)
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if strings.Contains(opts, "inline") || (f.Anonymous && name == "") {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// closest returns the candidate nearest to name by edit distance, if it is
// near enough to be a typo (ties go to the alphabetically first).
func closest(name string, fields map[string]reflect.Type) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	best, bestDist := "", 3
	if len(name) < 5 {
		bestDist = 2
	}
	for _, c := range names {
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
