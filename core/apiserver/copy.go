package apiserver

import (
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
)

var objectMetaType = reflect.TypeFor[metav1.ObjectMeta]()

// shallowCopy copies the top-level struct of obj: the copy has its own
// TypeMeta, ObjectMeta fields and top-level spec/status values, and shares
// everything they point to (maps, slices, pointers) with obj. Stored
// objects are immutable, so a change made by replacing fields through
// setters never reaches obj. Types that do not embed ObjectMeta by value
// are deep-copied.
func shallowCopy(obj api.Object) api.Object {
	v := reflect.ValueOf(obj)
	t := v.Type()
	if t.Kind() != reflect.Pointer || v.IsNil() || t.Elem().Kind() != reflect.Struct {
		return obj.DeepCopyObject().(api.Object)
	}
	if f, ok := t.Elem().FieldByName("ObjectMeta"); !ok || !f.Anonymous || f.Type != objectMetaType {
		return obj.DeepCopyObject().(api.Object)
	}
	cp := reflect.New(t.Elem())
	cp.Elem().Set(v.Elem())
	return cp.Interface().(api.Object)
}
