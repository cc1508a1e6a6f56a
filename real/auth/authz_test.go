package auth

import (
	"context"
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
)

// fakeObjects is the authorizer's Get port over a fixed set of objects.
type fakeObjects map[string]api.Object

func (f fakeObjects) Get(_ context.Context, r *api.Resource, ns, name string) (api.Object, error) {
	if o, ok := f[r.Name+"/"+ns+"/"+name]; ok {
		return o, nil
	}
	return nil, apierrors.NewNotFound(r.GroupResource(), name)
}

func testNode(name string, mut ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-node-" + name),
		Labels: map[string]string{corev1.LabelHostname: name, corev1.LabelOSStable: "linux"}}}
	for _, m := range mut {
		m(n)
	}
	return n
}

func testPod(name, nodeName string, mut ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: nodeName}}
	for _, m := range mut {
		m(p)
	}
	return p
}

func mirrorPod(owner string, uid string, mut ...func(*corev1.Pod)) *corev1.Pod {
	yes := true
	return testPod("static-web-node-a", "node-a", append([]func(*corev1.Pod){func(p *corev1.Pod) {
		p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "hash"}
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: owner, UID: types.UID("uid-node-" + uid), Controller: &yes}}
	}}, mut...)...)
}

func lease(name string) *coordinationv1.Lease {
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: corev1.NamespaceNodeLease, Name: name}}
}

