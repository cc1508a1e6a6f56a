package apiserver_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
)

var ctx = context.Background()

func pod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36"}}}}
}

func deployment(name string, replicas int32) *appsv1.Deployment {
	l := map[string]string{"app": name}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1"}}}}}}
}

func code(err error) int32 {
	if s, ok := err.(apierrors.APIStatus); ok {
		return s.Status().Code
	}
	return 0
}

func TestCreateDefaultsAndAdmission(t *testing.T) {
	h := harness.New(t)
	got := h.Create(pod("p1")).(*corev1.Pod)
	if got.UID == "" || got.ResourceVersion == "" || got.CreationTimestamp.IsZero() || got.Generation != 1 {
		t.Errorf("metadata not set: %+v", got.ObjectMeta)
	}
	if got.Spec.RestartPolicy != corev1.RestartPolicyAlways || got.Spec.SchedulerName != "default-scheduler" ||
		*got.Spec.TerminationGracePeriodSeconds != 30 || got.Status.Phase != corev1.PodPending {
		t.Errorf("defaults not applied: %+v", got.Spec)
	}
	var tolerated []string
	for _, tol := range got.Spec.Tolerations {
		if tol.TolerationSeconds != nil && *tol.TolerationSeconds == 300 {
			tolerated = append(tolerated, tol.Key)
		}
	}
	if strings.Join(tolerated, ",") != api.TaintNodeNotReady+","+api.TaintNodeUnreachable {
		t.Errorf("default tolerations = %v", tolerated)
	}
	if got.Spec.Priority == nil || *got.Spec.Priority != 0 {
		t.Errorf("priority = %v", got.Spec.Priority)
	}
	if got.Kind != "Pod" || got.APIVersion != "v1" {
		t.Errorf("type meta = %q %q", got.APIVersion, got.Kind)
	}
}

func TestErrors(t *testing.T) {
	h := harness.New(t)
	h.Create(pod("p1"))
	bad := deployment("web", 1)
	bad.Spec.Template.Labels = map[string]string{"app": "other"}
	noImage := pod("p2")
	noImage.Spec.Containers[0].Image = ""
	otherNS := pod("p3")
	otherNS.Namespace = "missing"
	badPC := pod("p4")
	badPC.Spec.PriorityClassName = "nope"
	for _, tc := range []struct {
		name  string
		call  func() error
		code  int32
		cause string
	}{
		{"exists", func() error { _, err := h.API.Create(ctx, pod("p1"), metav1.CreateOptions{}); return err }, http.StatusConflict, ""},
		{"not found", func() error { _, err := h.API.Get(ctx, api.Pods, "default", "zz"); return err }, http.StatusNotFound, ""},
		{"invalid selector", func() error { _, err := h.API.Create(ctx, bad, metav1.CreateOptions{}); return err }, http.StatusUnprocessableEntity, "spec.template.metadata.labels"},
		{"missing image", func() error { _, err := h.API.Create(ctx, noImage, metav1.CreateOptions{}); return err }, http.StatusUnprocessableEntity, "spec.containers[0].image"},
		{"missing namespace", func() error { _, err := h.API.Create(ctx, otherNS, metav1.CreateOptions{}); return err }, http.StatusNotFound, ""},
		{"unknown priority class", func() error { _, err := h.API.Create(ctx, badPC, metav1.CreateOptions{}); return err }, http.StatusForbidden, ""},
		{"stale update", func() error {
			p := h.Get(api.Pods, "default", "p1").(*corev1.Pod).DeepCopy()
			p.ResourceVersion = "1"
			_, err := h.API.Update(ctx, p, "")
			return err
		}, http.StatusConflict, ""},
		{"bad field selector", func() error {
			_, _, err := h.API.List(ctx, api.Pods, "", metav1.ListOptions{FieldSelector: "spec.bogus=x"})
			return err
		}, http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if code(err) != tc.code {
				t.Fatalf("got %v (code %d), want code %d", err, code(err), tc.code)
			}
			if tc.cause != "" {
				st := err.(apierrors.APIStatus).Status()
				if st.Details == nil || len(st.Details.Causes) == 0 || st.Details.Causes[0].Field != tc.cause {
					t.Errorf("causes = %+v, want field %s", st.Details, tc.cause)
				}
			}
		})
	}
}

