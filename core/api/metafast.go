package api

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The checks below decide, without regular expressions or field paths,
// that apimachinery's ObjectMeta validation (ValidateObjectMetaAccessor and
// ValidateObjectMetaAccessorUpdate) would report nothing. They are exact
// for the string rules (TestMetaFastAgreesWithApimachinery compares them
// with apimachinery's) and conservative elsewhere: when one says no,
// Validate runs apimachinery's own functions, which produce the errors.
// Every create and most updates pass, and apimachinery's regexps and
// field-path building were most of the cost of validating them.

func isAlnumLower(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isAlnumLower(c) || c >= 'A' && c <= 'Z' }

// isDNS1123Label reports whether apimachinery's IsDNS1123Label(s) is empty:
// [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
func isDNS1123Label(s string) bool {
	if len(s) == 0 || len(s) > 63 || !isAlnumLower(s[0]) || !isAlnumLower(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnumLower(c) && c != '-' {
			return false
		}
	}
	return true
}

// isDNS1123Subdomain reports whether apimachinery's IsDNS1123Subdomain(s) is
// empty: dot-separated labels of [a-z0-9]([-a-z0-9]*[a-z0-9])? (no length
// limit per label), at most 253 characters in all.
func isDNS1123Subdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if c := s[i]; !isAlnumLower(c) && c != '-' {
				return false
			}
			continue
		}
		// s[start:i] is one label.
		if i == start || !isAlnumLower(s[start]) || !isAlnumLower(s[i-1]) {
			return false
		}
		start = i + 1
	}
	return true
}

// isLabelValue reports whether apimachinery's IsValidLabelValue(s) is empty:
// empty, or ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] of at most 63.
func isLabelValue(s string) bool {
	if len(s) == 0 {
		return true
	}
	if len(s) > 63 || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// isQualifiedName reports whether apimachinery's IsQualifiedName(s) is
// empty: an optional DNS subdomain prefix and '/', then a non-empty name
// part of the label value form.
func isQualifiedName(s string) bool {
	name := s
	if i := strings.IndexByte(s, '/'); i >= 0 {
		name = s[i+1:]
		if strings.IndexByte(name, '/') >= 0 || !isDNS1123Subdomain(s[:i]) {
			return false
		}
	}
	return len(name) > 0 && isLabelValue(name)
}

// nameValid is nameFn (NameIsDNSSubdomain or NameIsDNSLabel) reporting
// nothing, with apimachinery's masking of a generateName's trailing dash.
func nameValid(s string, prefix, dnsLabel bool) bool {
	if prefix && len(s) > 1 && s[len(s)-1] == '-' {
		s = s[:len(s)-2] + "a"
	}
	if dnsLabel {
		return isDNS1123Label(s)
	}
	return isDNS1123Subdomain(s)
}

// commonMetaValid covers what apimachinery's create and update checks of
// ObjectMeta share: generation, labels, annotations, owner references and
// managed fields.
func commonMetaValid(obj Object) bool {
	if obj.GetGeneration() < 0 || len(obj.GetManagedFields()) > 0 {
		return false
	}
	for k, v := range obj.GetLabels() {
		if !isQualifiedName(k) || !isLabelValue(v) {
			return false
		}
	}
	size := 0
	for k, v := range obj.GetAnnotations() {
		// Annotation keys are qualified names compared case-insensitively
		// (apimachinery lowercases them first); keys with upper case go
		// the slow way.
		for i := 0; i < len(k); i++ {
			if c := k[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
				return false
			}
		}
		if !isQualifiedName(k) {
			return false
		}
		size += len(k) + len(v)
	}
	if size > 256*(1<<10) {
		return false
	}
	controllers := 0
	for i := range obj.GetOwnerReferences() {
		ref := &obj.GetOwnerReferences()[i]
		v := ref.APIVersion
		if j := strings.IndexByte(v, '/'); j >= 0 {
			v = v[j+1:]
		}
		if v == "" || strings.IndexByte(v, '/') >= 0 || ref.Kind == "" || ref.Name == "" || ref.UID == "" {
			return false
		}
		if ref.Kind == "Event" && ref.APIVersion == "v1" {
			return false // BannedOwners
		}
		if ref.Controller != nil && *ref.Controller {
			controllers++
		}
	}
	return controllers <= 1
}

// metaCreateValid reports that apimachinery's ValidateObjectMetaAccessor
// would report nothing for obj.
func metaCreateValid(obj Object, namespaced, dnsLabel bool) bool {
	if g := obj.GetGenerateName(); g != "" && !nameValid(g, true, dnsLabel) {
		return false
	}
	if !nameValid(obj.GetName(), false, dnsLabel) {
		return false
	}
	if ns := obj.GetNamespace(); namespaced != (ns != "") || namespaced && !isDNS1123Label(ns) {
		return false
	}
	for _, f := range obj.GetFinalizers() {
		if !isQualifiedName(f) || f == metav1.FinalizerOrphanDependents || f == metav1.FinalizerDeleteDependents {
			// Both together are an error; either alone is rare enough
			// to leave to apimachinery.
			return false
		}
	}
	return commonMetaValid(obj)
}

// metaUpdateValid reports that apimachinery's
// ValidateObjectMetaAccessorUpdate would report nothing for obj over old.
func metaUpdateValid(obj, old Object) bool {
	if old.GetDeletionTimestamp() != nil || obj.GetResourceVersion() == "" ||
		obj.GetGeneration() < old.GetGeneration() ||
		obj.GetName() != old.GetName() || obj.GetNamespace() != old.GetNamespace() || obj.GetUID() != old.GetUID() {
		return false
	}
	if c, o := obj.GetCreationTimestamp(), old.GetCreationTimestamp(); c.UTC() != o.UTC() {
		return false
	}
	if obj.GetDeletionTimestamp() != nil {
		return false
	}
	a, b := obj.GetDeletionGracePeriodSeconds(), old.GetDeletionGracePeriodSeconds()
	if (a == nil) != (b == nil) || a != nil && *a != *b {
		return false
	}
	return commonMetaValid(obj)
}
