package replicaset

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/harness"
)

// countingClient counts the status updates it passes on and their conflicts.
type countingClient struct {
	client.Interface
	updates, conflicts int
}

func (c *countingClient) Update(ctx context.Context, obj api.Object, sub string) (api.Object, error) {
	out, err := c.Interface.Update(ctx, obj, sub)
	if sub == "status" {
		c.updates++
		if apierrors.IsConflict(err) {
			c.conflicts++
		}
	}
	return out, err
}

// TestStatusWritesDoNotRaceTheirOwnWatch: pods turn ready one after another
// faster than the watch brings the controller its own status writes back.
// Every write must be based on what the controller last wrote, not on the
// stale cache, so none conflicts, and the final status is right.
func TestStatusWritesDoNotRaceTheirOwnWatch(t *testing.T) {
	h := harness.New(t)
	h.Client.Latency = func() time.Duration { return 50 * time.Millisecond }
	cc := &countingClient{Interface: h.Client}
	c := New(Config{Client: cc, Clock: h.Clock, Recorder: h.Recorder("replicaset-controller"),
		Pods: h.Informer(api.Pods), ReplicaSets: h.Informer(api.ReplicaSets)})
	e := &env{h: h, c: c}
	h.Create(newRS("web", 10))
	h.Advance(time.Second)
	for _, p := range e.pods() {
		if err := h.API.Bind(context.Background(), &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace},
			Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}}); err != nil {
			t.Fatal(err)
		}
	}
	h.Advance(time.Second)
	cc.updates, cc.conflicts = 0, 0
	for _, p := range e.pods() {
		e.markReady(p.Name)
		h.Advance(10 * time.Millisecond) // well inside the watch latency
	}
	h.Advance(time.Second)
	if st := e.rs("web").Status; st.ReadyReplicas != 10 || st.AvailableReplicas != 10 {
		t.Fatalf("status %+v, want 10 ready and available", st)
	}
	if cc.conflicts != 0 {
		t.Errorf("%d of %d status updates conflicted", cc.conflicts, cc.updates)
	}
}
