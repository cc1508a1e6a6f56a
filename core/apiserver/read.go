package apiserver

import (
	"context"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/drydock-sim/drydock/core/api"
)

// Get returns the stored object (shared: do not modify).
func (s *Server) Get(ctx context.Context, r *api.Resource, ns, name string) (api.Object, error) {
	o, err := s.store.Get(r.Key(ns, name))
	if err != nil {
		return nil, storeError(err, r, name)
	}
	return o.(api.Object), nil
}

// List returns the objects of r in ns ("" = all namespaces) that match the
// label and field selectors of opts, ordered by namespace and name, and the
// resourceVersion the list reflects.
func (s *Server) List(ctx context.Context, r *api.Resource, ns string, opts metav1.ListOptions) ([]api.Object, string, error) {
	sel, err := parseSelectors(r, opts)
	if err != nil {
		return nil, "", err
	}
	objs, rev, err := s.store.List(r.KeyPrefix(ns))
	if err != nil {
		return nil, "", storeError(err, r, "")
	}
	out := make([]api.Object, 0, len(objs))
	for _, o := range objs {
		if obj := o.(api.Object); sel.matches(r, obj) {
			out = append(out, obj)
		}
	}
	return out, strconv.FormatInt(rev, 10), nil
}

// selectors is a parsed label and field selector pair.
type selectors struct {
	label labels.Selector
	field fields.Selector
	// nodeName is set when the field selector pins spec.nodeName, so pod
	// watches can be indexed by node like kube-apiserver's watch cache does.
	nodeName   string
	byNodeName bool
	fieldReqs  fields.Requirements
}

func parseSelectors(r *api.Resource, opts metav1.ListOptions) (*selectors, error) {
	sel := &selectors{label: labels.Everything(), field: fields.Everything()}
	if opts.LabelSelector != "" {
		l, err := labels.Parse(opts.LabelSelector)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
		sel.label = l
	}
	if opts.FieldSelector != "" {
		f, err := fields.ParseSelector(opts.FieldSelector)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
		}
		supported := fieldLabels(r)
		for _, req := range f.Requirements() {
			if !supported[req.Field] {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
			}
		}
		if v, ok := f.RequiresExactMatch("spec.nodeName"); ok && r == api.Pods {
			sel.nodeName, sel.byNodeName = v, true
		}
		sel.field = f
		sel.fieldReqs = f.Requirements()
	}
	return sel, nil
}

func (sel *selectors) matches(r *api.Resource, obj api.Object) bool {
	if !sel.label.Empty() && !sel.label.Matches(labels.Set(obj.GetLabels())) {
		return false
	}
	if sel.field.Empty() {
		return true
	}
	if sel.byNodeName {
		if p := obj.(*corev1.Pod); p.Spec.NodeName != sel.nodeName {
			return false
		}
	}
	// Every watch event is matched against every watch's selectors, so
	// evaluate the (equality) requirements directly instead of building
	// the object's whole field set.
	for _, req := range sel.fieldReqs {
		v := fieldValue(r, obj, req.Field)
		switch req.Operator {
		case selection.Equals, selection.DoubleEquals:
			if v != req.Value {
				return false
			}
		case selection.NotEquals:
			if v == req.Value {
				return false
			}
		default:
			return sel.field.Matches(objectFields(r, obj))
		}
	}
	return true
}

// fieldLabels lists the field selector labels each resource supports, as
// Kubernetes' per-resource field selectors do.
func fieldLabels(r *api.Resource) map[string]bool {
	m := map[string]bool{"metadata.name": true, "metadata.namespace": true}
	var extra []string
	switch r {
	case api.Pods:
		extra = []string{"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
			"spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"}
	case api.Nodes:
		extra = []string{"spec.unschedulable"}
	case api.Namespaces:
		extra = []string{"status.phase"}
	case api.Events:
		extra = []string{"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
			"involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
			"reason", "reportingComponent", "source", "type"}
	case api.ReplicaSets:
		extra = []string{"status.replicas"}
	}
	for _, e := range extra {
		m[e] = true
	}
	return m
}

// fieldValue is the value a field selector sees for field (one of
// fieldLabels(r)); "" for a field the object does not have.
func fieldValue(r *api.Resource, obj api.Object, field string) string {
	switch field {
	case "metadata.name":
		return obj.GetName()
	case "metadata.namespace":
		if r.Namespaced {
			return obj.GetNamespace()
		}
		return ""
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		switch field {
		case "spec.nodeName":
			return o.Spec.NodeName
		case "spec.restartPolicy":
			return string(o.Spec.RestartPolicy)
		case "spec.schedulerName":
			return o.Spec.SchedulerName
		case "spec.serviceAccountName":
			return o.Spec.ServiceAccountName
		case "spec.hostNetwork":
			return strconv.FormatBool(o.Spec.HostNetwork)
		case "status.phase":
			return string(o.Status.Phase)
		case "status.podIP":
			return o.Status.PodIP
		case "status.nominatedNodeName":
			return o.Status.NominatedNodeName
		}
	case *corev1.Node:
		if field == "spec.unschedulable" {
			return strconv.FormatBool(o.Spec.Unschedulable)
		}
	case *corev1.Namespace:
		if field == "status.phase" {
			return string(o.Status.Phase)
		}
	case *corev1.Event:
		io := &o.InvolvedObject
		switch field {
		case "involvedObject.kind":
			return io.Kind
		case "involvedObject.namespace":
			return io.Namespace
		case "involvedObject.name":
			return io.Name
		case "involvedObject.uid":
			return string(io.UID)
		case "involvedObject.apiVersion":
			return io.APIVersion
		case "involvedObject.resourceVersion":
			return io.ResourceVersion
		case "involvedObject.fieldPath":
			return io.FieldPath
		case "reason":
			return o.Reason
		case "reportingComponent":
			return o.ReportingController
		case "source":
			return o.Source.Component
		case "type":
			return o.Type
		}
	case *appsv1.ReplicaSet:
		if field == "status.replicas" {
			return strconv.Itoa(int(o.Status.Replicas))
		}
	}
	return ""
}

// objectFields is the field set a field selector is matched against.
func objectFields(r *api.Resource, obj api.Object) fields.Set {
	set := fields.Set{}
	for f := range fieldLabels(r) {
		if f == "metadata.namespace" && !r.Namespaced {
			continue
		}
		set[f] = fieldValue(r, obj, f)
	}
	return set
}
