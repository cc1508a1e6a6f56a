package replicaset

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// TestStatusEqualCoversEveryField fails when k8s.io/api adds a field to
// ReplicaSetStatus that statusEqual does not compare yet.
func TestStatusEqualCoversEveryField(t *testing.T) {
	want := []string{"Replicas", "FullyLabeledReplicas", "ReadyReplicas", "AvailableReplicas",
		"TerminatingReplicas", "ObservedGeneration", "Conditions"}
	typ := reflect.TypeFor[appsv1.ReplicaSetStatus]()
	var got []string
	for i := 0; i < typ.NumField(); i++ {
		got = append(got, typ.Field(i).Name)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ReplicaSetStatus fields %v, statusEqual compares %v", got, want)
	}
}

func TestStatusEqualAgreesWithSemanticDeepEqual(t *testing.T) {
	two, three := int32(2), int32(3)
	base := appsv1.ReplicaSetStatus{Replicas: 3, FullyLabeledReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 1, ObservedGeneration: 4}
	cond := appsv1.ReplicaSetCondition{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate"}
	tests := []struct {
		name   string
		change func(*appsv1.ReplicaSetStatus)
	}{
		{"same", func(*appsv1.ReplicaSetStatus) {}},
		{"replicas", func(s *appsv1.ReplicaSetStatus) { s.Replicas = 4 }},
		{"fully labeled", func(s *appsv1.ReplicaSetStatus) { s.FullyLabeledReplicas = 2 }},
		{"ready", func(s *appsv1.ReplicaSetStatus) { s.ReadyReplicas = 3 }},
		{"available", func(s *appsv1.ReplicaSetStatus) { s.AvailableReplicas = 2 }},
		{"generation", func(s *appsv1.ReplicaSetStatus) { s.ObservedGeneration = 5 }},
		{"terminating set", func(s *appsv1.ReplicaSetStatus) { s.TerminatingReplicas = &two }},
		{"empty conditions", func(s *appsv1.ReplicaSetStatus) { s.Conditions = []appsv1.ReplicaSetCondition{} }},
		{"condition", func(s *appsv1.ReplicaSetStatus) { s.Conditions = []appsv1.ReplicaSetCondition{cond} }},
	}
	for _, a := range tests {
		for _, b := range tests {
			x, y := *base.DeepCopy(), *base.DeepCopy()
			a.change(&x)
			b.change(&y)
			if got, want := statusEqual(&x, &y), apiequality.Semantic.DeepEqual(x, y); got != want {
				t.Errorf("%s vs %s: statusEqual %v, Semantic.DeepEqual %v", a.name, b.name, got, want)
			}
		}
	}
	x, y := base, base
	x.TerminatingReplicas, y.TerminatingReplicas = &two, &three
	if statusEqual(&x, &y) {
		t.Error("different terminating counts compare equal")
	}
}
