package auth

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/drydock-sim/drydock/core/api"
)

// AuthorizerConfig wires a RequestAuthorizer.
type AuthorizerConfig struct {
	// Get reads a stored object (core/apiserver's Server.Get fits). The node
	// rules need it to tell whether a pod is bound to the requesting node and
	// what a Node's stored taints and labels are. Required.
	Get func(ctx context.Context, r *api.Resource, ns, name string) (api.Object, error)
	// NodePatchesAdmitted: the API layer calls AdmitNodeUpdate with the
	// stored and the patched Node before it stores a node's patch of its
	// own Node object. Without it such patches are refused (secure by
	// default: the authorizer cannot see what a patch changes), and a node
	// updates its Node with PUT, which is checked here; patches of
	// nodes/status are always allowed (a status write keeps the stored spec
	// and labels).
	NodePatchesAdmitted bool
}

// RequestAuthorizer implements Authorizer with drydock's fixed policy, in
// place of Kubernetes' RBAC with its bootstrap roles, the Node authorizer and
// the NodeRestriction admission plugin:
//
//   - system:masters may do everything.
//   - every authenticated user may get the discovery and health paths
//     (/version, /api, /apis, /healthz, /livez, /readyz, /openapi), like
//     system:discovery and system:public-info-viewer.
//   - nodes (system:node:NAME in system:nodes) get the rules of the Node
//     authorizer and the system:node role, narrowed as NodeRestriction
//     narrows them; see authorizeNode.
//   - bootstrap tokens (system:bootstrappers) may only call join.
//   - everyone else is forbidden.
type RequestAuthorizer struct {
	cfg AuthorizerConfig
}

var _ Authorizer = (*RequestAuthorizer)(nil)

// NewAuthorizer returns the authorizer; cfg.Get must be set.
func NewAuthorizer(cfg AuthorizerConfig) (*RequestAuthorizer, error) {
	if cfg.Get == nil {
		return nil, fmt.Errorf("auth: AuthorizerConfig.Get is required")
	}
	return &RequestAuthorizer{cfg: cfg}, nil
}

// Authorize implements Authorizer.
func (z *RequestAuthorizer) Authorize(ctx context.Context, a Attributes) error {
	u := a.User
	if u == nil {
		return forbidden(a, "no user")
	}
	if slices.Contains(u.Groups, GroupMasters) {
		return nil
	}
	if a.Resource == "" {
		if (a.Verb == "get" || a.Verb == "head") && isPublicPath(a.Path) {
			return nil
		}
		return forbidden(a, "")
	}
	if nodeName, isNode := NodeIdentity(u); isNode {
		if nodeName == "" {
			return forbidden(a, fmt.Sprintf("unknown node for user %q", u.Name))
		}
		return z.authorizeNode(ctx, nodeName, a)
	}
	if slices.Contains(u.Groups, GroupBootstrappers) {
		if a.APIGroup == JoinGroup && a.Resource == JoinResource && a.Verb == "create" {
			return nil
		}
		return forbidden(a, "bootstrap tokens may only join nodes")
	}
	return forbidden(a, "")
}

// NodeIdentity tells whether u is a node and which: Kubernetes' default
// node identifier (group system:nodes; name system:node:NAME, or "" when the
// name lacks the prefix).
func NodeIdentity(u *User) (name string, isNode bool) {
	if u == nil || !slices.Contains(u.Groups, GroupNodes) {
		return "", false
	}
	if !strings.HasPrefix(u.Name, NodeUserPrefix) {
		return "", true
	}
	return strings.TrimPrefix(u.Name, NodeUserPrefix), true
}

// isPublicPath: the non-resource URLs of system:discovery and
// system:public-info-viewer.
func isPublicPath(p string) bool {
	switch p {
	case "/api", "/apis", "/healthz", "/livez", "/readyz", "/version", "/version/", "/openapi":
		return true
	}
	for _, prefix := range []string{"/api/", "/apis/", "/openapi/", "/healthz/", "/livez/", "/readyz/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

var (
	grNodes          = schema.GroupResource{Resource: "nodes"}
	grPods           = schema.GroupResource{Resource: "pods"}
	grLeases         = schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}
	grEvents         = schema.GroupResource{Resource: "events"}
	grEventsV1       = schema.GroupResource{Group: "events.k8s.io", Resource: "events"}
	grServices       = schema.GroupResource{Resource: "services"}
	grEndpoints      = schema.GroupResource{Resource: "endpoints"}
	grEndpointSlices = schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}
	grNamespaces     = schema.GroupResource{Resource: "namespaces"}
)

