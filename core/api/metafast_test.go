package api

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// metaFastStrings are edge cases plus random strings over an alphabet that
// mixes valid and invalid characters.
func metaFastStrings() []string {
	ss := []string{
		"", "a", "A", "-", ".", "_", "/", "a-", "-a", "a.", ".a", "a..b", "a.-b", "a-.b", "a.b", "a-b",
		"web-7d4f8b9c5d-x2x9k", "node-0", "kube-node-lease", "example.com/name", "example.com/", "/name",
		"a/b/c", "Example.com/name", "example.com/Name_1.x", "a_b", "_a", "a_", "1", "0-0", "x.y.z",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 253), strings.Repeat("a", 254),
		strings.Repeat("a.", 126) + "a", strings.Repeat("a.", 127) + "a", "é", "aé", "a b",
		strings.Repeat("a", 253) + "/b", "p/" + strings.Repeat("b", 63), "p/" + strings.Repeat("b", 64),
	}
	const alphabet = "ab9Z-._/é "
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		n := r.IntN(12)
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		ss = append(ss, b.String())
	}
	return ss
}

func TestMetaFastAgreesWithApimachinery(t *testing.T) {
	for _, s := range metaFastStrings() {
		checks := []struct {
			name      string
			fast, ref bool
		}{
			{"IsDNS1123Label", isDNS1123Label(s), len(validation.IsDNS1123Label(s)) == 0},
			{"IsDNS1123Subdomain", isDNS1123Subdomain(s), len(validation.IsDNS1123Subdomain(s)) == 0},
			{"IsValidLabelValue", isLabelValue(s), len(validation.IsValidLabelValue(s)) == 0},
			{"IsQualifiedName", isQualifiedName(s), len(validation.IsQualifiedName(s)) == 0},
			{"NameIsDNSSubdomain prefix", nameValid(s, true, false), len(apivalidation.NameIsDNSSubdomain(s, true)) == 0},
			{"NameIsDNSLabel prefix", nameValid(s, true, true), len(apivalidation.NameIsDNSLabel(s, true)) == 0},
		}
		for _, c := range checks {
			if c.fast != c.ref {
				t.Errorf("%s(%q): fast %v, apimachinery %v", c.name, s, c.fast, c.ref)
			}
		}
	}
}

