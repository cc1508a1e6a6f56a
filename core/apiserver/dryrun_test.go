package apiserver_test

import (
	"net/http"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
)

var (
	dryUpdate = metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}
	dryPatch  = metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}}
)

// untouched records the store's revision, the stored object and every watch
// event from now on, and checks at the end that none of them moved.
type untouched struct {
	h      *harness.Harness
	r      *api.Resource
	ns     string
	name   string
	rev    int64
	before api.Object
	events []api.WatchEvent
}

func watchUntouched(t *testing.T, h *harness.Harness, r *api.Resource, ns, name string) *untouched {
	t.Helper()
	u := &untouched{h: h, r: r, ns: ns, name: name, rev: h.Store.Revision()}
	var err error
	if u.before, err = h.API.Get(ctx, r, ns, name); err != nil {
		t.Fatal(err)
	}
	stop, err := h.API.Watch(ctx, r, "", metav1.ListOptions{ResourceVersion: u.before.GetResourceVersion()}, func(ev api.WatchEvent) {
		u.events = append(u.events, ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return u
}

func (u *untouched) check(t *testing.T) {
	t.Helper()
	u.h.Settle()
	if rev := u.h.Store.Revision(); rev != u.rev {
		t.Errorf("store revision moved: %d -> %d", u.rev, rev)
	}
	if len(u.events) > 0 {
		t.Errorf("dry run fired %d watch events, first %s", len(u.events), u.events[0].Type)
	}
	after, err := u.h.API.Get(ctx, u.r, u.ns, u.name)
	if err != nil {
		t.Fatalf("after the dry run: %v", err)
	}
	if !apiequality.Semantic.DeepEqual(u.before, after) {
		t.Errorf("stored object changed:\nbefore %+v\nafter  %+v", u.before, after)
	}
}

// TestDryRunUpdateAndPatch: a dry-run update or patch answers what the write
// would (generation bumped on a spec change, status kept on the main
// resource, spec kept on status, the stored resourceVersion) and leaves the
// store, its revision and watchers untouched.
func TestDryRunUpdateAndPatch(t *testing.T) {
	type write func(h *harness.Harness, d *appsv1.Deployment) (api.Object, error)
	update := func(sub string, change func(*appsv1.Deployment)) write {
		return func(h *harness.Harness, d *appsv1.Deployment) (api.Object, error) {
			up := d.DeepCopy()
			change(up)
			return h.API.UpdateWithOptions(ctx, up, sub, dryUpdate)
		}
	}
	patch := func(pt types.PatchType, data, sub string) write {
		return func(h *harness.Harness, d *appsv1.Deployment) (api.Object, error) {
			return h.API.PatchWithOptions(ctx, api.Deployments, "default", "web", pt, []byte(data), sub, dryPatch)
		}
	}
	for _, tc := range []struct {
		name     string
		write    write
		gen      int64
		replicas int32
		status   int32
		image    string
	}{
		{"update spec", update("", func(d *appsv1.Deployment) {
			d.Spec.Replicas = ptr(int32(3))
			d.Status.Replicas = 7 // ignored on the main resource
		}), 2, 3, 0, "nginx:1"},
		{"update unconditional", update("", func(d *appsv1.Deployment) {
			d.ResourceVersion = ""
			d.Spec.Template.Spec.Containers[0].Image = "nginx:2"
		}), 2, 1, 0, "nginx:2"},
		{"update labels only", update("", func(d *appsv1.Deployment) {
			d.Labels = map[string]string{"tier": "web"}
		}), 1, 1, 0, "nginx:1"},
		{"update status", update("status", func(d *appsv1.Deployment) {
			d.Status.Replicas = 4
			d.Spec.Replicas = ptr(int32(9)) // ignored on status
		}), 1, 1, 4, "nginx:1"},
		{"no-op update", update("", func(*appsv1.Deployment) {}), 1, 1, 0, "nginx:1"},
		{"merge patch", patch(types.MergePatchType, `{"spec":{"replicas":4}}`, ""), 2, 4, 0, "nginx:1"},
		{"strategic merge patch", patch(types.StrategicMergePatchType,
			`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"nginx:3"}]}}}}`, ""), 2, 1, 0, "nginx:3"},
		{"JSON patch", patch(types.JSONPatchType, `[{"op":"replace","path":"/spec/replicas","value":6}]`, ""), 2, 6, 0, "nginx:1"},
		{"status patch", patch(types.MergePatchType, `{"status":{"replicas":2},"spec":{"replicas":8}}`, "status"), 1, 1, 2, "nginx:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := harness.New(t)
			d := h.Create(deployment("web", 1)).(*appsv1.Deployment)
			u := watchUntouched(t, h, api.Deployments, "default", "web")
			got, err := tc.write(h, d)
			if err != nil {
				t.Fatal(err)
			}
			g := got.(*appsv1.Deployment)
			if g.Generation != tc.gen || *g.Spec.Replicas != tc.replicas || g.Status.Replicas != tc.status ||
				g.Spec.Template.Spec.Containers[0].Image != tc.image {
				t.Errorf("answer: generation %d replicas %d status %d image %s, want %d %d %d %s", g.Generation,
					*g.Spec.Replicas, g.Status.Replicas, g.Spec.Template.Spec.Containers[0].Image, tc.gen, tc.replicas, tc.status, tc.image)
			}
			if g.ResourceVersion != d.ResourceVersion || g.UID != d.UID || g.Kind != "Deployment" {
				t.Errorf("answer's metadata: rv %s uid %s kind %q, want rv %s uid %s", g.ResourceVersion, g.UID, g.Kind, d.ResourceVersion, d.UID)
			}
			// Defaulting ran: the strategy the create defaulted is there.
			if g.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
				t.Errorf("strategy %q not defaulted", g.Spec.Strategy.Type)
			}
			u.check(t)
		})
	}
}

// TestDryRunMatchesRealWrite: apart from the resourceVersion, a dry run's
// answer is the real write's.
func TestDryRunMatchesRealWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		pt   types.PatchType
		data string
		sub  string
	}{
		{"spec", types.MergePatchType, `{"spec":{"replicas":4},"metadata":{"labels":{"a":"b"}}}`, ""},
		{"status", types.MergePatchType, `{"status":{"readyReplicas":1}}`, "status"},
		{"no-op", types.MergePatchType, `{"spec":{"replicas":1}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := harness.New(t)
			h.Create(deployment("web", 1))
			dry, err := h.API.PatchWithOptions(ctx, api.Deployments, "default", "web", tc.pt, []byte(tc.data), tc.sub, dryPatch)
			if err != nil {
				t.Fatal(err)
			}
			real, err := h.API.Patch(ctx, api.Deployments, "default", "web", tc.pt, []byte(tc.data), tc.sub)
			if err != nil {
				t.Fatal(err)
			}
			cp := real.DeepCopyObject().(api.Object)
			cp.SetResourceVersion(dry.GetResourceVersion())
			if !apiequality.Semantic.DeepEqual(dry, cp) {
				t.Errorf("dry run answered\n%+v\nthe write\n%+v", dry, real)
			}
		})
	}
}

// TestDryRunErrors: a dry run fails as the write would, and an invalid
// dryRun value is refused.
func TestDryRunErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(h *harness.Harness, d *appsv1.Deployment) error
		code  int32
	}{
		{"validation", func(h *harness.Harness, d *appsv1.Deployment) error {
			up := d.DeepCopy()
			up.Spec.Replicas = ptr(int32(-1))
			_, err := h.API.UpdateWithOptions(ctx, up, "", dryUpdate)
			return err
		}, http.StatusUnprocessableEntity},
		{"stale resourceVersion", func(h *harness.Harness, d *appsv1.Deployment) error {
			up := d.DeepCopy()
			up.ResourceVersion = "1"
			_, err := h.API.UpdateWithOptions(ctx, up, "", dryUpdate)
			return err
		}, http.StatusConflict},
		{"UID precondition", func(h *harness.Harness, d *appsv1.Deployment) error {
			up := d.DeepCopy()
			up.UID = "other"
			_, err := h.API.UpdateWithOptions(ctx, up, "", dryUpdate)
			return err
		}, http.StatusConflict},
		{"missing object", func(h *harness.Harness, d *appsv1.Deployment) error {
			up := d.DeepCopy()
			up.Name = "nope"
			_, err := h.API.UpdateWithOptions(ctx, up, "", dryUpdate)
			return err
		}, http.StatusNotFound},
		{"invalid patch result", func(h *harness.Harness, d *appsv1.Deployment) error {
			_, err := h.API.PatchWithOptions(ctx, api.Deployments, "default", "web", types.MergePatchType,
				[]byte(`{"spec":{"selector":{"matchLabels":{"app":"other"}}}}`), "", dryPatch)
			return err
		}, http.StatusUnprocessableEntity},
		{"patch conflict", func(h *harness.Harness, d *appsv1.Deployment) error {
			_, err := h.API.PatchWithOptions(ctx, api.Deployments, "default", "web", types.MergePatchType,
				[]byte(`{"metadata":{"resourceVersion":"1"},"spec":{"replicas":2}}`), "", dryPatch)
			return err
		}, http.StatusConflict},
		{"bad JSON patch", func(h *harness.Harness, d *appsv1.Deployment) error {
			_, err := h.API.PatchWithOptions(ctx, api.Deployments, "default", "web", types.JSONPatchType,
				[]byte(`[{"op":"replace","path":"/spec/nope/x","value":1}]`), "", dryPatch)
			return err
		}, http.StatusBadRequest},
		{"unknown dryRun value", func(h *harness.Harness, d *appsv1.Deployment) error {
			_, err := h.API.UpdateWithOptions(ctx, d.DeepCopy(), "", metav1.UpdateOptions{DryRun: []string{"Some"}})
			return err
		}, http.StatusUnprocessableEntity},
		{"unknown dryRun value on patch", func(h *harness.Harness, d *appsv1.Deployment) error {
			_, err := h.API.PatchWithOptions(ctx, api.Deployments, "default", "web", types.MergePatchType,
				[]byte(`{}`), "", metav1.PatchOptions{DryRun: []string{metav1.DryRunAll, "All"}})
			return err
		}, http.StatusUnprocessableEntity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := harness.New(t)
			d := h.Create(deployment("web", 1)).(*appsv1.Deployment)
			u := watchUntouched(t, h, api.Deployments, "default", "web")
			if err := tc.write(h, d); code(err) != tc.code {
				t.Errorf("error %v (code %d), want code %d", err, code(err), tc.code)
			}
			u.check(t)
		})
	}
}

// TestDryRunFinalizingUpdate: an update that empties a deleting Service's
// finalizers would delete it and free its ClusterIP; a dry run answers with
// the stored Service, which stays, and the IP stays allocated.
func TestDryRunFinalizingUpdate(t *testing.T) {
	h := harness.New(t)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "default", Finalizers: []string{"example.com/hold"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}}
	a := h.Create(svc).(*corev1.Service)
	if _, gone, err := h.API.Delete(ctx, api.Services, "default", "a", metav1.DeleteOptions{}); err != nil || gone {
		t.Fatalf("delete: gone %v, %v", gone, err)
	}
	cur, err := h.API.Get(ctx, api.Services, "default", "a")
	if err != nil {
		t.Fatal(err)
	}
	u := watchUntouched(t, h, api.Services, "default", "a")
	up := cur.DeepCopyObject().(*corev1.Service)
	up.Finalizers = nil
	got, err := h.API.UpdateWithOptions(ctx, up, "", dryUpdate)
	if err != nil {
		t.Fatal(err)
	}
	if !apiequality.Semantic.DeepEqual(got, cur) {
		t.Errorf("answer %+v, want the stored Service %+v", got, cur)
	}
	u.check(t)
	other := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "default"},
		Spec: corev1.ServiceSpec{ClusterIP: a.Spec.ClusterIP, Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := h.API.Create(ctx, other, metav1.CreateOptions{}); code(err) != http.StatusUnprocessableEntity {
		t.Errorf("the ClusterIP was released by a dry run: create with it gave %v", err)
	}
	// The real update deletes the Service and frees the IP.
	if _, err := h.API.Update(ctx, up, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.API.Get(ctx, api.Services, "default", "a"); !apierrors.IsNotFound(err) {
		t.Errorf("after the real update: %v", err)
	}
	if _, err := h.API.Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Errorf("released IP not reusable: %v", err)
	}
}

// TestDryRunPodStatus: a dry-run pods/status update (what a kubelet's
// write would be) changes only status in the answer and nothing stored.
func TestDryRunPodStatus(t *testing.T) {
	h := harness.New(t)
	p := h.Create(pod("p")).(*corev1.Pod)
	u := watchUntouched(t, h, api.Pods, "default", "p")
	up := p.DeepCopy()
	up.Status.Phase = corev1.PodRunning
	up.Status.PodIP = "10.244.0.5"
	up.Labels = map[string]string{"changed": "yes"} // ignored on status
	got, err := h.API.UpdateWithOptions(ctx, up, "status", dryUpdate)
	if err != nil {
		t.Fatal(err)
	}
	g := got.(*corev1.Pod)
	if g.Status.Phase != corev1.PodRunning || g.Status.PodIP != "10.244.0.5" || g.Labels["app"] != "web" || g.Labels["changed"] != "" {
		t.Errorf("answer: phase %s ip %s labels %v", g.Status.Phase, g.Status.PodIP, g.Labels)
	}
	if g.ResourceVersion != p.ResourceVersion {
		t.Errorf("answer rv %s, want %s", g.ResourceVersion, p.ResourceVersion)
	}
	u.check(t)
}

// TestDryRunDelete: a dry-run delete answers what the delete would (the
// object for an immediate delete, with gone; the deletionTimestamp of a
// graceful or foreground delete) and writes nothing; a bad value is 422.
func TestDryRunDelete(t *testing.T) {
	dry := metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}
	fg := metav1.DeletePropagationForeground
	dryFg := metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}, PropagationPolicy: &fg}
	tests := []struct {
		name     string
		res      *api.Resource
		setup    func(h *harness.Harness)
		opts     metav1.DeleteOptions
		wantGone bool
		wantTS   bool
	}{
		{name: "unbound pod, immediate", res: api.Pods, opts: dry, wantGone: true,
			setup: func(h *harness.Harness) { h.Create(pod("x")) }},
		{name: "bound pod, graceful", res: api.Pods, opts: dry, wantTS: true,
			setup: func(h *harness.Harness) {
				h.Create(pod("x"))
				if err := h.API.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "default"},
					Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "deployment, foreground", res: api.Deployments, opts: dryFg, wantTS: true,
			setup: func(h *harness.Harness) { h.Create(deployment("x", 1)) }},
		{name: "service, immediate", res: api.Services, opts: dry, wantGone: true,
			setup: func(h *harness.Harness) {
				h.Create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "default"},
					Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := harness.New(t)
			tt.setup(h)
			u := watchUntouched(t, h, tt.res, "default", "x")
			got, gone, err := h.API.Delete(ctx, tt.res, "default", "x", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if gone != tt.wantGone || (got.GetDeletionTimestamp() != nil) != tt.wantTS {
				t.Errorf("gone %v, deletionTimestamp %v; want gone %v, timestamp %v", gone, got.GetDeletionTimestamp(), tt.wantGone, tt.wantTS)
			}
			if got.GetResourceVersion() != u.before.GetResourceVersion() {
				t.Errorf("answer's resourceVersion %s, stored %s", got.GetResourceVersion(), u.before.GetResourceVersion())
			}
			u.check(t)
			if svc, ok := u.before.(*corev1.Service); ok {
				other := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "y", Namespace: "default"},
					Spec: corev1.ServiceSpec{ClusterIP: svc.Spec.ClusterIP, Ports: []corev1.ServicePort{{Port: 80}}}}
				if _, err := h.API.Create(ctx, other, metav1.CreateOptions{}); code(err) != http.StatusUnprocessableEntity {
					t.Errorf("the dry run released the ClusterIP: create with it gave %v", err)
				}
			}
		})
	}
	h := harness.New(t)
	h.Create(pod("x"))
	if _, _, err := h.API.Delete(ctx, api.Pods, "default", "x", metav1.DeleteOptions{DryRun: []string{"Some"}}); code(err) != http.StatusUnprocessableEntity {
		t.Errorf("dryRun [Some]: %v, want 422", err)
	}
}
