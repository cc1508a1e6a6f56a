package scenario

import (
	"errors"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// PodTemplate returns the pod metadata and spec an object makes pods from
// (for a Pod, the pod itself) and the field path of that metadata, or ok
// false for objects that make no pods.
func PodTemplate(obj runtime.Object) (annotations map[string]string, spec *corev1.PodSpec, metadataPath string, ok bool) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return o.Annotations, &o.Spec, "metadata", true
	case *corev1.PodTemplate:
		return o.Template.Annotations, &o.Template.Spec, "template.metadata", true
	case *corev1.ReplicationController:
		if o.Spec.Template == nil {
			return nil, nil, "", false
		}
		return o.Spec.Template.Annotations, &o.Spec.Template.Spec, "spec.template.metadata", true
	case *appsv1.Deployment:
		return o.Spec.Template.Annotations, &o.Spec.Template.Spec, "spec.template.metadata", true
	case *appsv1.ReplicaSet:
		return o.Spec.Template.Annotations, &o.Spec.Template.Spec, "spec.template.metadata", true
	case *appsv1.StatefulSet:
		return o.Spec.Template.Annotations, &o.Spec.Template.Spec, "spec.template.metadata", true
	case *appsv1.DaemonSet:
		return o.Spec.Template.Annotations, &o.Spec.Template.Spec, "spec.template.metadata", true
	case *batchv1.Job:
		return o.Spec.Template.Annotations, &o.Spec.Template.Spec, "spec.template.metadata", true
	case *batchv1.CronJob:
		t := &o.Spec.JobTemplate.Spec.Template
		return t.Annotations, &t.Spec, "spec.jobTemplate.spec.template.metadata", true
	}
	return nil, nil, "", false
}

func containerNames(spec *corev1.PodSpec) []string {
	var names []string
	for _, c := range spec.InitContainers {
		names = append(names, c.Name)
	}
	for _, c := range spec.Containers {
		names = append(names, c.Name)
	}
	return names
}

// checkSimAnnotations validates the simulator annotations of the pods an
// object makes, and rejects simulator annotations on an object's own
// metadata where the runtime would never see them.
func (p *parser) checkSimAnnotations(obj runtime.Object, root *yaml.Node, fail failFunc) bool {
	ok := true
	annotations, spec, mdPath, makesPods := PodTemplate(obj)
	if mdPath != "metadata" {
		acc, _ := meta.Accessor(obj)
		for _, k := range sortedKeys(acc.GetAnnotations()) {
			if strings.HasPrefix(k, AnnotationPrefix) {
				where := "a pod template"
				if makesPods {
					where = mdPath + ".annotations"
				}
				f := "metadata.annotations." + k
				fail(annotationKey(root, "metadata", k), f, "simulator annotations belong on the pod template (%s), not on the %s", where, obj.GetObjectKind().GroupVersionKind().Kind)
				ok = false
			}
		}
	}
	if !makesPods {
		return ok
	}
	names := containerNames(spec)
	bad := checkAnnotationKeys(annotations, names)
	for _, k := range sortedKeys(bad) {
		fail(annotationKey(root, mdPath, k), mdPath+".annotations."+k, "%s", bad[k])
		ok = false
	}
	reported := map[string]bool{}
	for _, c := range names {
		_, err := ContainerBehavior(annotations, c)
		var ae *AnnotationError
		if errors.As(err, &ae) && !reported[ae.Key] && bad[ae.Key] == "" {
			reported[ae.Key] = true
			fail(annotationValue(root, mdPath, ae.Key), mdPath+".annotations."+ae.Key, "%s", ae.Message)
			ok = false
		}
	}
	return ok
}

// annotationKey finds the key node of an annotation under the metadata at
// mdPath; annotation keys contain dots, so findPath cannot be used.
func annotationKey(root *yaml.Node, mdPath, key string) *yaml.Node {
	ann := findPath(root, mdPath+".annotations")
	if k := mapKey(mapValue(findParent(root, mdPath), "annotations"), key); k != nil {
		return k
	}
	return ann
}

func annotationValue(root *yaml.Node, mdPath, key string) *yaml.Node {
	if v := mapValue(mapValue(findParent(root, mdPath), "annotations"), key); v != nil {
		return v
	}
	return annotationKey(root, mdPath, key)
}

// findParent returns the value node at path (not its key node).
func findParent(root *yaml.Node, path string) *yaml.Node {
	n := root
	for _, seg := range parsePath(path) {
		n = mapValue(n, seg.key)
		if n == nil {
			return nil
		}
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
