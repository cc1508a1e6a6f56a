package apiserver

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

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
	return sel.field.Matches(objectFields(r, obj))
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

// objectFields is the field set a field selector is matched against.
func objectFields(r *api.Resource, obj api.Object) fields.Set {
	set := fields.Set{"metadata.name": obj.GetName()}
	if r.Namespaced {
		set["metadata.namespace"] = obj.GetNamespace()
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		set["spec.nodeName"] = o.Spec.NodeName
		set["spec.restartPolicy"] = string(o.Spec.RestartPolicy)
		set["spec.schedulerName"] = o.Spec.SchedulerName
		set["spec.serviceAccountName"] = o.Spec.ServiceAccountName
		set["spec.hostNetwork"] = strconv.FormatBool(o.Spec.HostNetwork)
		set["status.phase"] = string(o.Status.Phase)
		set["status.podIP"] = o.Status.PodIP
		set["status.nominatedNodeName"] = o.Status.NominatedNodeName
	case *corev1.Node:
		set["spec.unschedulable"] = strconv.FormatBool(o.Spec.Unschedulable)
	case *corev1.Namespace:
		set["status.phase"] = string(o.Status.Phase)
	case *corev1.Event:
		io := o.InvolvedObject
		set["involvedObject.kind"] = io.Kind
		set["involvedObject.namespace"] = io.Namespace
		set["involvedObject.name"] = io.Name
		set["involvedObject.uid"] = string(io.UID)
		set["involvedObject.apiVersion"] = io.APIVersion
		set["involvedObject.resourceVersion"] = io.ResourceVersion
		set["involvedObject.fieldPath"] = io.FieldPath
		set["reason"] = o.Reason
		set["reportingComponent"] = o.ReportingController
		set["source"] = o.Source.Component
		set["type"] = o.Type
	}
	return set
}