func isRead(verb string) bool { return verb == "get" || verb == "list" || verb == "watch" }

// authorizeNode applies, for the node nodeName, what Kubernetes' Node
// authorizer and system:node role allow, checked as the NodeRestriction
// admission plugin checks it:
//
//   - read (get/list/watch) nodes, pods, services, endpoints, endpointslices
//     and namespaces. Deliberate difference: Kubernetes' Node authorizer
//     (with AuthorizeNodeWithSelectors) lets a kubelet read only its own
//     Node and list pods only with a spec.nodeName field selector; drydock's
//     node agent also runs the service proxy and the pod-CIDR routes, which
//     read all nodes, services and endpoints (kube-proxy's system:node-proxier
//     role), so reads are not narrowed.
//   - create its own Node (no configSource, no node-restriction.kubernetes.io
//     labels, no kubernetes.io/k8s.io labels but the kubelet's own);
//     update its own Node (the same label rules, and taints unchanged) and
//     update/patch its nodes/status; patch its own Node only when the API
//     layer runs AdmitNodeUpdate (AuthorizerConfig.NodePatchesAdmitted);
//     never write another node's Node.
//   - get/create/update/patch/delete its own Lease in kube-node-lease.
//   - update/patch pods/status, delete pods and create pods/eviction only for
//     pods bound to it (spec.nodeName); create only mirror pods bound to it.
//   - create/update/patch events.
func (z *RequestAuthorizer) authorizeNode(ctx context.Context, nodeName string, a Attributes) error {
	gr := schema.GroupResource{Group: a.APIGroup, Resource: a.Resource}
	switch gr {
	case grNodes:
		return z.authorizeNodeObject(ctx, nodeName, a)
	case grPods:
		return z.authorizeNodePods(ctx, nodeName, a)
	case grLeases:
		return authorizeNodeLease(nodeName, a)
	case grEvents, grEventsV1:
		if a.Subresource == "" && (a.Verb == "create" || a.Verb == "update" || a.Verb == "patch") {
			return nil
		}
	case schema.GroupResource{Group: JoinGroup, Resource: JoinResource}:
		// Renewal of the node's own certificate; the join handler checks
		// the name.
		if a.Verb == "create" && a.Subresource == "" {
			return nil
		}
	case grServices, grEndpoints, grEndpointSlices, grNamespaces:
		if a.Subresource == "" && isRead(a.Verb) {
			return nil
		}
	}
	return forbidden(a, "")
}

func (z *RequestAuthorizer) authorizeNodeObject(ctx context.Context, nodeName string, a Attributes) error {
	if a.Subresource == "" && isRead(a.Verb) {
		return nil
	}
	switch {
	case a.Subresource == "" && a.Verb == "create":
	case (a.Subresource == "" || a.Subresource == "status") && (a.Verb == "update" || a.Verb == "patch"):
	default:
		return forbidden(a, "")
	}
	name := objectName(a)
	if name != nodeName {
		return forbidden(a, fmt.Sprintf("node %q is not allowed to modify node %q", nodeName, name))
	}
	if a.Subresource == "status" {
		// core/apiserver's status writes keep the stored spec, labels and
		// annotations, so there is nothing more to check. (Comparing the
		// request body would refuse harmless writes from a node whose
		// cached spec is stale: Kubernetes' NodeRestriction sees the object
		// after the status strategy has reset its spec.)
		return nil
	}
	if a.Verb == "patch" {
		// The patched object is known only after the API server applies the
		// patch; AdmitNodeUpdate checks it then.
		if z.cfg.NodePatchesAdmitted {
			return nil
		}
		return forbidden(a, fmt.Sprintf("node %q may patch only nodes/status here; update its Node with PUT", nodeName))
	}
	node, ok := a.Object.(*corev1.Node)
	if !ok {
		return forbidden(a, fmt.Sprintf("unexpected type %T", a.Object))
	}
	if a.Verb == "create" {
		if reason := nodeCreateViolation(nodeName, node); reason != "" {
			return forbidden(a, reason)
		}
		return nil
	}
	stored, err := z.cfg.Get(ctx, api.Nodes, "", nodeName)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return err
		}
		return forbidden(a, err.Error())
	}
	old, ok := stored.(*corev1.Node)
	if !ok {
		return forbidden(a, fmt.Sprintf("unexpected type %T", stored))
	}
	if reason := NodeUpdateViolation(nodeName, old, node); reason != "" {
		return forbidden(a, reason)
	}
	return nil
}

