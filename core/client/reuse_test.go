package client_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
)

// scribble overwrites every exported value reachable from v (strings,
// numbers, booleans, map entries, slice elements, pointer targets), the way
// a caller reusing the object for its next call would. Anything the API
// kept a reference to changes with it.
func scribble(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			scribble(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); f.CanSet() {
				scribble(f)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			scribble(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			scribble(e)
			v.SetMapIndex(k, e)
		}
		if v.Type().Key().Kind() == reflect.String {
			k := reflect.New(v.Type().Key()).Elem()
			k.SetString("scribbled")
			v.SetMapIndex(k, reflect.Zero(v.Type().Elem()))
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(v.String() + "-scribbled")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.CanSet() {
			v.SetInt(v.Int() + 7)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.CanSet() {
			v.SetUint(v.Uint() + 7)
		}
	case reflect.Bool:
		if v.CanSet() {
			v.SetBool(!v.Bool())
		}
	}
}

// TestCallerMayReuseWhatItSent checks client.Interface's promise that
// Create and Update keep nothing they are given, which the event recorder,
// the kubelet and the ReplicaSet and Deployment controllers rely on when
// they send one reused object per call: after each call the object sent is
// overwritten throughout, and what the API stores, what it returned, what
// a watch delivers and what an informer caches must not change. A server
// that kept (part of) the object would show the scribbles.
func TestCallerMayReuseWhatItSent(t *testing.T) {
	h := harness.New(t)
	ctx := context.Background()
	if _, err := h.API.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: "default",
			Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"note": "x"},
			Finalizers: []string{"example.com/keep"}}
	}
	one := int32(1)
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}}}
	now := metav1.NewTime(harness.Epoch)
	dur := int32(40)
	holder := "node-a"
	cases := []struct {
		name string
		obj  api.Object
		sub  string
		edit func(api.Object) // applied to a copy of the stored object before Update
	}{
		{"pod", &corev1.Pod{ObjectMeta: meta("p"), Spec: tmpl.Spec}, "", func(o api.Object) {
			o.(*corev1.Pod).Labels["tier"] = "front"
		}},
		{"pod", &corev1.Pod{ObjectMeta: meta("p2"), Spec: tmpl.Spec}, "status", func(o api.Object) {
			p := o.(*corev1.Pod)
			p.Status.Phase = corev1.PodRunning
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", Ready: true, Image: "busybox"}}
		}},
		{"node", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"zone": "a"}},
			Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}}}}, "status", func(o api.Object) {
			n := o.(*corev1.Node)
			n.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}
			n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: now}}
		}},
		{"node", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}, "", func(o api.Object) {
			o.(*corev1.Node).Spec.Taints = []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoExecute}}
		}},
		{"replicaset", &appsv1.ReplicaSet{ObjectMeta: meta("rs"), Spec: appsv1.ReplicaSetSpec{Replicas: &one, Selector: sel, Template: tmpl}}, "status", func(o api.Object) {
			rs := o.(*appsv1.ReplicaSet)
			rs.Status.Replicas, rs.Status.ReadyReplicas = 1, 1
			rs.Status.Conditions = []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionFalse}}
		}},
		{"replicaset", &appsv1.ReplicaSet{ObjectMeta: meta("rs2"), Spec: appsv1.ReplicaSetSpec{Replicas: &one, Selector: sel, Template: tmpl}}, "", func(o api.Object) {
			rs := o.(*appsv1.ReplicaSet)
			two := int32(2)
			rs.Spec.Replicas = &two
			rs.Annotations["deployment.kubernetes.io/revision"] = "2"
		}},
		{"deployment", &appsv1.Deployment{ObjectMeta: meta("d"), Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: sel, Template: tmpl}}, "status", func(o api.Object) {
			d := o.(*appsv1.Deployment)
			d.Status.ObservedGeneration = 1
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"}}
		}},
		{"deployment", &appsv1.Deployment{ObjectMeta: meta("d2"), Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: sel, Template: tmpl}}, "", func(o api.Object) {
			d := o.(*appsv1.Deployment)
			d.Spec.Template.Spec.Containers[0].Image = "busybox:2"
		}},
		{"event", &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "default"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: "default"}, Reason: "Scheduled", Message: "m",
			Type: corev1.EventTypeNormal, Count: 1, FirstTimestamp: now, LastTimestamp: now,
			Source: corev1.EventSource{Component: "default-scheduler"}}, "", func(o api.Object) {
			e := o.(*corev1.Event)
			e.Count = 2
			e.LastTimestamp = metav1.NewTime(harness.Epoch.Add(time.Minute))
		}},
		{"lease", &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "n", Namespace: "default"},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, RenewTime: &metav1.MicroTime{Time: harness.Epoch}}}, "", func(o api.Object) {
			o.(*coordinationv1.Lease).Spec.RenewTime = &metav1.MicroTime{Time: harness.Epoch.Add(10 * time.Second)}
		}},
		{"service", &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}}}, "", func(o api.Object) {
			o.(*corev1.Service).Spec.Selector["tier"] = "front"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name+"/"+tc.obj.GetName(), func(t *testing.T) {
			r, err := api.For(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			inf := h.Informer(r)
			var delivered []api.Object // as the watch delivered them
			cancel, err := h.Client.Watch(ctx, r, "", metav1.ListOptions{ResourceVersion: "0"}, func(ev api.WatchEvent) {
				if o, ok := ev.Object.(api.Object); ok && o.GetName() == tc.obj.GetName() {
					delivered = append(delivered, o)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			defer cancel()
			h.Settle()
			var want []api.Object // deep copies of what was stored, taken before any scribble
			check := func(step string, sent, out api.Object) {
				t.Helper()
				stored, err := h.Client.Get(ctx, r, tc.obj.GetNamespace(), tc.obj.GetName())
				if err != nil {
					t.Fatal(err)
				}
				outCopy := out.DeepCopyObject()
				want = append(want, stored.DeepCopyObject().(api.Object))
				scribble(reflect.ValueOf(sent))
				h.Settle()
				if !apiequality.Semantic.DeepEqual(out, outCopy) {
					t.Errorf("%s: the object returned changed when the caller reused what it sent", step)
				}
				if got, _ := h.Client.Get(ctx, r, tc.obj.GetNamespace(), tc.obj.GetName()); !apiequality.Semantic.DeepEqual(got, want[len(want)-1]) {
					t.Errorf("%s: the stored object changed when the caller reused what it sent:\n got %#v\nwant %#v", step, got, want[len(want)-1])
				}
				key := tc.obj.GetName()
				if r.Namespaced {
					key = tc.obj.GetNamespace() + "/" + key
				}
				if got, ok := inf.GetKey(key); !ok || !apiequality.Semantic.DeepEqual(got, want[len(want)-1]) {
					t.Errorf("%s: the informer's object changed when the caller reused what it sent", step)
				}
			}
			sent := tc.obj.DeepCopyObject().(api.Object)
			out, err := h.Client.Create(ctx, sent, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			check("create", sent, out)
			sent = want[0].DeepCopyObject().(api.Object)
			tc.edit(sent)
			out, err = h.Client.Update(ctx, sent, tc.sub)
			if err != nil {
				t.Fatalf("update %q: %v", tc.sub, err)
			}
			check("update "+tc.sub, sent, out)
			if want[1].GetResourceVersion() == want[0].GetResourceVersion() {
				t.Fatalf("update %q changed nothing: the case tests no write", tc.sub)
			}
			if len(delivered) != 2 {
				t.Fatalf("watch delivered %d events, want 2", len(delivered))
			}
			for i, o := range delivered {
				if !apiequality.Semantic.DeepEqual(o, want[i]) {
					t.Errorf("watch event %d differs from what was stored before the caller reused its object", i)
				}
			}
		})
	}
}
