// Package api describes the object types drydock serves: which Kubernetes
// resources exist, how their storage keys look, and how they are defaulted and
// validated. It knows nothing about transport or storage.
package api

import (
	"fmt"
	"reflect"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Object is a Kubernetes API object: typed content plus object metadata.
type Object interface {
	metav1.Object
	runtime.Object
}

// Resource describes one served resource type.
type Resource struct {
	Name       string // plural, lower case: "pods"
	Singular   string
	Kind       string
	ListKind   string
	Group      string
	Version    string
	Namespaced bool
	ShortNames []string
	// Subresources served besides the main resource: "status", "binding", ...
	Subresources []string
	// HasGeneration: metadata.generation is bumped on spec changes.
	HasGeneration bool
	New           func() Object
	NewList       func() runtime.Object
	goType        reflect.Type
}

// GroupVersion of the resource.
func (r *Resource) GroupVersion() schema.GroupVersion {
	return schema.GroupVersion{Group: r.Group, Version: r.Version}
}

// GVK is the resource's group, version and kind.
func (r *Resource) GVK() schema.GroupVersionKind { return r.GroupVersion().WithKind(r.Kind) }

// GroupResource is the resource's group and plural name, as errors name it.
func (r *Resource) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: r.Group, Resource: r.Name}
}

// APIVersion is the apiVersion string of objects of this resource.
func (r *Resource) APIVersion() string { return r.GroupVersion().String() }

// HasSubresource reports whether sub is served.
func (r *Resource) HasSubresource(sub string) bool {
	for _, s := range r.Subresources {
		if s == sub {
			return true
		}
	}
	return false
}

// KeyPrefix is the storage prefix of all objects of this resource in ns
// ("" for all namespaces, or for cluster-scoped resources).
func (r *Resource) KeyPrefix(ns string) string {
	if r.Namespaced && ns != "" {
		return "/registry/" + r.Name + "/" + ns + "/"
	}
	return "/registry/" + r.Name + "/"
}

// Key is the storage key of one object.
func (r *Resource) Key(ns, name string) string {
	if r.Namespaced {
		return "/registry/" + r.Name + "/" + ns + "/" + name
	}
	return "/registry/" + r.Name + "/" + name
}

// The served resources.
var (
	Namespaces = &Resource{Name: "namespaces", Singular: "namespace", Kind: "Namespace", ShortNames: []string{"ns"},
		Version: "v1", Subresources: []string{"status", "finalize"},
		New: func() Object { return &corev1.Namespace{} }, NewList: func() runtime.Object { return &corev1.NamespaceList{} }}
	Nodes = &Resource{Name: "nodes", Singular: "node", Kind: "Node", ShortNames: []string{"no"},
		Version: "v1", Subresources: []string{"status"},
		New: func() Object { return &corev1.Node{} }, NewList: func() runtime.Object { return &corev1.NodeList{} }}
	Pods = &Resource{Name: "pods", Singular: "pod", Kind: "Pod", ShortNames: []string{"po"},
		Version: "v1", Namespaced: true, HasGeneration: true,
		Subresources: []string{"status", "binding", "eviction", "log"},
		New:          func() Object { return &corev1.Pod{} }, NewList: func() runtime.Object { return &corev1.PodList{} }}
	Services = &Resource{Name: "services", Singular: "service", Kind: "Service", ShortNames: []string{"svc"},
		Version: "v1", Namespaced: true, Subresources: []string{"status"},
		New: func() Object { return &corev1.Service{} }, NewList: func() runtime.Object { return &corev1.ServiceList{} }}
	Endpoints = &Resource{Name: "endpoints", Singular: "endpoints", Kind: "Endpoints", ShortNames: []string{"ep"},
		Version: "v1", Namespaced: true,
		New: func() Object { return &corev1.Endpoints{} }, NewList: func() runtime.Object { return &corev1.EndpointsList{} }}
	Events = &Resource{Name: "events", Singular: "event", Kind: "Event", ShortNames: []string{"ev"},
		Version: "v1", Namespaced: true,
		New: func() Object { return &corev1.Event{} }, NewList: func() runtime.Object { return &corev1.EventList{} }}
	ReplicaSets = &Resource{Name: "replicasets", Singular: "replicaset", Kind: "ReplicaSet", ShortNames: []string{"rs"},
		Group: "apps", Version: "v1", Namespaced: true, HasGeneration: true, Subresources: []string{"status", "scale"},
		New: func() Object { return &appsv1.ReplicaSet{} }, NewList: func() runtime.Object { return &appsv1.ReplicaSetList{} }}
	Deployments = &Resource{Name: "deployments", Singular: "deployment", Kind: "Deployment", ShortNames: []string{"deploy"},
		Group: "apps", Version: "v1", Namespaced: true, HasGeneration: true, Subresources: []string{"status", "scale"},
		New: func() Object { return &appsv1.Deployment{} }, NewList: func() runtime.Object { return &appsv1.DeploymentList{} }}
	Leases = &Resource{Name: "leases", Singular: "lease", Kind: "Lease",
		Group: "coordination.k8s.io", Version: "v1", Namespaced: true,
		New: func() Object { return &coordinationv1.Lease{} }, NewList: func() runtime.Object { return &coordinationv1.LeaseList{} }}
	PriorityClasses = &Resource{Name: "priorityclasses", Singular: "priorityclass", Kind: "PriorityClass", ShortNames: []string{"pc"},
		Group: "scheduling.k8s.io", Version: "v1",
		New: func() Object { return &schedulingv1.PriorityClass{} }, NewList: func() runtime.Object { return &schedulingv1.PriorityClassList{} }}
)