// AdmitNodeUpdate is the NodeRestriction check of a node's update of its own
// Node object against the object the write replaces (the authorizer checked
// an earlier read; for a patch, the patched object is known only later): the
// API layer calls it with the stored and the new Node when the user is a
// node, verb being "update" or "patch". It returns nil for other users and
// other nodes' objects (the authorizer has already refused those).
func AdmitNodeUpdate(u *User, verb, subresource string, old, updated *corev1.Node) error {
	nodeName, isNode := NodeIdentity(u)
	if !isNode || old == nil || updated == nil {
		return nil
	}
	if reason := NodeUpdateViolation(nodeName, old, updated); reason != "" {
		return forbidden(Attributes{User: u, Verb: verb, Resource: "nodes", Subresource: subresource, Name: old.Name}, reason)
	}
	return nil
}

// NodeUpdateViolation says why a node may not change old into updated
// ("" when it may), as NodeRestriction does: no new configSource, taints
// unchanged, only allowed labels changed.
func NodeUpdateViolation(nodeName string, old, updated *corev1.Node) string {
	if updated.Spec.ConfigSource != nil && !apiequality.Semantic.DeepEqual(updated.Spec.ConfigSource, old.Spec.ConfigSource) {
		return fmt.Sprintf("node %q is not allowed to update configSource to a new non-nil configSource", nodeName)
	}
	if !apiequality.Semantic.DeepEqual(updated.Spec.Taints, old.Spec.Taints) {
		return fmt.Sprintf("node %q is not allowed to modify taints", nodeName)
	}
	if bad := forbiddenNodeLabels(modifiedLabels(updated.Labels, old.Labels)); len(bad) > 0 {
		return fmt.Sprintf("is not allowed to modify labels: %s", strings.Join(bad, ", "))
	}
	return ""
}

func nodeCreateViolation(nodeName string, n *corev1.Node) string {
	if n.Spec.ConfigSource != nil {
		return fmt.Sprintf("node %q is not allowed to create pods with a non-nil configSource", nodeName)
	}
	if bad := forbiddenNodeLabels(modifiedLabels(n.Labels, nil)); len(bad) > 0 {
		return fmt.Sprintf("node %q is not allowed to set the following labels: %s", nodeName, strings.Join(bad, ", "))
	}
	return ""
}

