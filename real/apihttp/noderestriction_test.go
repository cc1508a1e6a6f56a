package apihttp_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/real/apihttp"
	"github.com/drydock-sim/drydock/real/auth"
)

// nodeHeaderAuth authenticates X-User; system:node:* users are nodes.
type nodeHeaderAuth struct{}

func (nodeHeaderAuth) Authenticate(r *http.Request) (*auth.User, error) {
	u := r.Header.Get("X-User")
	if u == "" {
		return nil, auth.ErrUnauthenticated
	}
	if strings.HasPrefix(u, auth.NodeUserPrefix) {
		return &auth.User{Name: u, Groups: []string{auth.GroupNodes, auth.GroupAuthenticated}}, nil
	}
	return &auth.User{Name: u, Groups: []string{auth.GroupMasters, auth.GroupAuthenticated}}, nil
}

// A node's PUT of its own Node is judged (NodeRestriction: taints
// unchanged) against the object it replaces. When an admin taints the node
// between the authoriser's check and the write, the node's write, sent
// without a resourceVersion, must not remove the taint.
func TestNodeUpdateCannotDropATaintAddedAfterTheCheck(t *testing.T) {
	var e *env
	var mu sync.Mutex
	armed := false
	get := func(ctx context.Context, r *api.Resource, ns, name string) (api.Object, error) {
		obj, err := e.api.Get(ctx, r, ns, name)
		mu.Lock()
		fire := armed && r == api.Nodes && err == nil
		armed = false
		mu.Unlock()
		if fire {
			// The admin's write lands right after the check read the node.
			n := obj.DeepCopyObject().(*corev1.Node)
			n.ResourceVersion = ""
			n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}
			if _, err := e.api.Update(ctx, n, ""); err != nil {
				t.Errorf("admin taint: %v", err)
			}
		}
		return obj, err
	}
	az, err := auth.NewAuthorizer(auth.AuthorizerConfig{Get: get})
	if err != nil {
		t.Fatal(err)
	}
	e = newEnv(t, apihttp.Config{Authenticator: nodeHeaderAuth{}, Authorizer: az}, 0)
	e.create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}})

	mu.Lock()
	armed = true
	mu.Unlock()
	body := `{"kind":"Node","apiVersion":"v1","metadata":{"name":"n1","labels":{"example.com/rack":"r1"}},"spec":{}}`
	r := e.do("PUT", "/api/v1/nodes/n1", body, "X-User", "system:node:n1")
	cur, err := e.api.Get(context.Background(), api.Nodes, "", "n1")
	if err != nil {
		t.Fatal(err)
	}
	if taints := cur.(*corev1.Node).Spec.Taints; len(taints) != 1 {
		t.Fatalf("node's PUT answered %d and left taints %v: the admin's taint was dropped", r.code, taints)
	}
	if r.code != http.StatusForbidden && r.code != http.StatusConflict {
		t.Fatalf("node's PUT: %d %s, want 403 or 409", r.code, r.body)
	}

	// Without a race the same write goes through (the label is the node's
	// to set), against the current, tainted object.
	body = `{"kind":"Node","apiVersion":"v1","metadata":{"name":"n1","labels":{"example.com/rack":"r1"}},
		"spec":{"taints":[{"key":"dedicated","value":"db","effect":"NoSchedule"}]}}`
	if r := e.do("PUT", "/api/v1/nodes/n1", body, "X-User", "system:node:n1"); r.code != http.StatusOK {
		t.Fatalf("node's PUT keeping the taint: %d %s", r.code, r.body)
	}
}