// All lists every served resource in a fixed order.
var All = []*Resource{Namespaces, Nodes, Pods, Services, Endpoints, Events, ReplicaSets, Deployments, Leases, PriorityClasses}

var (
	byType = map[reflect.Type]*Resource{}
	byGVK  = map[schema.GroupVersionKind]*Resource{}
	byName = map[string]*Resource{}
)

func init() {
	for _, r := range All {
		r.ListKind = r.Kind + "List"
		r.goType = reflect.TypeOf(r.New())
		byType[r.goType] = r
		byGVK[r.GVK()] = r
		byName[r.Name] = r
		byName[r.Singular] = r
		byName[lower(r.Kind)] = r
		for _, s := range r.ShortNames {
			byName[s] = r
		}
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// For returns the resource of a typed object.
func For(obj runtime.Object) (*Resource, error) {
	if r, ok := byType[reflect.TypeOf(obj)]; ok {
		return r, nil
	}
	return nil, fmt.Errorf("api: no resource serves %T", obj)
}

// MustFor is For for objects the caller knows are served.
func MustFor(obj runtime.Object) *Resource {
	r, err := For(obj)
	if err != nil {
		panic(err)
	}
	return r
}

// ForGVK returns the resource serving a group/version/kind.
func ForGVK(gvk schema.GroupVersionKind) (*Resource, bool) {
	r, ok := byGVK[gvk]
	return r, ok
}

// ForName resolves a plural, singular, kind or short name ("deploy", "pods").
func ForName(name string) (*Resource, bool) {
	r, ok := byName[lower(name)]
	return r, ok
}

// Names lists the resource plural names, sorted.
func Names() []string {
	out := make([]string, 0, len(All))
	for _, r := range All {
		out = append(out, r.Name)
	}
	sort.Strings(out)
	return out
}

// SetTypeMeta fills kind and apiVersion, which typed Go objects leave empty.
func SetTypeMeta(obj runtime.Object) {
	if r, err := For(obj); err == nil {
		obj.GetObjectKind().SetGroupVersionKind(r.GVK())
	}
}

// WatchEventType is the type of a watch event, as Kubernetes names them.
type WatchEventType string

// Watch event types.
const (
	WatchAdded    WatchEventType = "ADDED"
	WatchModified WatchEventType = "MODIFIED"
	WatchDeleted  WatchEventType = "DELETED"
	WatchBookmark WatchEventType = "BOOKMARK"
	WatchError    WatchEventType = "ERROR"
)

// InitialEventsEndAnnotation marks the bookmark that ends the initial events
// of a watch started with sendInitialEvents.
const InitialEventsEndAnnotation = "k8s.io/initial-events-end"

// WatchEvent is one event of a watch stream. Object is shared: never mutate it.
// For ERROR events Object is a *metav1.Status.
type WatchEvent struct {
	Type   WatchEventType
	Object runtime.Object
	// Revision is the store revision of the change (0 for synthetic events).
	Revision int64
}
