package apiserver

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
)

func fieldNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		out = append(out, t.Field(i).Name)
	}
	return out
}

// TestHeadEqualCoversObjectMeta fails when k8s.io/api changes the shapes
// unchanged and headEqual assume, so they cannot silently skip a field.
func TestHeadEqualCoversObjectMeta(t *testing.T) {
	meta := []string{"Name", "GenerateName", "Namespace", "SelfLink", "UID", "ResourceVersion", "Generation",
		"CreationTimestamp", "DeletionTimestamp", "DeletionGracePeriodSeconds", "Labels", "Annotations",
		"OwnerReferences", "Finalizers", "ManagedFields"}
	if got := fieldNames(reflect.TypeFor[metav1.ObjectMeta]()); !reflect.DeepEqual(got, meta) {
		t.Errorf("ObjectMeta fields %v, headEqual compares %v", got, meta)
	}
	if got := fieldNames(reflect.TypeFor[metav1.OwnerReference]()); !reflect.DeepEqual(got,
		[]string{"APIVersion", "Kind", "Name", "UID", "Controller", "BlockOwnerDeletion"}) {
		t.Errorf("OwnerReference fields %v", got)
	}
	if got := fieldNames(reflect.TypeFor[metav1.TypeMeta]()); !reflect.DeepEqual(got, []string{"Kind", "APIVersion"}) {
		t.Errorf("TypeMeta fields %v", got)
	}
	four := []string{"TypeMeta", "ObjectMeta", "Spec", "Status"}
	for _, typ := range []reflect.Type{reflect.TypeFor[corev1.Pod](), reflect.TypeFor[corev1.Node](),
		reflect.TypeFor[appsv1.ReplicaSet](), reflect.TypeFor[appsv1.Deployment](), reflect.TypeFor[corev1.Service]()} {
		if got := fieldNames(typ); !reflect.DeepEqual(got, four) {
			t.Errorf("%s fields %v, unchanged assumes %v", typ, got, four)
		}
	}
	if got := fieldNames(reflect.TypeFor[coordinationv1.Lease]()); !reflect.DeepEqual(got, four[:3]) {
		t.Errorf("Lease fields %v", got)
	}
	if got := fieldNames(reflect.TypeFor[coordinationv1.LeaseSpec]()); !reflect.DeepEqual(got, []string{"HolderIdentity",
		"LeaseDurationSeconds", "AcquireTime", "RenewTime", "LeaseTransitions", "Strategy", "PreferredHolder"}) {
		t.Errorf("LeaseSpec fields %v, leaseSpecEqual compares others", got)
	}
}

