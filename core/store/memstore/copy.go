package memstore

import (
	"reflect"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

var objectMetaType = reflect.TypeFor[metav1.ObjectMeta]()

// shallowSafe caches, per concrete type, whether a shallow struct copy gets
// its own ObjectMeta (true for every k8s.io/api type, which embeds
// ObjectMeta by value). reflect.Type -> bool.
var shallowSafe sync.Map

// withRevision returns a copy of obj whose resourceVersion is rv, leaving obj
// (which callers may share) untouched. Deletions happen for every pod in a
// simulation, so it avoids DeepCopyObject where a shallow copy is enough:
// changing the copy's resourceVersion string only touches the copy's own
// ObjectMeta value, while labels, spec and status stay shared and immutable.
func withRevision(obj runtime.Object, rv string) (runtime.Object, error) {
	cp := shallowCopy(obj)
	if cp == nil {
		cp = obj.DeepCopyObject()
	}
	m, err := meta.Accessor(cp)
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion(rv)
	return cp, nil
}

// shallowCopy copies *T for struct types that embed metav1.ObjectMeta by
// value, and returns nil for anything else (for example Unstructured, whose
// metadata lives in a shared map).
func shallowCopy(obj runtime.Object) runtime.Object {
	v := reflect.ValueOf(obj)
	t := v.Type()
	ok, cached := shallowSafe.Load(t)
	if !cached {
		ok = t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && embedsObjectMeta(t.Elem())
		shallowSafe.Store(t, ok)
	}
	if !ok.(bool) || v.IsNil() {
		return nil
	}
	cp := reflect.New(t.Elem())
	cp.Elem().Set(v.Elem())
	return cp.Interface().(runtime.Object)
}

func embedsObjectMeta(t reflect.Type) bool {
	f, ok := t.FieldByName("ObjectMeta")
	return ok && f.Anonymous && len(f.Index) == 1 && f.Type == objectMetaType
}