// A node may delete, and write the status of, only pods bound to it. When
// the pod it was checked against is replaced, between the check and the
// write, by a pod of the same name on another node, the write must not
// reach the new pod.
func TestNodePodWriteCannotReachAPodRecreatedAfterTheCheck(t *testing.T) {
	tests := []struct {
		name, method, path, body, ctype string
	}{
		{"delete", "DELETE", "/api/v1/namespaces/default/pods/p1", "", ""},
		{"status update without uid", "PUT", "/api/v1/namespaces/default/pods/p1/status",
			`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p1","namespace":"default"},"status":{"phase":"Failed","message":"spoofed"}}`, ""},
		{"status merge patch", "PATCH", "/api/v1/namespaces/default/pods/p1/status",
			`{"status":{"phase":"Failed","message":"spoofed"}}`, "application/merge-patch+json"},
		{"status strategic merge patch", "PATCH", "/api/v1/namespaces/default/pods/p1/status",
			`{"status":{"phase":"Failed","message":"spoofed"}}`, "application/strategic-merge-patch+json"},
		{"status JSON patch", "PATCH", "/api/v1/namespaces/default/pods/p1/status",
			`[{"op":"add","path":"/status/message","value":"spoofed"}]`, "application/json-patch+json"},
		{"eviction", "POST", "/api/v1/namespaces/default/pods/p1/eviction",
			`{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"p1","namespace":"default"}}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e *env
			var mu sync.Mutex
			armed := false
			get := func(ctx context.Context, r *api.Resource, ns, name string) (api.Object, error) {
				obj, err := e.api.Get(ctx, r, ns, name)
				mu.Lock()
				fire := armed && r == api.Pods && err == nil
				armed = false
				mu.Unlock()
				if fire {
					// The pod is replaced right after the check read it.
					if _, _, err := e.api.Delete(ctx, api.Pods, ns, name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
						t.Errorf("delete: %v", err)
					}
					p := testPod(name)
					p.Spec.NodeName = "n2"
					e.create(p)
				}
				return obj, err
			}
			az, err := auth.NewAuthorizer(auth.AuthorizerConfig{Get: get})
			if err != nil {
				t.Fatal(err)
			}
			e = newEnv(t, apihttp.Config{Authenticator: nodeHeaderAuth{}, Authorizer: az}, 0)
			p := testPod("p1")
			p.Spec.NodeName = "n1"
			e.create(p)

			mu.Lock()
			armed = true
			mu.Unlock()
			hdr := []string{"X-User", "system:node:n1"}
			if tc.ctype != "" {
				hdr = append(hdr, "Content-Type", tc.ctype)
			}
			r := e.do(tc.method, tc.path, tc.body, hdr...)
			cur, err := e.api.Get(context.Background(), api.Pods, "default", "p1")
			if err != nil {
				t.Fatalf("node n1's %s (answered %d) reached n2's pod: %v", tc.method, r.code, err)
			}
			pod := cur.(*corev1.Pod)
			if pod.Spec.NodeName != "n2" || pod.DeletionTimestamp != nil || pod.Status.Message == "spoofed" {
				t.Fatalf("node n1's %s (answered %d) reached n2's pod: %+v", tc.method, r.code, pod.Status)
			}
			if r.code != http.StatusForbidden && r.code != http.StatusConflict {
				t.Fatalf("%s: %d %s, want 403 or 409", tc.method, r.code, r.body)
			}
		})
	}
}

// Without a race, a node's writes to its own pod go through with every patch
// type (the UID the layer pins is the pod's own).
func TestNodePodWritesToItsOwnPod(t *testing.T) {
	var e *env
	az, err := auth.NewAuthorizer(auth.AuthorizerConfig{Get: func(ctx context.Context, r *api.Resource, ns, name string) (api.Object, error) {
		return e.api.Get(ctx, r, ns, name)
	}})
	if err != nil {
		t.Fatal(err)
	}
	e = newEnv(t, apihttp.Config{Authenticator: nodeHeaderAuth{}, Authorizer: az}, 0)
	p := testPod("p1")
	p.Spec.NodeName = "n1"
	e.create(p)
	for _, tc := range []struct{ ctype, body, want string }{
		{"application/merge-patch+json", `{"status":{"message":"m1"}}`, "m1"},
		{"application/strategic-merge-patch+json", `{"status":{"message":"m2"}}`, "m2"},
		{"application/json-patch+json", `[{"op":"add","path":"/status/message","value":"m3"}]`, "m3"},
	} {
		r := e.do("PATCH", "/api/v1/namespaces/default/pods/p1/status", tc.body, "X-User", "system:node:n1", "Content-Type", tc.ctype)
		if r.code != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.ctype, r.code, r.body)
		}
		cur, _ := e.api.Get(context.Background(), api.Pods, "default", "p1")
		if got := cur.(*corev1.Pod).Status.Message; got != tc.want {
			t.Fatalf("%s: message %q, want %q", tc.ctype, got, tc.want)
		}
	}
	// Another node's pod stays out of reach.
	r := e.do("PATCH", "/api/v1/namespaces/default/pods/p1/status", `{"status":{"message":"x"}}`,
		"X-User", "system:node:n2", "Content-Type", "application/merge-patch+json")
	if r.code != http.StatusForbidden {
		t.Fatalf("n2 patching n1's pod: %d %s", r.code, r.body)
	}
	if r := e.do("POST", "/api/v1/namespaces/default/pods/p1/eviction",
		`{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"p1","namespace":"default"}}`, "X-User", "system:node:n1"); r.code != http.StatusCreated {
		t.Fatalf("n1 evicting its pod: %d %s", r.code, r.body)
	}
}

// With AuthorizerConfig.NodePatchesAdmitted the authoriser lets a node's
// patch of its own Node through, and the HTTP layer applies NodeRestriction
// to the patched object.
func TestNodePatchOfItsOwnNodeIsAdmitted(t *testing.T) {
	var e *env
	az, err := auth.NewAuthorizer(auth.AuthorizerConfig{NodePatchesAdmitted: true,
		Get: func(ctx context.Context, r *api.Resource, ns, name string) (api.Object, error) {
			return e.api.Get(ctx, r, ns, name)
		}})
	if err != nil {
		t.Fatal(err)
	}
	e = newEnv(t, apihttp.Config{Authenticator: nodeHeaderAuth{}, Authorizer: az}, 0)
	for _, n := range []string{"n1", "n2"} {
		e.create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}, Spec: corev1.NodeSpec{
			Taints: []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}}})
	}
	tests := []struct {
		name, node, ctype, body string
		code                    int
	}{
		{"own label", "n1", "application/merge-patch+json", `{"metadata":{"labels":{"example.com/rack":"r1"}}}`, 200},
		{"own label, strategic", "n1", "application/strategic-merge-patch+json", `{"metadata":{"labels":{"example.com/row":"2"}}}`, 200},
		{"drop own taints", "n1", "application/merge-patch+json", `{"spec":{"taints":null}}`, 403},
		{"drop own taints, JSON patch", "n1", "application/json-patch+json", `[{"op":"remove","path":"/spec/taints"}]`, 403},
		{"restricted label", "n1", "application/merge-patch+json", `{"metadata":{"labels":{"node-restriction.kubernetes.io/x":"y"}}}`, 403},
		{"another node", "n2", "application/merge-patch+json", `{"metadata":{"labels":{"example.com/rack":"r1"}}}`, 403},
		{"stale resourceVersion", "n1", "application/merge-patch+json", `{"metadata":{"resourceVersion":"1","labels":{"a":"b"}}}`, 409},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("PATCH", "/api/v1/nodes/"+tc.node, tc.body, "X-User", "system:node:n1", "Content-Type", tc.ctype)
			if r.code != tc.code {
				t.Fatalf("%d %s, want %d", r.code, r.body, tc.code)
			}
		})
	}
	cur, _ := e.api.Get(context.Background(), api.Nodes, "", "n1")
	n := cur.(*corev1.Node)
	if len(n.Spec.Taints) != 1 || n.Labels["example.com/rack"] != "r1" || n.Labels["example.com/row"] != "2" {
		t.Fatalf("node n1 after the patches: labels %v taints %v", n.Labels, n.Spec.Taints)
	}
}

// A dry-run delete goes through NodeRestriction like a real one: a node may
// not even ask what deleting another node's pod would do; its own pod's
// answer carries the deletionTimestamp and nothing is written.
func TestNodeDryRunDelete(t *testing.T) {
	var e *env
	az, err := auth.NewAuthorizer(auth.AuthorizerConfig{Get: func(ctx context.Context, r *api.Resource, ns, name string) (api.Object, error) {
		return e.api.Get(ctx, r, ns, name)
	}})
	if err != nil {
		t.Fatal(err)
	}
	e = newEnv(t, apihttp.Config{Authenticator: nodeHeaderAuth{}, Authorizer: az}, 0)
	for _, n := range []string{"n1", "n2"} {
		p := testPod("on-" + n)
		p.Spec.NodeName = n
		e.create(p)
	}
	if r := e.do("DELETE", "/api/v1/namespaces/default/pods/on-n2?dryRun=All", "", "X-User", "system:node:n1"); r.code != http.StatusForbidden {
		t.Errorf("node n1's dry-run delete of n2's pod: %d %s, want 403", r.code, r.body)
	}
	r := e.do("DELETE", "/api/v1/namespaces/default/pods/on-n1?dryRun=All", "", "X-User", "system:node:n1")
	if r.code != http.StatusOK || !strings.Contains(string(r.body), `"deletionTimestamp"`) {
		t.Errorf("node n1's dry-run delete of its own pod: %d %s, want 200 with a deletionTimestamp", r.code, r.body)
	}
	for _, name := range []string{"on-n1", "on-n2"} {
		cur, err := e.api.Get(context.Background(), api.Pods, "default", name)
		if err != nil || cur.GetDeletionTimestamp() != nil {
			t.Errorf("%s after the dry runs: %v, deletionTimestamp %v", name, err, cur.GetDeletionTimestamp())
		}
	}
}
