package namespace

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
)

func setup(t *testing.T, nsFinalizers ...corev1.FinalizerName) (*harness.Harness, *Controller) {
	h := harness.New(t)
	c := New(Config{Client: h.Client, Clock: h.Clock, Namespaces: h.Informer(api.Namespaces)})
	ns := h.Create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}).(*corev1.Namespace).DeepCopy()
	if nsFinalizers != nil {
		// The API server only sets "kubernetes" on create; add others after.
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, nsFinalizers...)
		if _, err := h.API.Update(context.Background(), ns, "finalize"); err != nil {
			t.Fatal(err)
		}
	}
	lbl := map[string]string{"app": "web"}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img:1"}}}}
	h.Create(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: lbl}, Template: tmpl}})
	h.Create(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bound", Namespace: "team"},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: tmpl.Spec.Containers}})
	h.Create(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pending", Namespace: "team"}, Spec: tmpl.Spec})
	h.Create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team", Finalizers: []string{"example.com/hold"}},
		Spec: corev1.ServiceSpec{Selector: lbl, Ports: []corev1.ServicePort{{Port: 80}}}})
	h.Create(&corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team"}})
	h.Create(&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "lock", Namespace: "team"}})
	h.Create(&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "ev", Namespace: "team"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "team", Name: "bound"}})
	// Content elsewhere must survive.
	h.Create(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bystander", Namespace: "default"}, Spec: tmpl.Spec})
	h.Settle()
	return h, c
}

func cond(ns *corev1.Namespace, t corev1.NamespaceConditionType) corev1.NamespaceCondition {
	for _, c := range ns.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.NamespaceCondition{}
}

func contentNames(h *harness.Harness) []string {
	var out []string
	for _, r := range api.All {
		if !r.Namespaced {
			continue
		}
		for _, o := range h.List(r, "team", "") {
			out = append(out, r.Name+"/"+o.GetName())
		}
	}
	return out
}

func TestNamespaceDeletion(t *testing.T) {
	h, _ := setup(t)
	ctx := context.Background()
	if _, _, err := h.API.Delete(ctx, api.Namespaces, "", "team", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.Settle()
	ns := h.Get(api.Namespaces, "", "team").(*corev1.Namespace)
	if got := contentNames(h); len(got) != 2 || got[0] != "pods/bound" || got[1] != "services/web" {
		t.Fatalf("content after first pass = %v, want the terminating pod and the held service", got)
	}
	checks := []struct {
		typ    corev1.NamespaceConditionType
		status corev1.ConditionStatus
		msg    string
	}{
		{corev1.NamespaceDeletionContentFailure, corev1.ConditionFalse, "All content successfully deleted, may be waiting on finalization"},
		{corev1.NamespaceContentRemaining, corev1.ConditionTrue, "Some resources are remaining: pods. has 1 resource instances, services. has 1 resource instances"},
		{corev1.NamespaceFinalizersRemaining, corev1.ConditionTrue, "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"},
	}
	for _, c := range checks {
		if got := cond(ns, c.typ); got.Status != c.status || got.Message != c.msg {
			t.Errorf("%s = %s %q, want %s %q", c.typ, got.Status, got.Message, c.status, c.msg)
		}
	}
	if ns.Status.Phase != corev1.NamespaceTerminating {
		t.Errorf("phase = %s", ns.Status.Phase)
	}

	// The kubelet finishes the pod; someone releases the service.
	h.Advance(10 * time.Second)
	h.API.Delete(ctx, api.Pods, "team", "bound", metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
	svc := h.Get(api.Services, "team", "web").(*corev1.Service).DeepCopy()
	svc.Finalizers = nil
	if _, err := h.API.Update(ctx, svc, ""); err != nil {
		t.Fatal(err)
	}
	// Next pass at 30s/2+1 = 16s after the first.
	h.Advance(5 * time.Second)
	if h.Get(api.Namespaces, "", "team") == nil {
		t.Fatalf("namespace gone before the controller came back")
	}
	h.Advance(2 * time.Second)
	if h.Get(api.Namespaces, "", "team") != nil {
		t.Errorf("namespace not finalized once empty")
	}
	if h.Get(api.Pods, "default", "bystander") == nil {
		t.Errorf("content of another namespace deleted")
	}
}

func TestActiveNamespaceUntouched(t *testing.T) {
	h, c := setup(t)
	h.Advance(time.Minute)
	if got := contentNames(h); len(got) != 7 {
		t.Errorf("content = %v", got)
	}
	if c.Runner.Reconciles != 0 {
		t.Errorf("reconciled an active namespace")
	}
}

func TestOtherFinalizersKept(t *testing.T) {
	h, _ := setup(t, "example.com/ns")
	ctx := context.Background()
	h.API.Delete(ctx, api.Namespaces, "", "team", metav1.DeleteOptions{})
	h.Settle()
	h.API.Delete(ctx, api.Pods, "team", "bound", metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
	svc := h.Get(api.Services, "team", "web").(*corev1.Service).DeepCopy()
	svc.Finalizers = nil
	h.API.Update(ctx, svc, "")
	h.Advance(20 * time.Second)
	ns, _ := h.Get(api.Namespaces, "", "team").(*corev1.Namespace)
	if ns == nil {
		t.Fatalf("namespace removed despite another finalizer")
	}
	if len(ns.Spec.Finalizers) != 1 || ns.Spec.Finalizers[0] != "example.com/ns" {
		t.Errorf("finalizers = %v", ns.Spec.Finalizers)
	}
	if got := cond(ns, corev1.NamespaceContentRemaining); got.Status != corev1.ConditionFalse || got.Reason != "ContentRemoved" {
		t.Errorf("content remaining = %+v", got)
	}
}
