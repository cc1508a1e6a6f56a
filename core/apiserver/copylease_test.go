package apiserver

import (
	"reflect"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// noSharedRefs fails if a and b share any pointer, map or slice reachable
// from them (a is the copy, b what the caller keeps and may change).
func noSharedRefs(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: copy shares the caller's pointer", path)
			return
		}
		noSharedRefs(t, path, a.Elem(), b.Elem())
	case reflect.Map, reflect.Slice:
		if a.Len() > 0 && b.Len() > 0 && a.Pointer() == b.Pointer() {
			t.Errorf("%s: copy shares the caller's %s", path, a.Kind())
		}
		if a.Kind() == reflect.Slice {
			for i := 0; i < a.Len() && i < b.Len(); i++ {
				noSharedRefs(t, path, a.Index(i), b.Index(i))
			}
		}
	case reflect.Struct:
		if a.Type() == reflect.TypeOf(time.Time{}) {
			return // a value; its *Location is shared by design
		}
		for i := 0; i < a.NumField(); i++ {
			noSharedRefs(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
		}
	}
}

func TestCopyLease(t *testing.T) {
	if n := reflect.TypeOf(coordinationv1.LeaseSpec{}).NumField(); n != 7 {
		t.Fatalf("LeaseSpec has %d fields; copyLease shares 7 by name: update it", n)
	}
	str := func(s string) *string { return &s }
	i32 := func(v int32) *int32 { return &v }
	mt := func(s int64) *metav1.MicroTime { v := metav1.NewMicroTime(time.Unix(s, 0)); return &v }
	lease := func(renew int64) *coordinationv1.Lease {
		yes := true
		return &coordinationv1.Lease{
			TypeMeta: metav1.TypeMeta{Kind: "Lease", APIVersion: "coordination.k8s.io/v1"},
			ObjectMeta: metav1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease", ResourceVersion: "7",
				Labels:          map[string]string{"a": "b"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "node-1", UID: "u", Controller: &yes}}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: str("node-1"), LeaseDurationSeconds: i32(40),
				RenewTime: mt(renew), AcquireTime: mt(1)},
		}
	}
	tests := []struct {
		name  string
		in    func() *coordinationv1.Lease
		share bool // copyLease returns a copy (not nil)
	}{
		{name: "renewal", in: func() *coordinationv1.Lease { return lease(20) }, share: true},
		{name: "same spec", in: func() *coordinationv1.Lease { return lease(10) }, share: true},
		{name: "new holder", in: func() *coordinationv1.Lease { l := lease(20); l.Spec.HolderIdentity = str("x"); return l }, share: true},
		{name: "spec pointers cleared", in: func() *coordinationv1.Lease { l := lease(20); l.Spec = coordinationv1.LeaseSpec{}; return l }, share: true},
		{name: "labels changed", in: func() *coordinationv1.Lease { l := lease(20); l.Labels = map[string]string{"a": "c"}; return l }},
		{name: "labels empty, not nil", in: func() *coordinationv1.Lease { l := lease(20); l.Labels = map[string]string{}; return l }},
		{name: "owner dropped", in: func() *coordinationv1.Lease { l := lease(20); l.OwnerReferences = nil; return l }},
		{name: "annotations added", in: func() *coordinationv1.Lease { l := lease(20); l.Annotations = map[string]string{"x": "y"}; return l }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, old := tt.in(), lease(10)
			got := copyLease(in, old)
			if (got != nil) != tt.share {
				t.Fatalf("copyLease returned %v, want a copy: %v", got, tt.share)
			}
			if got == nil {
				return
			}
			if want := in.DeepCopy(); !reflect.DeepEqual(got, want) {
				t.Errorf("copyLease = %+v, want the deep copy %+v", got, want)
			}
			noSharedRefs(t, "Lease", reflect.ValueOf(got).Elem(), reflect.ValueOf(in).Elem())
		})
	}
}