// TestUnchangedAgreesWithSemanticDeepEqual changes one field at a time, puts
// the object through the same keep step as updateLocked, and compares
// unchanged with the full Semantic.DeepEqual it replaces.
func TestUnchangedAgreesWithSemanticDeepEqual(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	yes, no := true, false
	grace := int64(30)
	metaChanges := map[string]func(m *metav1.ObjectMeta){
		"none":               func(m *metav1.ObjectMeta) {},
		"generateName":       func(m *metav1.ObjectMeta) { m.GenerateName = "x-" },
		"selfLink":           func(m *metav1.ObjectMeta) { m.SelfLink = "/x" },
		"creation same UTC":  func(m *metav1.ObjectMeta) { m.CreationTimestamp = metav1.NewTime(t0.In(time.FixedZone("x", 3600))) },
		"creation":           func(m *metav1.ObjectMeta) { m.CreationTimestamp = metav1.NewTime(t0.Add(time.Second)) },
		"deletion set":       func(m *metav1.ObjectMeta) { m.DeletionTimestamp = &t0 },
		"grace set":          func(m *metav1.ObjectMeta) { m.DeletionGracePeriodSeconds = &grace },
		"label added":        func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"app": "a", "x": "y"} },
		"label value":        func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"app": "b"} },
		"label copied":       func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"app": "a"} },
		"annotations empty":  func(m *metav1.ObjectMeta) { m.Annotations = map[string]string{} },
		"annotation":         func(m *metav1.ObjectMeta) { m.Annotations = map[string]string{"k": "v"} },
		"owner controller":   func(m *metav1.ObjectMeta) { m.OwnerReferences[0].Controller = &no },
		"owner block nil":    func(m *metav1.ObjectMeta) { m.OwnerReferences[0].BlockOwnerDeletion = nil },
		"owner uid":          func(m *metav1.ObjectMeta) { m.OwnerReferences[0].UID = "u2" },
		"owners empty":       func(m *metav1.ObjectMeta) { m.OwnerReferences = []metav1.OwnerReference{} },
		"finalizer":          func(m *metav1.ObjectMeta) { m.Finalizers = []string{"f"} },
		"finalizers empty":   func(m *metav1.ObjectMeta) { m.Finalizers = []string{} },
		"managed fields set": func(m *metav1.ObjectMeta) { m.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "m"}} },
	}
	newMeta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: "n", Namespace: "default", UID: "u", ResourceVersion: "5", Generation: 2,
			CreationTimestamp: t0, Labels: map[string]string{"app": "a"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "n", UID: "u1", Controller: &yes, BlockOwnerDeletion: &yes}}}
	}
	type object struct {
		old     api.Object
		changes map[string]func(api.Object) // spec and status changes
	}
	cpu := resource.MustParse("1")
	cpuAgain := resource.MustParse("1000m")
	objects := map[string]object{
		"pod": {&corev1.Pod{ObjectMeta: newMeta(), Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "i",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: cpu}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: t0}},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "c", ContainerID: "sim://1",
					State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}}},
			map[string]func(api.Object){
				"image": func(o api.Object) { o.(*corev1.Pod).Spec.Containers[0].Image = "j" },
				"cpu same value": func(o api.Object) {
					o.(*corev1.Pod).Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = cpuAgain
				},
				"phase": func(o api.Object) { o.(*corev1.Pod).Status.Phase = corev1.PodFailed },
				"condition time": func(o api.Object) {
					o.(*corev1.Pod).Status.Conditions[0].LastTransitionTime = metav1.NewTime(t0.Add(time.Second))
				},
				"conditions empty":          func(o api.Object) { o.(*corev1.Pod).Status.Conditions = nil },
				"conditions empty, not nil": func(o api.Object) { o.(*corev1.Pod).Status.Conditions = []corev1.PodCondition{} },
				"condition status":          func(o api.Object) { o.(*corev1.Pod).Status.Conditions[0].Status = corev1.ConditionFalse },
				"pod IP":                    func(o api.Object) { o.(*corev1.Pod).Status.PodIP = "10.0.0.2" },
				"start time":                func(o api.Object) { o.(*corev1.Pod).Status.StartTime = &t0 },
				"container ready":           func(o api.Object) { o.(*corev1.Pod).Status.ContainerStatuses[0].Ready = true },
				"container restarts":        func(o api.Object) { o.(*corev1.Pod).Status.ContainerStatuses[0].RestartCount = 1 },
				"container id":              func(o api.Object) { o.(*corev1.Pod).Status.ContainerStatuses[0].ContainerID = "sim://2" },
				"container running": func(o api.Object) {
					o.(*corev1.Pod).Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: t0}}
				},
				"container waiting reason": func(o api.Object) {
					o.(*corev1.Pod).Status.ContainerStatuses[0].State.Waiting.Reason = "CrashLoopBackOff"
				},
				"container statuses empty, not nil": func(o api.Object) {
					o.(*corev1.Pod).Status.ContainerStatuses = []corev1.ContainerStatus{}
				},
			}},
		"node": {&corev1.Node{ObjectMeta: newMeta(), Spec: corev1.NodeSpec{PodCIDR: "10.0.0.0/24"},
			Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: cpu},
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: t0}}}},
			map[string]func(api.Object){
				"unschedulable": func(o api.Object) { o.(*corev1.Node).Spec.Unschedulable = true },
				"heartbeat": func(o api.Object) {
					o.(*corev1.Node).Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(t0.Add(time.Second))
				},
				"heartbeat same UTC": func(o api.Object) {
					o.(*corev1.Node).Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(t0.In(time.FixedZone("x", 3600)))
				},
				"transition": func(o api.Object) {
					o.(*corev1.Node).Status.Conditions[0].LastTransitionTime = metav1.NewTime(t0.Add(time.Second))
				},
				"condition status": func(o api.Object) { o.(*corev1.Node).Status.Conditions[0].Status = corev1.ConditionUnknown },
				"condition reason": func(o api.Object) { o.(*corev1.Node).Status.Conditions[0].Reason = "KubeletReady" },
				"condition message": func(o api.Object) {
					o.(*corev1.Node).Status.Conditions[0].Message = "kubelet is posting ready status"
				},
				"condition added": func(o api.Object) {
					n := o.(*corev1.Node)
					n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeMemoryPressure})
				},
				"conditions empty, not nil": func(o api.Object) { o.(*corev1.Node).Status.Conditions = []corev1.NodeCondition{} },
				"phase":                     func(o api.Object) { o.(*corev1.Node).Status.Phase = corev1.NodeRunning },
				"capacity same value": func(o api.Object) {
					o.(*corev1.Node).Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: cpuAgain}
				},
				"capacity": func(o api.Object) {
					o.(*corev1.Node).Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
				},
				"address": func(o api.Object) {
					o.(*corev1.Node).Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}}
				},
			}},
		"replicaset": {&appsv1.ReplicaSet{ObjectMeta: newMeta(), Status: appsv1.ReplicaSetStatus{Replicas: 2}},
			map[string]func(api.Object){
				"replicas": func(o api.Object) { r := int32(3); o.(*appsv1.ReplicaSet).Spec.Replicas = &r },
				"ready":    func(o api.Object) { o.(*appsv1.ReplicaSet).Status.ReadyReplicas = 1 },
			}},
		"deployment": {&appsv1.Deployment{ObjectMeta: newMeta()},
			map[string]func(api.Object){
				"paused":   func(o api.Object) { o.(*appsv1.Deployment).Spec.Paused = true },
				"replicas": func(o api.Object) { o.(*appsv1.Deployment).Status.Replicas = 4 },
			}},
		"service": {&corev1.Service{ObjectMeta: newMeta()},
			map[string]func(api.Object){
				"type": func(o api.Object) { o.(*corev1.Service).Spec.Type = corev1.ServiceTypeNodePort },
			}},
		"lease": {&coordinationv1.Lease{ObjectMeta: newMeta(), Spec: coordinationv1.LeaseSpec{RenewTime: &metav1.MicroTime{Time: t0.Time}}},
			map[string]func(api.Object){
				"renew same UTC": func(o api.Object) {
					o.(*coordinationv1.Lease).Spec.RenewTime = &metav1.MicroTime{Time: t0.In(time.FixedZone("x", 60))}
				},
				"renew": func(o api.Object) {
					o.(*coordinationv1.Lease).Spec.RenewTime = &metav1.MicroTime{Time: t0.Add(time.Millisecond)}
				},
				"holder":      func(o api.Object) { h := "n2"; o.(*coordinationv1.Lease).Spec.HolderIdentity = &h },
				"duration":    func(o api.Object) { d := int32(40); o.(*coordinationv1.Lease).Spec.LeaseDurationSeconds = &d },
				"acquire":     func(o api.Object) { o.(*coordinationv1.Lease).Spec.AcquireTime = &metav1.MicroTime{Time: t0.Time} },
				"transitions": func(o api.Object) { n := int32(0); o.(*coordinationv1.Lease).Spec.LeaseTransitions = &n },
				"strategy": func(o api.Object) {
					st := coordinationv1.OldestEmulationVersion
					o.(*coordinationv1.Lease).Spec.Strategy = &st
				},
				"preferred": func(o api.Object) { h := "n3"; o.(*coordinationv1.Lease).Spec.PreferredHolder = &h },
			}},
		"namespace (full compare)": {&corev1.Namespace{ObjectMeta: newMeta()},
			map[string]func(api.Object){
				"phase": func(o api.Object) { o.(*corev1.Namespace).Status.Phase = corev1.NamespaceTerminating },
			}},
	}
	for name, ob := range objects {
		api.SetTypeMeta(ob.old)
		changes := map[string]func(api.Object){}
		for n, f := range ob.changes {
			changes[n] = f
		}
		for n, f := range metaChanges {
			changes["meta "+n] = func(o api.Object) { f(o.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta)) }
		}
		for change, f := range changes {
			for _, sub := range []string{"", SubresourceStatus} {
				obj := ob.old.DeepCopyObject().(api.Object)
				f(obj)
				if sub == SubresourceStatus {
					keepAllButStatus(ob.old, obj)
				} else {
					keepStatus(ob.old, obj)
				}
				want := apiequality.Semantic.DeepEqual(ob.old, obj)
				if got := unchanged(ob.old, obj, sub); got != want {
					t.Errorf("%s, %s, subresource %q: unchanged = %v, Semantic.DeepEqual = %v", name, change, sub, got, want)
				}
			}
		}
	}
}