func TestAuthorizerMatrix(t *testing.T) {
	objs := fakeObjects{
		"nodes//node-a":       testNode("node-a"),
		"nodes//node-b":       testNode("node-b"),
		"pods/default/pa":     testPod("pa", "node-a"),
		"pods/default/pb":     testPod("pb", "node-b"),
		"pods/default/unsked": testPod("unsked", ""),
	}
	z, err := NewAuthorizer(AuthorizerConfig{Get: objs.Get})
	if err != nil {
		t.Fatal(err)
	}
	admin := &User{Name: AdminUser, Groups: []string{GroupMasters, GroupAuthenticated}}
	nodeA := &User{Name: "system:node:node-a", Groups: []string{GroupNodes, GroupAuthenticated}}
	oddNode := &User{Name: "bob", Groups: []string{GroupNodes, GroupAuthenticated}}
	boot := &User{Name: "system:bootstrap:abcdef", Groups: []string{GroupBootstrappers, GroupAuthenticated}}
	alice := &User{Name: "alice", Groups: []string{GroupAuthenticated}}

	const (
		allow    = 0
		deny     = 403
		notFound = 404
	)
	type tc struct {
		name string
		a    Attributes
		want int
		msg  string // the whole message when it starts with a resource, else a substring
	}
	res := func(u *User, verb, group, resource, sub, ns, name string, obj runtime.Object) Attributes {
		return Attributes{User: u, Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name, Object: obj}
	}
	path := func(u *User, p string) Attributes { return Attributes{User: u, Verb: "get", Path: p} }
	const lg = "coordination.k8s.io"
	nl := corev1.NamespaceNodeLease

	tests := []tc{
		// masters
		{"admin deletes another node", res(admin, "delete", "", "nodes", "", "", "node-b", nil), allow, ""},
		{"admin reads /metrics", path(admin, "/metrics"), allow, ""},
		{"admin creates a deployment", res(admin, "create", "apps", "deployments", "", "default", "", nil), allow, ""},

		// authenticated but unknown
		{"alice lists pods", res(alice, "list", "", "pods", "", "default", "", nil), deny,
			`pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"`},
		{"alice gets /version", path(alice, "/version"), allow, ""},
		{"alice gets discovery", path(alice, "/apis/apps/v1"), allow, ""},
		{"alice gets /metrics", path(alice, "/metrics"), deny, `forbidden: User "alice" cannot get path "/metrics"`},
		{"no user", res(nil, "get", "", "pods", "", "default", "pa", nil), deny, "no user"},

		// bootstrappers
		{"bootstrapper joins", res(boot, "create", JoinGroup, JoinResource, "", "", "", nil), allow, ""},
		{"bootstrapper lists nodes", res(boot, "list", "", "nodes", "", "", "", nil), deny, "bootstrap tokens may only join nodes"},
		{"bootstrapper gets /version", path(boot, "/version"), allow, ""},

		// nodes: reads
		{"node lists nodes", res(nodeA, "list", "", "nodes", "", "", "", nil), allow, ""},
		{"node gets another node", res(nodeA, "get", "", "nodes", "", "", "node-b", nil), allow, ""},
		{"node watches pods", res(nodeA, "watch", "", "pods", "", "", "", nil), allow, ""},
		{"node lists services", res(nodeA, "list", "", "services", "", "", "", nil), allow, ""},
		{"node lists endpoints", res(nodeA, "list", "", "endpoints", "", "", "", nil), allow, ""},
		{"node gets a namespace", res(nodeA, "get", "", "namespaces", "", "", "default", nil), allow, ""},
		{"node lists deployments", res(nodeA, "list", "apps", "deployments", "", "", "", nil), deny,
			`deployments.apps is forbidden: User "system:node:node-a" cannot list resource "deployments" in API group "apps" at the cluster scope`},
		{"node creates a service", res(nodeA, "create", "", "services", "", "default", "", nil), deny, "cannot create resource"},

		// nodes: Node objects
		{"node patches its own Node without patch admission", res(nodeA, "patch", "", "nodes", "", "", "node-a", nil), deny, "may patch only nodes/status"},
		{"node patches another node's Node", res(nodeA, "patch", "", "nodes", "", "", "node-b", nil), deny,
			`nodes "node-b" is forbidden: User "system:node:node-a" cannot patch resource "nodes" in API group "" at the cluster scope: node "node-a" is not allowed to modify node "node-b"`},
		{"node updates its own status", res(nodeA, "update", "", "nodes", "status", "", "node-a", testNode("node-a")), allow, ""},
		{"node patches its own status", res(nodeA, "patch", "", "nodes", "status", "", "node-a", nil), allow, ""},
		{"node updates another node's status", res(nodeA, "update", "", "nodes", "status", "", "node-b", testNode("node-b")), deny,
			`nodes "node-b" is forbidden: User "system:node:node-a" cannot update resource "nodes/status" in API group "" at the cluster scope: node "node-a" is not allowed to modify node "node-b"`},
		{"node updates its Node with a new label", res(nodeA, "update", "", "nodes", "", "", "node-a", testNode("node-a", func(n *corev1.Node) { n.Labels["example.com/disk"] = "ssd" })), allow, ""},
		{"node updates its Node with a kubelet label", res(nodeA, "update", "", "nodes", "", "", "node-a", testNode("node-a", func(n *corev1.Node) { n.Labels[corev1.LabelInstanceTypeStable] = "big" })), allow, ""},
		{"node gives itself a role label", res(nodeA, "update", "", "nodes", "", "", "node-a", testNode("node-a", func(n *corev1.Node) { n.Labels["node-role.kubernetes.io/control-plane"] = "" })), deny,
			"is not allowed to modify labels: node-role.kubernetes.io/control-plane"},
		{"node changes its own taints", res(nodeA, "update", "", "nodes", "", "", "node-a", testNode("node-a", func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}}
		})), deny, `node "node-a" is not allowed to modify taints`},
		{"node registers itself", res(nodeA, "create", "", "nodes", "", "", "", testNode("node-a")), allow, ""},
		{"node registers another node", res(nodeA, "create", "", "nodes", "", "", "", testNode("node-b")), deny,
			`node "node-a" is not allowed to modify node "node-b"`},
		{"node registers with a node-restriction label", res(nodeA, "create", "", "nodes", "", "", "", testNode("node-a", func(n *corev1.Node) { n.Labels["node-restriction.kubernetes.io/x"] = "y" })), deny,
			"is not allowed to set the following labels: node-restriction.kubernetes.io/x"},
		{"node deletes its own Node", res(nodeA, "delete", "", "nodes", "", "", "node-a", nil), deny, "cannot delete resource"},

		// nodes: leases
		{"node gets its lease", res(nodeA, "get", lg, "leases", "", nl, "node-a", nil), allow, ""},
		{"node updates its lease", res(nodeA, "update", lg, "leases", "", nl, "node-a", lease("node-a")), allow, ""},
		{"node creates its lease", res(nodeA, "create", lg, "leases", "", nl, "", lease("node-a")), allow, ""},
		{"node updates another node's lease", res(nodeA, "update", lg, "leases", "", nl, "node-b", lease("node-b")), deny,
			`leases.coordination.k8s.io "node-b" is forbidden: User "system:node:node-a" cannot update resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease": can only access node lease with the same name as the requesting node`},
		{"node creates another node's lease", res(nodeA, "create", lg, "leases", "", nl, "", lease("node-b")), deny, "can only access node lease with the same name"},
		{"node gets its lease in another namespace", res(nodeA, "get", lg, "leases", "", "default", "node-a", nil), deny, `can only access leases in the "kube-node-lease" system namespace`},
		{"node lists leases", res(nodeA, "list", lg, "leases", "", nl, "", nil), deny, "can only get, create, update, patch, or delete a node lease"},

		// nodes: pods
		{"node updates status of its pod", res(nodeA, "update", "", "pods", "status", "default", "pa", testPod("pa", "node-a")), allow, ""},
		{"node patches status of its pod", res(nodeA, "patch", "", "pods", "status", "default", "pa", nil), allow, ""},
		{"node updates status of another node's pod", res(nodeA, "update", "", "pods", "status", "default", "pb", testPod("pb", "node-b")), deny,
			`pods "pb" is forbidden: User "system:node:node-a" cannot update resource "pods/status" in API group "" in the namespace "default": node "node-a" can only update pod status for pods with spec.nodeName set to itself`},
		{"node patches status of an unscheduled pod", res(nodeA, "patch", "", "pods", "status", "default", "unsked", nil), deny, "can only update pod status"},
		{"node updates status of its pod from a stale copy", res(nodeA, "update", "", "pods", "status", "default", "pa", testPod("pa", "node-a", func(p *corev1.Pod) { p.Labels["app"] = "old" })), allow, ""},
		{"node updates its status from a stale copy", res(nodeA, "update", "", "nodes", "status", "", "node-a", testNode("node-a", func(n *corev1.Node) {
			n.Spec.Taints = nil
			n.Labels = nil
		})), allow, ""},
		{"node updates status of a missing pod", res(nodeA, "update", "", "pods", "status", "default", "gone", testPod("gone", "node-a")), notFound, `pods "gone" not found`},
		{"node deletes its pod", res(nodeA, "delete", "", "pods", "", "default", "pa", nil), allow, ""},
		{"node deletes another node's pod", res(nodeA, "delete", "", "pods", "", "default", "pb", nil), deny, `node "node-a" can only delete pods with spec.nodeName set to itself`},
		{"node evicts its pod", res(nodeA, "create", "", "pods", "eviction", "default", "pa", &policyv1.Eviction{}), allow, ""},
		{"node evicts another node's pod", res(nodeA, "create", "", "pods", "eviction", "default", "pb", &policyv1.Eviction{}), deny, "can only evict pods with spec.nodeName set to itself"},
		{"node updates a pod spec", res(nodeA, "update", "", "pods", "", "default", "pa", testPod("pa", "node-a")), deny, "cannot update resource \"pods\""},
		{"node reads pod logs", res(nodeA, "get", "", "pods", "log", "default", "pa", nil), deny, "cannot get resource \"pods/log\""},
		{"node binds a pod", res(nodeA, "create", "", "pods", "binding", "default", "unsked", nil), deny, "cannot create resource \"pods/binding\""},
		{"node creates a plain pod", res(nodeA, "create", "", "pods", "", "default", "", testPod("x", "node-a")), deny, "can only create mirror pods"},
		{"node creates its mirror pod", res(nodeA, "create", "", "pods", "", "default", "", mirrorPod("node-a", "node-a")), allow, ""},
		{"node creates a mirror pod for another node", res(nodeA, "create", "", "pods", "", "default", "", mirrorPod("node-a", "node-a", func(p *corev1.Pod) { p.Spec.NodeName = "node-b" })), deny,
			"can only create pods with spec.nodeName set to itself"},
		{"node creates a mirror pod with a stale node UID", res(nodeA, "create", "", "pods", "", "default", "", mirrorPod("node-a", "old")), deny, "UID mismatch"},
		{"node creates a mirror pod using a secret", res(nodeA, "create", "", "pods", "", "default", "", mirrorPod("node-a", "node-a", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}}}
		})), deny, "can not create pods that reference secrets"},

		// nodes: events
		{"node creates an event", res(nodeA, "create", "", "events", "", "default", "", nil), allow, ""},
		{"node patches an event", res(nodeA, "patch", "", "events", "", "default", "e1", nil), allow, ""},
		{"node deletes an event", res(nodeA, "delete", "", "events", "", "default", "e1", nil), deny, "cannot delete resource \"events\""},

		// nodes: join (renewal)
		{"node renews through join", res(nodeA, "create", JoinGroup, JoinResource, "", "", "", nil), allow, ""},

		// a system:nodes member without a node name
		{"unidentifiable node", res(oddNode, "get", "", "nodes", "", "", "node-a", nil), deny, `unknown node for user "bob"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := z.Authorize(context.Background(), tt.a)
			switch tt.want {
			case allow:
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				return
			case deny:
				if !apierrors.IsForbidden(err) {
					t.Fatalf("err = %v, want Forbidden", err)
				}
			case notFound:
				if !apierrors.IsNotFound(err) {
					t.Fatalf("err = %v, want NotFound", err)
				}
			}
			msg := err.Error()
			if strings.Contains(tt.msg, " is forbidden: ") || strings.HasPrefix(tt.msg, "forbidden: ") {
				if msg != tt.msg {
					t.Fatalf("message\n got %s\nwant %s", msg, tt.msg)
				}
			} else if !strings.Contains(msg, tt.msg) {
				t.Fatalf("message %q does not contain %q", msg, tt.msg)
			}
		})
	}
}

func TestNodePatchesAdmitted(t *testing.T) {
	objs := fakeObjects{"nodes//node-a": testNode("node-a")}
	nodeA := &User{Name: "system:node:node-a", Groups: []string{GroupNodes}}
	tests := []struct {
		name     string
		admitted bool
		node     string
		sub      string
		ok       bool
	}{
		{"own Node, patches admitted", true, "node-a", "", true},
		{"own Node, patches not admitted", false, "node-a", "", false},
		{"own status, patches not admitted", false, "node-a", "status", true},
		{"other Node, patches admitted", true, "node-b", "", false},
		{"other status, patches admitted", true, "node-b", "status", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z, err := NewAuthorizer(AuthorizerConfig{Get: objs.Get, NodePatchesAdmitted: tt.admitted})
			if err != nil {
				t.Fatal(err)
			}
			err = z.Authorize(context.Background(), Attributes{User: nodeA, Verb: "patch", Resource: "nodes", Subresource: tt.sub, Name: tt.node})
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestAdmitNodeUpdate(t *testing.T) {
	nodeA := &User{Name: "system:node:node-a", Groups: []string{GroupNodes}}
	admin := &User{Name: AdminUser, Groups: []string{GroupMasters}}
	old := testNode("node-a")
	tests := []struct {
		name    string
		u       *User
		updated *corev1.Node
		ok      bool
	}{
		{"node changes status only", nodeA, testNode("node-a", func(n *corev1.Node) { n.Status.Phase = corev1.NodeRunning }), true},
		{"node untaints itself by patch", nodeA, testNode("node-a", func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoExecute}} }), false},
		{"node sets a kubernetes.io label", nodeA, testNode("node-a", func(n *corev1.Node) { n.Labels["kubernetes.io/role"] = "master" }), false},
		{"admin taints the node", admin, testNode("node-a", func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoExecute}} }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := AdmitNodeUpdate(tt.u, "patch", "", old, tt.updated)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !apierrors.IsForbidden(err) {
				t.Fatalf("err = %v, want Forbidden", err)
			}
		})
	}
}

func TestNewAuthorizerNeedsGet(t *testing.T) {
	if _, err := NewAuthorizer(AuthorizerConfig{}); err == nil {
		t.Fatal("NewAuthorizer without Get succeeded")
	}
}