func TestMetaCreateAndUpdateValid(t *testing.T) {
	yes := true
	now := metav1.NewTime(time.Unix(1000, 0))
	later := metav1.NewTime(time.Unix(2000, 0))
	grace := int64(30)
	base := func() *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: "web-1", Namespace: "default", UID: "u1", ResourceVersion: "5", Generation: 1,
			CreationTimestamp: now,
			Labels:            map[string]string{"app": "web", "example.com/tier": "Front_end"},
			Annotations:       map[string]string{"example.com/note": "anything at all: \x00"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "r1", Controller: &yes},
				{APIVersion: "v1", Kind: "Node", Name: "n", UID: "n1"}},
			Finalizers: []string{"example.com/f"},
		}}
	}
	tests := []struct {
		name   string
		edit   func(p, old *corev1.Pod)
		create bool // metaCreateValid is expected to say yes
		update bool // metaUpdateValid is expected to say yes
	}{
		{name: "valid", edit: func(p, old *corev1.Pod) {}, create: true, update: true},
		{name: "generateName with trailing dash", edit: func(p, old *corev1.Pod) { p.GenerateName = "web-" }, create: true, update: true},
		{name: "bad generateName", edit: func(p, old *corev1.Pod) { p.GenerateName = "Web-" }, update: true},
		{name: "no name", edit: func(p, old *corev1.Pod) { p.Name, old.Name = "", "" }, update: true},
		{name: "upper-case name", edit: func(p, old *corev1.Pod) { p.Name, old.Name = "Web", "Web" }, update: true},
		{name: "no namespace", edit: func(p, old *corev1.Pod) { p.Namespace, old.Namespace = "", "" }, update: true},
		{name: "dotted namespace", edit: func(p, old *corev1.Pod) { p.Namespace, old.Namespace = "a.b", "a.b" }, update: true},
		{name: "negative generation", edit: func(p, old *corev1.Pod) { p.Generation, old.Generation = -1, -1 }},
		{name: "bad label key", edit: func(p, old *corev1.Pod) { p.Labels = map[string]string{"-x": "y"} }, update: false},
		{name: "bad label value", edit: func(p, old *corev1.Pod) { p.Labels = map[string]string{"x": "y-"} }},
		{name: "upper-case annotation key", edit: func(p, old *corev1.Pod) { p.Annotations = map[string]string{"Example.com/X": ""} }},
		{name: "bad annotation key", edit: func(p, old *corev1.Pod) { p.Annotations = map[string]string{"a//b": ""} }},
		{name: "annotations too large", edit: func(p, old *corev1.Pod) { p.Annotations = map[string]string{"a": strings.Repeat("x", 256<<10)} }},
		{name: "owner without uid", edit: func(p, old *corev1.Pod) { p.OwnerReferences[1].UID = "" }},
		{name: "owner with bad apiVersion", edit: func(p, old *corev1.Pod) { p.OwnerReferences[1].APIVersion = "a/b/c" }},
		{name: "owner with group only", edit: func(p, old *corev1.Pod) { p.OwnerReferences[1].APIVersion = "apps/" }},
		{name: "Event owner", edit: func(p, old *corev1.Pod) { p.OwnerReferences[1].Kind = "Event" }},
		{name: "two controllers", edit: func(p, old *corev1.Pod) { p.OwnerReferences[1].Controller = &yes }},
		{name: "managed fields", edit: func(p, old *corev1.Pod) { p.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "m"}} }},
		{name: "bad finalizer", edit: func(p, old *corev1.Pod) { p.Finalizers = []string{"a b"} }, update: true},
		{name: "both dependents finalizers", edit: func(p, old *corev1.Pod) {
			p.Finalizers = []string{metav1.FinalizerOrphanDependents, metav1.FinalizerDeleteDependents}
		}, update: true},
		{name: "no resourceVersion", edit: func(p, old *corev1.Pod) { p.ResourceVersion = "" }, create: true},
		{name: "generation decremented", edit: func(p, old *corev1.Pod) { old.Generation = 2 }, create: true},
		{name: "renamed", edit: func(p, old *corev1.Pod) { old.Name = "web-2" }, create: true},
		{name: "uid changed", edit: func(p, old *corev1.Pod) { old.UID = "u2" }, create: true},
		{name: "creationTimestamp changed", edit: func(p, old *corev1.Pod) { old.CreationTimestamp = later }, create: true},
		{name: "deletionTimestamp set", edit: func(p, old *corev1.Pod) { p.DeletionTimestamp = &later }, create: true},
		{name: "old deleting", edit: func(p, old *corev1.Pod) { old.DeletionTimestamp = &later; p.DeletionTimestamp = &later }, create: true},
		{name: "grace period changed", edit: func(p, old *corev1.Pod) { p.DeletionGracePeriodSeconds = &grace }, create: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, old := base(), base()
			tt.edit(p, old)
			create := apivalidation.ValidateObjectMetaAccessor(p, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
			update := apivalidation.ValidateObjectMetaAccessorUpdate(p, old, field.NewPath("metadata"))
			if got := metaCreateValid(p, true, false); got != tt.create {
				t.Errorf("metaCreateValid = %v, want %v (apimachinery: %v)", got, tt.create, create)
			}
			if got := metaUpdateValid(p, old); got != tt.update {
				t.Errorf("metaUpdateValid = %v, want %v (apimachinery: %v)", got, tt.update, update)
			}
			// The fast checks may only say yes when apimachinery agrees.
			if tt.create && len(create) > 0 {
				t.Errorf("apimachinery rejects a create the fast check accepts: %v", create)
			}
			if tt.update && len(update) > 0 {
				t.Errorf("apimachinery rejects an update the fast check accepts: %v", update)
			}
		})
	}
}

// TestValidateMetaErrorsUnchanged checks that Validate still reports
// apimachinery's errors when the fast checks send it the slow way, for a
// cluster-scoped kind too.
func TestValidateMetaErrorsUnchanged(t *testing.T) {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "Bad_Name", Namespace: "kube-node-lease",
		Labels: map[string]string{"k": "v-"}}}
	got := Validate(Leases, l, nil)
	want := apivalidation.ValidateObjectMetaAccessor(l, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	if got.ToAggregate().Error() != want.ToAggregate().Error() {
		t.Errorf("Validate = %v, want %v", got, want)
	}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Namespace: "x"}}
	if errs := Validate(Nodes, n, nil); len(errs) != 1 || errs[0].Field != "metadata.namespace" {
		t.Errorf("Validate(node with namespace) = %v", errs)
	}
}