func TestGenerationAndStatusSubresource(t *testing.T) {
	h := harness.New(t)
	d := h.Create(deployment("web", 1)).(*appsv1.Deployment)
	up := d.DeepCopy()
	up.Status.Replicas = 5 // ignored on the main resource
	up.Spec.Replicas = ptr(int32(3))
	got, err := h.API.Update(ctx, up, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.GetGeneration() != 2 || got.(*appsv1.Deployment).Status.Replicas != 0 {
		t.Errorf("generation %d status %+v", got.GetGeneration(), got.(*appsv1.Deployment).Status)
	}
	st := got.(*appsv1.Deployment).DeepCopy()
	st.Status.Replicas = 3
	st.Spec.Replicas = ptr(int32(9)) // ignored on status
	got2, err := h.API.Update(ctx, st, "status")
	if err != nil {
		t.Fatal(err)
	}
	if got2.GetGeneration() != 2 || *got2.(*appsv1.Deployment).Spec.Replicas != 3 || got2.(*appsv1.Deployment).Status.Replicas != 3 {
		t.Errorf("status update changed the wrong things: %+v", got2)
	}
	// A no-op update keeps the resourceVersion.
	same, err := h.API.Update(ctx, got2.DeepCopyObject().(api.Object), "")
	if err != nil || same.GetResourceVersion() != got2.GetResourceVersion() {
		t.Errorf("no-op update: rv %s -> %s, err %v", got2.GetResourceVersion(), same.GetResourceVersion(), err)
	}
}

func TestPatchTypes(t *testing.T) {
	h := harness.New(t)
	h.Create(deployment("web", 1))
	for _, tc := range []struct {
		pt   types.PatchType
		data string
		want int32
	}{
		{types.MergePatchType, `{"spec":{"replicas":4}}`, 4},
		{types.StrategicMergePatchType, `{"spec":{"replicas":5}}`, 5},
		{types.JSONPatchType, `[{"op":"replace","path":"/spec/replicas","value":6}]`, 6},
	} {
		got, err := h.API.Patch(ctx, api.Deployments, "default", "web", tc.pt, []byte(tc.data), "")
		if err != nil {
			t.Fatalf("%s: %v", tc.pt, err)
		}
		if r := *got.(*appsv1.Deployment).Spec.Replicas; r != tc.want {
			t.Errorf("%s: replicas %d, want %d", tc.pt, r, tc.want)
		}
	}
	// Strategic merge keeps other containers (merge key "name").
	got, err := h.API.Patch(ctx, api.Deployments, "default", "web", types.StrategicMergePatchType,
		[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.(*appsv1.Deployment).Spec.Template.Spec.Containers); n != 2 {
		t.Errorf("strategic merge gave %d containers, want 2", n)
	}
}

func TestGracefulPodDeletion(t *testing.T) {
	h := harness.New(t)
	h.Create(pod("p1"))
	if err := h.API.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p1", Namespace: "default"},
		Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.API.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p1", Namespace: "default"},
		Target: corev1.ObjectReference{Kind: "Node", Name: "n2"}}); code(err) != http.StatusConflict {
		t.Errorf("second bind: %v", err)
	}
	obj, gone, err := h.API.Delete(ctx, api.Pods, "default", "p1", metav1.DeleteOptions{})
	if err != nil || gone {
		t.Fatalf("graceful delete: gone=%v err=%v", gone, err)
	}
	p := obj.(*corev1.Pod)
	if p.DeletionTimestamp == nil || *p.DeletionGracePeriodSeconds != 30 ||
		!p.DeletionTimestamp.Time.Equal(harness.Epoch.Add(30*time.Second)) {
		t.Errorf("deletion metadata %v %v", p.DeletionTimestamp, p.DeletionGracePeriodSeconds)
	}
	zero := int64(0)
	if _, gone, err := h.API.Delete(ctx, api.Pods, "default", "p1", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil || !gone {
		t.Fatalf("final delete: gone=%v err=%v", gone, err)
	}
	// An unbound pod goes at once.
	h.Create(pod("p2"))
	if _, gone, _ := h.API.Delete(ctx, api.Pods, "default", "p2", metav1.DeleteOptions{}); !gone {
		t.Error("unbound pod was not deleted at once")
	}
}

func TestFinalizersAndPropagation(t *testing.T) {
	h := harness.New(t)
	h.Create(deployment("web", 1))
	fg := metav1.DeletePropagationForeground
	obj, gone, err := h.API.Delete(ctx, api.Deployments, "default", "web", metav1.DeleteOptions{PropagationPolicy: &fg})
	if err != nil || gone {
		t.Fatalf("foreground delete: gone=%v err=%v", gone, err)
	}
	if fs := obj.GetFinalizers(); len(fs) != 1 || fs[0] != metav1.FinalizerDeleteDependents || obj.GetDeletionTimestamp() == nil {
		t.Fatalf("finalizers %v ts %v", fs, obj.GetDeletionTimestamp())
	}
	up := obj.DeepCopyObject().(api.Object)
	up.SetFinalizers([]string{"new"})
	if _, err := h.API.Update(ctx, up, ""); code(err) != http.StatusForbidden {
		t.Errorf("adding a finalizer while deleting: %v", err)
	}
	up.SetFinalizers(nil)
	if _, err := h.API.Update(ctx, up, ""); err != nil {
		t.Fatal(err)
	}
	if h.Get(api.Deployments, "default", "web") != nil {
		t.Error("object with no finalizers left was not removed")
	}
}

func TestNamespaceTermination(t *testing.T) {
	h := harness.New(t)
	h.Create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}})
	obj, gone, err := h.API.Delete(ctx, api.Namespaces, "", "team", metav1.DeleteOptions{})
	if err != nil || gone || obj.(*corev1.Namespace).Status.Phase != corev1.NamespaceTerminating {
		t.Fatalf("namespace delete: %v %v %+v", gone, err, obj)
	}
	p := pod("x")
	p.Namespace = "team"
	if _, err := h.API.Create(ctx, p, metav1.CreateOptions{}); code(err) != http.StatusForbidden {
		t.Errorf("create in terminating namespace: %v", err)
	}
	ns := obj.DeepCopyObject().(*corev1.Namespace)
	ns.Spec.Finalizers = nil
	if _, err := h.API.Update(ctx, ns, "finalize"); err != nil {
		t.Fatal(err)
	}
	if h.Get(api.Namespaces, "", "team") != nil {
		t.Error("finalized namespace still stored")
	}
}

