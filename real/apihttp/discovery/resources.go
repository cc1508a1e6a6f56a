package discovery

import (
	"fmt"
	"sort"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/drydock-sim/drydock/core/api"
)

// categoryAll lists the resources in Kubernetes' "all" category (what
// `kubectl get all` shows), by group/resource.
var categoryAll = map[schema.GroupResource]bool{
	{Resource: "pods"}:                                           true,
	{Resource: "services"}:                                       true,
	{Resource: "replicationcontrollers"}:                         true,
	{Group: "apps", Resource: "deployments"}:                     true,
	{Group: "apps", Resource: "replicasets"}:                     true,
	{Group: "apps", Resource: "statefulsets"}:                    true,
	{Group: "apps", Resource: "daemonsets"}:                      true,
	{Group: "batch", Resource: "jobs"}:                           true,
	{Group: "batch", Resource: "cronjobs"}:                       true,
	{Group: "autoscaling", Resource: "horizontalpodautoscalers"}: true,
}

func categories(r *api.Resource) []string {
	if categoryAll[r.GroupResource()] {
		return []string{"all"}
	}
	return nil
}

// subresource describes how Kubernetes serves one subresource: the kind it
// answers with and the verbs it allows.
type subresource struct {
	kind  schema.GroupVersionKind // empty group, version and kind: the parent's
	verbs []string
}

var (
	getPatchUpdate = []string{"get", "patch", "update"}
	createOnly     = []string{"create"}
)

// subresources Kubernetes defines, by name. The parent's kind is used where
// kind is zero.
var knownSubresources = map[string]subresource{
	"status":   {verbs: getPatchUpdate},
	"scale":    {kind: schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, verbs: getPatchUpdate},
	"binding":  {kind: schema.GroupVersionKind{Version: "v1", Kind: "Binding"}, verbs: createOnly},
	"eviction": {kind: schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}, verbs: createOnly},
	"log":      {verbs: []string{"get"}},
	"finalize": {verbs: []string{"update"}},
	"exec":     {kind: schema.GroupVersionKind{Version: "v1", Kind: "PodExecOptions"}, verbs: []string{"create", "get"}},
	"attach":   {kind: schema.GroupVersionKind{Version: "v1", Kind: "PodAttachOptions"}, verbs: []string{"create", "get"}},
	"portforward": {kind: schema.GroupVersionKind{Version: "v1", Kind: "PodPortForwardOptions"},
		verbs: []string{"create", "get"}},
	"proxy": {kind: schema.GroupVersionKind{Version: "v1", Kind: "PodProxyOptions"},
		verbs: []string{"create", "delete", "get", "patch", "update"}},
	"ephemeralcontainers": {verbs: getPatchUpdate},
	"resize":              {verbs: getPatchUpdate},
}

// subresourceOf returns how r serves sub, or an error for a subresource
// Kubernetes does not define.
func subresourceOf(r *api.Resource, sub string) (subresource, error) {
	s, ok := knownSubresources[sub]
	if !ok {
		return subresource{}, fmt.Errorf("discovery: %s/%s is not a subresource Kubernetes defines", r.Name, sub)
	}
	if s.kind.Kind == "" {
		s.kind = r.GVK()
	}
	if sub == "proxy" && r.Name != "pods" {
		s.kind.Kind = r.Kind + "ProxyOptions"
	}
	return s, nil
}

// groupVersions lists the served group versions in registry order, the core
// group first.
func groupVersions(resources []*api.Resource) []schema.GroupVersion {
	var out []schema.GroupVersion
	seen := map[schema.GroupVersion]bool{}
	add := func(gv schema.GroupVersion) {
		if !seen[gv] {
			seen[gv] = true
			out = append(out, gv)
		}
	}
	for _, r := range resources {
		if r.Group == "" {
			add(r.GroupVersion())
		}
	}
	for _, r := range resources {
		if r.Group != "" {
			add(r.GroupVersion())
		}
	}
	return out
}

// groups lists the named groups (not the core group) in registry order, with
// their versions.
func groups(resources []*api.Resource) []metav1.APIGroup {
	var out []metav1.APIGroup
	index := map[string]int{}
	for _, gv := range groupVersions(resources) {
		if gv.Group == "" {
			continue
		}
		v := metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
		i, ok := index[gv.Group]
		if !ok {
			index[gv.Group] = len(out)
			out = append(out, metav1.APIGroup{Name: gv.Group, PreferredVersion: v})
			i = len(out) - 1
		}
		out[i].Versions = append(out[i].Versions, v)
	}
	for i := range out {
		out[i].TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
	}
	return out
}