func modifiedLabels(a, b map[string]string) []string {
	set := map[string]bool{}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			set[k] = true
		}
	}
	for k, v := range b {
		if w, ok := a[k]; !ok || v != w {
			set[k] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// kubeletLabels are the kubernetes.io labels a kubelet may set on its Node
// (Kubernetes' kubelet well-known labels).
var kubeletLabels = map[string]bool{
	corev1.LabelHostname:                true,
	corev1.LabelTopologyZone:            true,
	corev1.LabelTopologyRegion:          true,
	corev1.LabelFailureDomainBetaZone:   true,
	corev1.LabelFailureDomainBetaRegion: true,
	corev1.LabelInstanceType:            true,
	corev1.LabelInstanceTypeStable:      true,
	corev1.LabelOSStable:                true,
	corev1.LabelArchStable:              true,
	"beta.kubernetes.io/os":             true,
	"beta.kubernetes.io/arch":           true,
}

func labelNamespace(key string) string {
	if ns, _, ok := strings.Cut(key, "/"); ok {
		return ns
	}
	return ""
}

func inLabelNamespace(ns, domain string) bool {
	return ns == domain || strings.HasSuffix(ns, "."+domain)
}

func isKubeletLabel(key string) bool {
	if kubeletLabels[key] {
		return true
	}
	ns := labelNamespace(key)
	return inLabelNamespace(ns, corev1.LabelNamespaceSuffixKubelet) || inLabelNamespace(ns, corev1.LabelNamespaceSuffixNode)
}

func forbiddenNodeLabels(keys []string) []string {
	var out []string
	for _, k := range keys {
		ns := labelNamespace(k)
		switch {
		case inLabelNamespace(ns, corev1.LabelNamespaceNodeRestriction):
			out = append(out, k)
		case (inLabelNamespace(ns, "kubernetes.io") || inLabelNamespace(ns, "k8s.io")) && !isKubeletLabel(k):
			out = append(out, k)
		}
	}
	return out
}

func (z *RequestAuthorizer) authorizeNodePods(ctx context.Context, nodeName string, a Attributes) error {
	switch a.Subresource {
	case "":
		switch a.Verb {
		case "get", "list", "watch":
			return nil
		case "create":
			pod, ok := a.Object.(*corev1.Pod)
			if !ok {
				return forbidden(a, fmt.Sprintf("unexpected type %T", a.Object))
			}
			return z.admitMirrorPod(ctx, nodeName, a, pod)
		case "delete":
			pod, err := z.boundPod(ctx, a, a.Name)
			if err != nil {
				return err
			}
			if pod.Spec.NodeName != nodeName {
				return forbidden(a, fmt.Sprintf("node %q can only delete pods with spec.nodeName set to itself", nodeName))
			}
			return nil
		}
	case "status":
		if a.Verb != "update" && a.Verb != "patch" {
			break
		}
		pod, err := z.boundPod(ctx, a, a.Name)
		if err != nil {
			return err
		}
		if pod.Spec.NodeName != nodeName {
			return forbidden(a, fmt.Sprintf("node %q can only update pod status for pods with spec.nodeName set to itself", nodeName))
		}
		// NodeRestriction also refuses label changes through pod status;
		// core/apiserver's status writes keep the stored labels, so a
		// node cannot change them this way (and a stale cached copy must
		// not make its status write fail).
		return nil
	case "eviction":
		if a.Verb != "create" {
			break
		}
		name := a.Name
		if name == "" {
			if ev, ok := a.Object.(*policyv1.Eviction); ok {
				name = ev.Name
			}
		}
		if name == "" {
			return forbidden(a, "could not determine pod from request data")
		}
		pod, err := z.boundPod(ctx, a, name)
		if err != nil {
			return err
		}
		if pod.Spec.NodeName != nodeName {
			return forbidden(a, fmt.Sprintf("node %s can only evict pods with spec.nodeName set to itself", nodeName))
		}
		return nil
	}
	return forbidden(a, "")
}

// AdmitNodePodWrite is NodeRestriction's check of a node's delete of a pod
// or update of its status against the pod the write will apply to (the
// authorizer checked an earlier read, and the pod may since have been
// replaced by one of the same name on another node): the API layer calls it
// with that pod when the user is a node, then pins the write to the pod's
// UID. It returns nil for users that are not nodes.
func AdmitNodePodWrite(u *User, verb, subresource string, pod *corev1.Pod) error {
	nodeName, isNode := NodeIdentity(u)
	if !isNode || pod == nil {
		return nil
	}
	if pod.Spec.NodeName != nodeName {
		a := Attributes{User: u, Verb: verb, Resource: "pods", Subresource: subresource, Namespace: pod.Namespace, Name: pod.Name}
		return forbidden(a, fmt.Sprintf("node %q can only %s pods with spec.nodeName set to itself", nodeName, verb))
	}
	return nil
}

// boundPod reads the stored pod. A missing pod is the NotFound error itself
// (as NodeRestriction answers); other failures are Forbidden.
func (z *RequestAuthorizer) boundPod(ctx context.Context, a Attributes, name string) (*corev1.Pod, error) {
	obj, err := z.cfg.Get(ctx, api.Pods, a.Namespace, name)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, err
		}
		return nil, forbidden(a, err.Error())
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, forbidden(a, fmt.Sprintf("unexpected type %T", obj))
	}
	return pod, nil
}