func TestServiceIPAllocation(t *testing.T) {
	h := harness.New(t)
	svc := func(name, ip string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.ServiceSpec{ClusterIP: ip, Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{{Port: 80}}}}
	}
	a := h.Create(svc("a", "")).(*corev1.Service)
	if !strings.HasPrefix(a.Spec.ClusterIP, "10.") || a.Spec.Ports[0].NodePort < 30000 || a.Spec.Ports[0].TargetPort.IntVal != 80 {
		t.Errorf("allocation: %+v", a.Spec)
	}
	if _, err := h.API.Create(ctx, svc("b", a.Spec.ClusterIP), metav1.CreateOptions{}); code(err) != http.StatusUnprocessableEntity {
		t.Errorf("duplicate IP: %v", err)
	}
	h.API.Delete(ctx, api.Services, "default", "a", metav1.DeleteOptions{})
	if _, err := h.API.Create(ctx, svc("b", a.Spec.ClusterIP), metav1.CreateOptions{}); err != nil {
		t.Errorf("released IP not reusable: %v", err)
	}
}

func TestWatchSelectorsAndTransitions(t *testing.T) {
	h := harness.New(t)
	var got []string
	_, err := h.API.Watch(ctx, api.Pods, "", metav1.ListOptions{FieldSelector: "spec.nodeName=n1"}, func(ev api.WatchEvent) {
		got = append(got, string(ev.Type)+" "+ev.Object.(api.Object).GetName())
	})
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	_, err = h.API.Watch(ctx, api.Pods, "default", metav1.ListOptions{LabelSelector: "app=web"}, func(ev api.WatchEvent) {
		all = append(all, string(ev.Type)+" "+ev.Object.(api.Object).GetName())
	})
	if err != nil {
		t.Fatal(err)
	}
	h.Create(pod("a"))
	h.Create(pod("b"))
	h.API.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "default"}, Target: corev1.ObjectReference{Name: "n1"}})
	h.API.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "default"}, Target: corev1.ObjectReference{Name: "n2"}})
	zero := int64(0)
	h.API.Delete(ctx, api.Pods, "default", "a", metav1.DeleteOptions{GracePeriodSeconds: &zero})
	if want := "ADDED a,DELETED a"; strings.Join(got, ",") != want {
		t.Errorf("node watch = %v, want %s", got, want)
	}
	if want := "ADDED a,ADDED b,MODIFIED a,MODIFIED b,DELETED a"; strings.Join(all, ",") != want {
		t.Errorf("label watch = %v, want %s", all, want)
	}
}

