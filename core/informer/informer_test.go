package informer_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
	"github.com/drydock-sim/drydock/core/informer"
)

func pod(name, node string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
}

func TestReflectorFeedsCacheIndexesAndHandlers(t *testing.T) {
	h := harness.New(t)
	h.Client.Latency = func() time.Duration { return 50 * time.Millisecond }
	h.Create(pod("a", "n1"))
	inf := informer.New(api.Pods)
	inf.AddIndex("node", func(o api.Object) []string { return []string{o.(*corev1.Pod).Spec.NodeName} })
	var log []string
	inf.AddHandler(informer.Handler{
		OnAdd:    func(o api.Object) { log = append(log, "add "+o.GetName()) },
		OnUpdate: func(_, o api.Object) { log = append(log, "update "+o.GetName()) },
		OnDelete: func(o api.Object) { log = append(log, "delete "+o.GetName()) },
	})
	ref := &informer.Reflector{Client: h.Client, Informer: inf, Clock: h.Clock}
	ref.Start(context.Background())
	if !inf.HasSynced() || inf.Len() != 1 {
		t.Fatalf("initial list: synced=%v len=%d", inf.HasSynced(), inf.Len())
	}
	h.Create(pod("b", "n2"))
	h.Settle()
	if inf.Len() != 1 {
		t.Fatal("watch event arrived before its latency")
	}
	h.Advance(50 * time.Millisecond)
	if got := len(inf.ByIndex("node", "n2")); got != 1 {
		t.Fatalf("index n2 has %d pods", got)
	}
	zero := int64(0) // a is bound, so only a zero-grace delete removes it at once
	h.API.Delete(context.Background(), api.Pods, "default", "a", metav1.DeleteOptions{GracePeriodSeconds: &zero})
	h.Advance(time.Second)
	if want := "add a,add b,delete a"; strings.Join(log, ",") != want {
		t.Errorf("handlers saw %v, want %s", log, want)
	}
	if got := inf.ByIndex("node", "n1"); len(got) != 0 {
		t.Errorf("stale index entry %s", got[0].GetName())
	}
	if l := inf.List(); len(l) != 1 || l[0].GetName() != "b" {
		t.Errorf("List has %d objects", len(l))
	}
}
