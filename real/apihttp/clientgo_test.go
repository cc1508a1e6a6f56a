package apihttp_test

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/drydock-sim/drydock/real/apihttp"
)

// TestClientGo drives the HTTP layer with client-go's typed clientset and a
// shared informer, with JSON and with protobuf request bodies.
func TestClientGo(t *testing.T) {
	for _, ct := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		t.Run(ct, func(t *testing.T) {
			e := newEnv(t, apihttp.Config{}, 0)
			cs, err := kubernetes.NewForConfig(&rest.Config{Host: e.srv.URL, ContentConfig: rest.ContentConfig{ContentType: ct}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pods := cs.CoreV1().Pods("default")

			created, err := pods.Create(ctx, testPod("p1"), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if created.UID == "" || created.ResourceVersion == "" {
				t.Fatalf("created %+v", created.ObjectMeta)
			}
			if _, err := pods.Create(ctx, testPod("p1"), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
				t.Fatalf("second create: %v", err)
			}
			got, err := pods.Get(ctx, "p1", metav1.GetOptions{})
			if err != nil || got.Name != "p1" {
				t.Fatalf("get: %v", err)
			}
			if _, err := pods.Get(ctx, "nope", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("get missing: %v", err)
			}
			l, err := pods.List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
			if err != nil || len(l.Items) != 1 || l.ResourceVersion == "" {
				t.Fatalf("list: %v %+v", err, l)
			}

			w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: l.ResourceVersion})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()

			d, err := cs.AppsV1().Deployments("default").Create(ctx, testDeployment("web", 1), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			d.Labels = map[string]string{"tier": "front"}
			d, err = cs.AppsV1().Deployments("default").Update(ctx, d, metav1.UpdateOptions{})
			if err != nil || d.Labels["tier"] != "front" {
				t.Fatalf("update: %v", err)
			}
			stale := d.DeepCopy()
			stale.ResourceVersion = created.ResourceVersion
			if _, err := cs.AppsV1().Deployments("default").Update(ctx, stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
				t.Fatalf("stale update: %v", err)
			}
			scale, err := cs.AppsV1().Deployments("default").GetScale(ctx, "web", metav1.GetOptions{})
			if err != nil || scale.Spec.Replicas != 1 {
				t.Fatalf("get scale: %v", err)
			}
			scale.Spec.Replicas = 4
			if scale, err = cs.AppsV1().Deployments("default").UpdateScale(ctx, "web", scale, metav1.UpdateOptions{}); err != nil || scale.Spec.Replicas != 4 {
				t.Fatalf("update scale: %v", err)
			}

			patched, err := pods.Patch(ctx, "p1", types.StrategicMergePatchType, []byte(`{"metadata":{"labels":{"x":"1"}}}`), metav1.PatchOptions{})
			if err != nil || patched.Labels["x"] != "1" {
				t.Fatalf("patch: %v", err)
			}
			if _, err := pods.UpdateStatus(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p1", Namespace: "default"},
				Status: corev1.PodStatus{Phase: corev1.PodRunning}}, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("update status: %v", err)
			}
			if err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p1"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}},
				metav1.CreateOptions{}); err != nil {
				t.Fatalf("bind: %v", err)
			}
			if err := pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "p1", Namespace: "default"}}); err != nil {
				t.Fatalf("evict: %v", err)
			}
			// The bound pod is now deleting gracefully; force it away.
			zero := int64(0)
			bg := metav1.DeletePropagationBackground
			if err := pods.Delete(ctx, "p1", metav1.DeleteOptions{GracePeriodSeconds: &zero, PropagationPolicy: &bg}); err != nil {
				t.Fatalf("delete: %v", err)
			}

			want := []watch.EventType{watch.Modified, watch.Modified, watch.Modified, watch.Modified, watch.Deleted}
			for i, wt := range want {
				select {
				case ev, ok := <-w.ResultChan():
					if !ok {
						t.Fatalf("watch closed after %d events", i)
					}
					p, isPod := ev.Object.(*corev1.Pod)
					if ev.Type != wt || !isPod || p.Name != "p1" {
						t.Fatalf("event %d: %s %T, want %s", i, ev.Type, ev.Object, wt)
					}
				case <-ctx.Done():
					t.Fatalf("event %d (%s) missing", i, wt)
				}
			}

			// An informer lists, syncs and sees later changes.
			factory := informers.NewSharedInformerFactory(cs, 0)
			inf := factory.Apps().V1().Deployments().Informer()
			added := make(chan string, 10)
			if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
				added <- obj.(*appsv1.Deployment).Name
			}}); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			factory.Start(stop)
			stopped := false
			defer func() {
				if !stopped {
					close(stop)
					factory.Shutdown()
				}
			}()
			if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
				t.Fatal("informer did not sync")
			}
			if name := <-added; name != "web" {
				t.Fatalf("informer added %s", name)
			}
			if _, err := cs.AppsV1().Deployments("default").Create(ctx, testDeployment("api", 1), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			select {
			case name := <-added:
				if name != "api" {
					t.Fatalf("informer added %s", name)
				}
			case <-ctx.Done():
				t.Fatal("informer missed a new deployment")
			}
			close(stop)
			factory.Shutdown()
			stopped = true
		})
	}
}