func TestWatchResumeAndExpiry(t *testing.T) {
	h := harness.New(t)
	first := h.Create(pod("a"))
	h.Create(pod("b"))
	var got []string
	_, err := h.API.Watch(ctx, api.Pods, "", metav1.ListOptions{ResourceVersion: first.GetResourceVersion()}, func(ev api.WatchEvent) {
		got = append(got, string(ev.Type)+" "+ev.Object.(api.Object).GetName())
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "ADDED b" {
		t.Errorf("resumed watch = %v", got)
	}
	if _, err := h.API.Watch(ctx, api.Pods, "", metav1.ListOptions{ResourceVersion: "1"}, func(api.WatchEvent) {}); code(err) != http.StatusGone {
		t.Errorf("watch from before the window: %v", err)
	}
}

func TestListSelectors(t *testing.T) {
	h := harness.New(t)
	h.Create(pod("a"))
	other := pod("b")
	other.Labels = map[string]string{"app": "db"}
	other.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	h.Create(other)
	for _, tc := range []struct {
		opts metav1.ListOptions
		want string
	}{
		{metav1.ListOptions{}, "a,b"},
		{metav1.ListOptions{LabelSelector: "app=db"}, "b"},
		{metav1.ListOptions{LabelSelector: "app in (web,db)"}, "a,b"},
		{metav1.ListOptions{FieldSelector: "metadata.name=a"}, "a"},
		{metav1.ListOptions{FieldSelector: "status.phase!=Pending"}, ""},
	} {
		objs, _, err := h.API.List(ctx, api.Pods, "default", tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, o := range objs {
			names = append(names, o.GetName())
		}
		if strings.Join(names, ",") != tc.want {
			t.Errorf("%+v: got %v, want %s", tc.opts, names, tc.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestStatusUpdateValidation: a status update cannot change what validation
// checks (spec and labels are kept), so it is accepted without re-validating
// them, but a generateName it brings is still validated, and no-op status
// writes keep the resourceVersion.
func TestStatusUpdateValidation(t *testing.T) {
	h := harness.New(t)
	p := h.Create(pod("p1")).(*corev1.Pod).DeepCopy()
	p.Spec.Containers[0].Name = "Not_A_DNS_Label" // ignored by a status update
	p.Labels = map[string]string{"bad key!": "v"} // ignored too
	p.Status.Phase = corev1.PodRunning
	out, err := h.API.Update(ctx, p, "status")
	if err != nil {
		t.Fatalf("status update: %v", err)
	}
	got := out.(*corev1.Pod)
	if got.Status.Phase != corev1.PodRunning || got.Spec.Containers[0].Name != "c" || got.Labels["app"] != "web" {
		t.Errorf("status update changed more than status: %+v", got)
	}
	same, err := h.API.Update(ctx, got.DeepCopy(), "status")
	if err != nil || same.GetResourceVersion() != got.ResourceVersion {
		t.Errorf("no-op status update: rv %s -> %s, err %v", got.ResourceVersion, same.GetResourceVersion(), err)
	}
	bad := got.DeepCopy()
	bad.GenerateName = "Bad_Prefix-"
	bad.Status.Phase = corev1.PodSucceeded
	if _, err := h.API.Update(ctx, bad, "status"); !apierrors.IsInvalid(err) {
		t.Errorf("invalid generateName in a status update: %v, want Invalid", err)
	}
}

// TestStatusUpdateDoesNotAliasInput: the caller may reuse its object after
// a status update; nothing of it may end up shared with the stored object.
func TestStatusUpdateDoesNotAliasInput(t *testing.T) {
	h := harness.New(t)
	in := h.Create(pod("p1")).(*corev1.Pod).DeepCopy()
	in.Status.Phase = corev1.PodRunning
	in.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	if _, err := h.API.Update(ctx, in, "status"); err != nil {
		t.Fatal(err)
	}
	in.Labels["app"] = "changed"
	in.Spec.Containers[0].Image = "changed"
	in.Status.Conditions[0].Status = corev1.ConditionFalse
	got := h.Get(api.Pods, "default", "p1").(*corev1.Pod)
	if got.Labels["app"] != "web" || got.Spec.Containers[0].Image != "busybox:1.36" || got.Status.Conditions[0].Status != corev1.ConditionTrue {
		t.Errorf("stored pod changed with the caller's object: %+v", got)
	}
}

// TestDeletionAnswersWithDeletionRevision: like Kubernetes, a request that
// removes an object answers with its last state at the deletion's revision,
// the same object watchers get in DELETED, whether the removal is an
// immediate delete, a forced delete of a deleting pod, or an update that
// empties a deleting object's finalizers.
func TestDeletionAnswersWithDeletionRevision(t *testing.T) {
	zero := int64(0)
	fg := metav1.DeletePropagationForeground
	tests := []struct {
		name   string
		set    func(h *harness.Harness) // creates the object "x" and prepares it
		remove func(h *harness.Harness) (api.Object, error)
		res    *api.Resource
	}{
		{
			name: "immediate delete",
			set:  func(h *harness.Harness) { h.Create(pod("x")) },
			remove: func(h *harness.Harness) (api.Object, error) {
				obj, gone, err := h.API.Delete(ctx, api.Pods, "default", "x", metav1.DeleteOptions{})
				if err == nil && !gone {
					t.Error("not gone")
				}
				return obj, err
			},
			res: api.Pods,
		},
		{
			name: "forced delete of a terminating pod",
			set: func(h *harness.Harness) {
				h.Create(pod("x"))
				if err := h.API.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "default"},
					Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}); err != nil {
					t.Fatal(err)
				}
				if _, _, err := h.API.Delete(ctx, api.Pods, "default", "x", metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			},
			remove: func(h *harness.Harness) (api.Object, error) {
				obj, gone, err := h.API.Delete(ctx, api.Pods, "default", "x", metav1.DeleteOptions{GracePeriodSeconds: &zero})
				if err == nil && !gone {
					t.Error("not gone")
				}
				return obj, err
			},
			res: api.Pods,
		},
		{
			name: "update emptying the finalizers",
			set: func(h *harness.Harness) {
				h.Create(deployment("x", 1))
				if _, _, err := h.API.Delete(ctx, api.Deployments, "default", "x", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
					t.Fatal(err)
				}
			},
			remove: func(h *harness.Harness) (api.Object, error) {
				up := h.Get(api.Deployments, "default", "x").DeepCopyObject().(api.Object)
				up.SetFinalizers(nil)
				return h.API.Update(ctx, up, "")
			},
			res: api.Deployments,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := harness.New(t)
			tt.set(h)
			before := h.Get(tt.res, "default", "x").GetResourceVersion()
			var deleted api.Object
			if _, err := h.API.Watch(ctx, tt.res, "default", metav1.ListOptions{ResourceVersion: before}, func(ev api.WatchEvent) {
				if ev.Type == "DELETED" {
					deleted = ev.Object.(api.Object)
				}
			}); err != nil {
				t.Fatal(err)
			}
			obj, err := tt.remove(h)
			if err != nil {
				t.Fatal(err)
			}
			if deleted == nil {
				t.Fatal("watch saw no DELETED")
			}
			if obj.GetResourceVersion() == before || obj.GetResourceVersion() != deleted.GetResourceVersion() {
				t.Errorf("answer's resourceVersion %s, before %s, DELETED event's %s; want the event's",
					obj.GetResourceVersion(), before, deleted.GetResourceVersion())
			}
			if h.Get(tt.res, "default", "x") != nil {
				t.Error("object still stored")
			}
		})
	}
}
