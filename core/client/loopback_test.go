package client_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/harness"
)

// TestLoopbackWatchOrderAndLatency checks that watch events arrive in
// order, each no earlier than its latency and never before an earlier
// event, and that nothing arrives after cancel.
func TestLoopbackWatchOrderAndLatency(t *testing.T) {
	h := harness.New(t)
	lat := []time.Duration{5 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 0, 0}
	n := 0
	lb := &client.Loopback{Server: h.API, Clock: h.Clock, Latency: func() time.Duration { d := lat[n]; n++; return d }}
	type got struct {
		name string
		at   time.Duration
	}
	var seen []got
	ctx := context.Background()
	_, rv, err := h.API.List(ctx, api.Namespaces, "", metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cancel, err := lb.Watch(ctx, api.Namespaces, "", metav1.ListOptions{ResourceVersion: rv}, func(ev api.WatchEvent) {
		if ev.Type == api.WatchAdded {
			seen = append(seen, got{ev.Object.(api.Object).GetName(), h.Clock.Now().Sub(harness.Epoch)})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string) {
		if _, err := h.API.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create("a") // due at 5ms
	h.Advance(2 * time.Millisecond)
	create("b") // 3ms, held back to 5ms behind a
	h.Advance(time.Millisecond)
	create("c") // 6ms
	create("d") // 3ms, held back to 6ms behind c
	h.Advance(10 * time.Millisecond)
	want := []got{{"a", 5 * time.Millisecond}, {"b", 5 * time.Millisecond}, {"c", 6 * time.Millisecond}, {"d", 6 * time.Millisecond}}
	if len(seen) != len(want) {
		t.Fatalf("got %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("got %v, want %v", seen, want)
		}
	}
	create("e")
	cancel()
	h.Advance(time.Second)
	if len(seen) != len(want) {
		t.Fatalf("delivered after cancel: %v", seen[len(want):])
	}
}
