package apiserver_test

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/harness"
)

// TestSiblingPodsShareIdenticalParts: pods of one controller created one
// after another share identical containers, labels and owners; a pod that
// differs keeps its own, and what every pod reads is what it was created
// with (defaults included), as if nothing were shared.
func TestSiblingPodsShareIdenticalParts(t *testing.T) {
	yes := true
	owner := func(uid string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs-" + uid, UID: types.UID("uid-" + uid), Controller: &yes}}
	}
	mk := func(name, ownerUID, image string) *corev1.Pod {
		p := pod(name)
		p.OwnerReferences = owner(ownerUID)
		p.Spec.Containers[0].Image = image
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
		return p
	}
	h := harness.New(t)
	for _, tc := range []struct {
		name           string
		a, b           *corev1.Pod
		wantContainers bool // shared
		wantLabels     bool
	}{
		{"same controller and spec", mk("a1", "1", "nginx:1"), mk("a2", "1", "nginx:1"), true, true},
		{"same controller, other image", mk("b1", "2", "nginx:1"), mk("b2", "2", "nginx:2"), false, true},
		{"other controllers", mk("c1", "3", "nginx:1"), mk("c2", "4", "nginx:1"), false, false},
		{"no controller", pod("d1"), pod("d2"), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantA, wantB := tc.a.DeepCopy(), tc.b.DeepCopy()
			a := h.Create(tc.a).(*corev1.Pod)
			b := h.Create(tc.b).(*corev1.Pod)
			if got := &a.Spec.Containers[0] == &b.Spec.Containers[0]; got != tc.wantContainers {
				t.Errorf("containers shared = %v, want %v", got, tc.wantContainers)
			}
			if got := reflect.ValueOf(a.Labels).UnsafePointer() == reflect.ValueOf(b.Labels).UnsafePointer(); got != tc.wantLabels {
				t.Errorf("labels shared = %v, want %v", got, tc.wantLabels)
			}
			for _, c := range []struct{ got, want *corev1.Pod }{{a, wantA}, {b, wantB}} {
				if c.got.Spec.Containers[0].Image != c.want.Spec.Containers[0].Image ||
					!reflect.DeepEqual(c.got.Labels, c.want.Labels) || !reflect.DeepEqual(c.got.OwnerReferences, c.want.OwnerReferences) {
					t.Errorf("%s reads %+v", c.got.Name, c.got)
				}
			}
		})
	}
}