// TestLeaseRenewalValidAgreesWithValidate: the renewal fast path may only
// accept what api.Validate accepts.
func TestLeaseRenewalValidAgreesWithValidate(t *testing.T) {
	yes := true
	dur := func(d int32) *int32 { return &d }
	old := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease", UID: "u",
		ResourceVersion: "7", OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "node-1", UID: "n", Controller: &yes}}},
		Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: dur(40)}}
	api.SetTypeMeta(old)
	if errs := api.Validate(api.Leases, old, old); len(errs) > 0 {
		t.Fatalf("old lease invalid: %v", errs)
	}
	changes := map[string]func(l *coordinationv1.Lease){
		"renewal":           func(l *coordinationv1.Lease) { l.Spec.RenewTime = &metav1.MicroTime{} },
		"duration nil":      func(l *coordinationv1.Lease) { l.Spec.LeaseDurationSeconds = nil },
		"duration zero":     func(l *coordinationv1.Lease) { l.Spec.LeaseDurationSeconds = dur(0) },
		"duration negative": func(l *coordinationv1.Lease) { l.Spec.LeaseDurationSeconds = dur(-1) },
		"bad label":         func(l *coordinationv1.Lease) { l.Labels = map[string]string{"bad key!": "v"} },
		"good label":        func(l *coordinationv1.Lease) { l.Labels = map[string]string{"k": "v"} },
		"bad annotation":    func(l *coordinationv1.Lease) { l.Annotations = map[string]string{"bad key!": "v"} },
		"bad owner":         func(l *coordinationv1.Lease) { l.OwnerReferences = []metav1.OwnerReference{{Name: "x"}} },
		"bad finalizer":     func(l *coordinationv1.Lease) { l.Finalizers = []string{"bad finalizer!"} },
		"bad generateName":  func(l *coordinationv1.Lease) { l.GenerateName = "Bad_" },
	}
	for name, change := range changes {
		obj := old.DeepCopy()
		change(obj)
		fast := leaseRenewalValid(obj, old)
		errs := api.Validate(api.Leases, obj, old)
		if fast && len(errs) > 0 {
			t.Errorf("%s: fast path accepts what api.Validate rejects: %v", name, errs)
		}
		if name == "renewal" && !fast {
			t.Errorf("a plain renewal should take the fast path")
		}
	}
}