// admitMirrorPod: a node may create only mirror pods bound to itself and
// owned by its Node, referencing no other API objects (NodeRestriction).
func (z *RequestAuthorizer) admitMirrorPod(ctx context.Context, nodeName string, a Attributes, pod *corev1.Pod) error {
	if _, ok := pod.Annotations[corev1.MirrorPodAnnotationKey]; !ok {
		return forbidden(a, fmt.Sprintf("pod does not have %q annotation, node %q can only create mirror pods", corev1.MirrorPodAnnotationKey, nodeName))
	}
	if pod.Spec.NodeName != nodeName {
		return forbidden(a, fmt.Sprintf("node %q can only create pods with spec.nodeName set to itself", nodeName))
	}
	if len(pod.OwnerReferences) > 1 {
		return forbidden(a, fmt.Sprintf("node %q can only create pods with a single owner reference set to itself", nodeName))
	}
	if len(pod.OwnerReferences) == 0 {
		return forbidden(a, fmt.Sprintf("node %q can only create pods with an owner reference set to itself", nodeName))
	}
	owner := pod.OwnerReferences[0]
	if owner.APIVersion != "v1" || owner.Kind != "Node" || owner.Name != nodeName {
		return forbidden(a, fmt.Sprintf("node %q can only create pods with an owner reference set to itself", nodeName))
	}
	if owner.Controller == nil || !*owner.Controller {
		return forbidden(a, fmt.Sprintf("node %q can only create pods with a controller owner reference set to itself", nodeName))
	}
	if owner.BlockOwnerDeletion != nil && *owner.BlockOwnerDeletion {
		return forbidden(a, fmt.Sprintf("node %q must not set blockOwnerDeletion on an owner reference", nodeName))
	}
	node, err := z.cfg.Get(ctx, api.Nodes, "", nodeName)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return err
		}
		return forbidden(a, fmt.Sprintf("error looking up node %s to verify uid: %v", nodeName, err))
	}
	if owner.UID != node.GetUID() {
		return forbidden(a, fmt.Sprintf("node %s UID mismatch: expected %s got %s", nodeName, owner.UID, node.GetUID()))
	}
	if pod.Spec.ServiceAccountName != "" {
		return forbidden(a, fmt.Sprintf("node %q can not create pods that reference a service account", nodeName))
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.Secret != nil:
			return forbidden(a, fmt.Sprintf("node %q can not create pods that reference secrets", nodeName))
		case v.ConfigMap != nil:
			return forbidden(a, fmt.Sprintf("node %q can not create pods that reference configmaps", nodeName))
		case v.PersistentVolumeClaim != nil:
			return forbidden(a, fmt.Sprintf("node %q can not create pods that reference persistentvolumeclaims", nodeName))
		}
	}
	if len(pod.Spec.ImagePullSecrets) > 0 || podEnvReferences(pod, true) {
		return forbidden(a, fmt.Sprintf("node %q can not create pods that reference secrets", nodeName))
	}
	if podEnvReferences(pod, false) {
		return forbidden(a, fmt.Sprintf("node %q can not create pods that reference configmaps", nodeName))
	}
	return nil
}

// podEnvReferences reports whether any container's env or envFrom names a
// Secret (secrets true) or a ConfigMap (secrets false).
func podEnvReferences(pod *corev1.Pod, secrets bool) bool {
	var cs []corev1.Container
	cs = append(cs, pod.Spec.InitContainers...)
	cs = append(cs, pod.Spec.Containers...)
	for _, c := range cs {
		for _, e := range c.EnvFrom {
			if (secrets && e.SecretRef != nil) || (!secrets && e.ConfigMapRef != nil) {
				return true
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if (secrets && e.ValueFrom.SecretKeyRef != nil) || (!secrets && e.ValueFrom.ConfigMapKeyRef != nil) {
				return true
			}
		}
	}
	return false
}

// authorizeNodeLease: the Node authorizer's lease rule and NodeRestriction's
// lease check together.
func authorizeNodeLease(nodeName string, a Attributes) error {
	switch a.Verb {
	case "get", "create", "update", "patch", "delete":
	default:
		return forbidden(a, "can only get, create, update, patch, or delete a node lease")
	}
	if a.Subresource != "" {
		return forbidden(a, "")
	}
	if a.Namespace != corev1.NamespaceNodeLease {
		return forbidden(a, fmt.Sprintf("can only access leases in the %q system namespace", corev1.NamespaceNodeLease))
	}
	if objectName(a) != nodeName {
		return forbidden(a, "can only access node lease with the same name as the requesting node")
	}
	return nil
}

// objectName is the request's object name: from the URL, or on create from
// the object in the body.
func objectName(a Attributes) string {
	if a.Name != "" {
		return a.Name
	}
	if a.Object != nil {
		if m, err := meta.Accessor(a.Object); err == nil {
			return m.GetName()
		}
	}
	return ""
}

// forbidden builds Kubernetes' Forbidden status error for a request, with
// kube-apiserver's message: `<resource> "<name>" is forbidden: User "<user>"
// cannot <verb> resource "<resource>[/<subresource>]" in API group "<group>"
// (in the namespace "<ns>" | at the cluster scope)[: <reason>]`.
func forbidden(a Attributes, reason string) error {
	user := ""
	if a.User != nil {
		user = a.User.Name
	}
	var msg string
	if a.Resource == "" {
		msg = fmt.Sprintf("User %q cannot %s path %q", user, a.Verb, a.Path)
	} else {
		resource := a.Resource
		if a.Subresource != "" {
			resource += "/" + a.Subresource
		}
		if a.Namespace != "" {
			msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q in the namespace %q", user, a.Verb, resource, a.APIGroup, a.Namespace)
		} else {
			msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q at the cluster scope", user, a.Verb, resource, a.APIGroup)
		}
	}
	if reason != "" {
		msg += ": " + reason
	}
	return apierrors.NewForbidden(schema.GroupResource{Group: a.APIGroup, Resource: a.Resource}, a.Name, fmt.Errorf("%s", msg))
}