func resourcesIn(resources []*api.Resource, gv schema.GroupVersion) []*api.Resource {
	var out []*api.Resource
	for _, r := range resources {
		if r.GroupVersion() == gv {
			out = append(out, r)
		}
	}
	return out
}

// verbs of a main resource.
func (h *handler) verbs() []string {
	if !h.opts.OmitDeleteCollection {
		return []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	}
	return []string{"create", "delete", "get", "list", "patch", "update", "watch"}
}

// apiResourceList is the /api/v1 or /apis/{group}/{version} document:
// resources and their subresources, sorted by name as Kubernetes does.
func (h *handler) apiResourceList(gv schema.GroupVersion) (*metav1.APIResourceList, error) {
	list := &metav1.APIResourceList{
		TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
		GroupVersion: gv.String(),
		APIResources: []metav1.APIResource{},
	}
	for _, r := range resourcesIn(h.resources, gv) {
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name: r.Name, SingularName: r.Singular, Namespaced: r.Namespaced, Kind: r.Kind,
			Verbs: h.verbs(), ShortNames: r.ShortNames, Categories: categories(r),
		})
		for _, sub := range r.Subresources {
			s, err := subresourceOf(r, sub)
			if err != nil {
				return nil, err
			}
			ar := metav1.APIResource{Name: r.Name + "/" + sub, Namespaced: r.Namespaced, Kind: s.kind.Kind, Verbs: s.verbs}
			if s.kind.GroupVersion() != gv {
				ar.Group, ar.Version = s.kind.Group, s.kind.Version
			}
			list.APIResources = append(list.APIResources, ar)
		}
	}
	sort.SliceStable(list.APIResources, func(i, j int) bool { return list.APIResources[i].Name < list.APIResources[j].Name })
	return list, nil
}

// versionDiscovery is one version of a group in aggregated discovery.
func (h *handler) versionDiscovery(gv schema.GroupVersion) (apidiscoveryv2.APIVersionDiscovery, error) {
	v := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent,
		Resources: []apidiscoveryv2.APIResourceDiscovery{}}
	rs := resourcesIn(h.resources, gv)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
	for _, r := range rs {
		scope := apidiscoveryv2.ScopeCluster
		if r.Namespaced {
			scope = apidiscoveryv2.ScopeNamespace
		}
		gvk := r.GVK()
		d := apidiscoveryv2.APIResourceDiscovery{
			Resource: r.Name, SingularResource: r.Singular, Scope: scope, Verbs: h.verbs(),
			ShortNames: r.ShortNames, Categories: categories(r),
			ResponseKind: &metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind},
		}
		subs := append([]string(nil), r.Subresources...)
		sort.Strings(subs)
		for _, sub := range subs {
			s, err := subresourceOf(r, sub)
			if err != nil {
				return v, err
			}
			sd := apidiscoveryv2.APISubresourceDiscovery{Subresource: sub, Verbs: s.verbs,
				ResponseKind: &metav1.GroupVersionKind{Group: s.kind.Group, Version: s.kind.Version, Kind: s.kind.Kind}}
			d.Subresources = append(d.Subresources, sd)
		}
		v.Resources = append(v.Resources, d)
	}
	return v, nil
}

// aggregated is the aggregated discovery document of the core group
// (core=true, for /api) or of the named groups (for /apis).
func (h *handler) aggregated(core bool) (*apidiscoveryv2.APIGroupDiscoveryList, error) {
	list := &apidiscoveryv2.APIGroupDiscoveryList{
		TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: apidiscoveryv2.SchemeGroupVersion.String()},
		Items:    []apidiscoveryv2.APIGroupDiscovery{},
	}
	index := map[string]int{}
	for _, gv := range groupVersions(h.resources) {
		if (gv.Group == "") != core {
			continue
		}
		v, err := h.versionDiscovery(gv)
		if err != nil {
			return nil, err
		}
		i, ok := index[gv.Group]
		if !ok {
			index[gv.Group] = len(list.Items)
			list.Items = append(list.Items, apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: gv.Group}})
			i = len(list.Items) - 1
		}
		list.Items[i].Versions = append(list.Items[i].Versions, v)
	}
	return list, nil
}
