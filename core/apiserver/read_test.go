package apiserver

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
)

// TestFieldSelectorsMatchFieldSets checks the direct requirement evaluation
// against matching the object's full field set, for every supported field.
func TestFieldSelectorsMatchFieldSets(t *testing.T) {
	objs := []api.Object{
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
			Spec:   corev1.PodSpec{NodeName: "n1", RestartPolicy: corev1.RestartPolicyAlways, SchedulerName: "s", HostNetwork: true},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{Unschedulable: true}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "ns"}, Reason: "Started", Type: "Normal",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: "ns", UID: "u"}, Source: corev1.EventSource{Component: "kubelet"}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns"}, Status: appsv1.ReplicaSetStatus{Replicas: 3}},
	}
	for _, obj := range objs {
		r := api.MustFor(obj)
		set := objectFields(r, obj)
		for field := range fieldLabels(r) {
			for _, value := range []string{set[field], "other", ""} {
				for _, op := range []string{"=", "==", "!="} {
					expr := field + op + value
					sel, err := parseSelectors(r, metav1.ListOptions{FieldSelector: expr})
					if err != nil {
						t.Fatalf("%s: %v", expr, err)
					}
					if got, want := sel.matches(r, obj), sel.field.Matches(set); got != want {
						t.Errorf("%s %s: matches %v, field set says %v", r.Kind, expr, got, want)
					}
				}
			}
		}
	}
}
