package replicaset

import (
	"context"
	"errors"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/harness"
)

// quotaClient lets the first allow pod creations through and then refuses
// them, like an exhausted ResourceQuota.
type quotaClient struct {
	*client.Loopback
	allow, attempts int
}

func (q *quotaClient) Create(ctx context.Context, obj api.Object, opts metav1.CreateOptions) (api.Object, error) {
	if _, ok := obj.(*corev1.Pod); ok {
		q.attempts++
		if q.attempts > q.allow {
			return nil, apierrors.NewForbidden(api.Pods.GroupResource(), obj.GetName(), errors.New("exceeded quota"))
		}
	}
	return q.Loopback.Create(ctx, obj, opts)
}

func TestSlowStartStopsOnFailure(t *testing.T) {
	cases := []struct {
		allow        int
		wantAttempts int // 1, then 2, then 4: the batch with the first failure is the last
		wantCreated  int
	}{
		{allow: 0, wantAttempts: 1, wantCreated: 0},
		{allow: 1, wantAttempts: 3, wantCreated: 1},
		{allow: 4, wantAttempts: 7, wantCreated: 4},
		{allow: 100, wantAttempts: 20, wantCreated: 20},
	}
	for _, tc := range cases {
		h := harness.New(t)
		q := &quotaClient{Loopback: h.Client, allow: tc.allow}
		c := New(Config{Client: q, Clock: h.Clock, Recorder: h.Recorder("replicaset-controller"),
			Pods: h.Informer(api.Pods), ReplicaSets: h.Informer(api.ReplicaSets)})
		h.Create(newRS("web", 20))
		// Deliver the ReplicaSet to the cache, then run exactly one sync by
		// hand: later syncs (its own status write re-queues it) retry.
		for _, ok := c.cfg.ReplicaSets.GetKey("default/web"); !ok; _, ok = c.cfg.ReplicaSets.GetKey("default/web") {
			h.Clock.Step()
		}
		_, err := c.Reconcile(context.Background(), "default/web")
		if (err != nil) != (tc.wantCreated < 20) {
			t.Errorf("allow %d: err = %v", tc.allow, err)
		}
		if q.attempts != tc.wantAttempts {
			t.Errorf("allow %d: attempts = %d, want %d", tc.allow, q.attempts, tc.wantAttempts)
		}
		h.Settle()
		if n := len(h.List(api.Pods, "default", "")); n != tc.wantCreated {
			t.Errorf("allow %d: pods = %d, want %d", tc.allow, n, tc.wantCreated)
		}
		rs := h.Get(api.ReplicaSets, "default", "web").(*appsv1.ReplicaSet)
		failing := tc.wantCreated < 20
		if got := condition(rs.Status.Conditions, appsv1.ReplicaSetReplicaFailure) != nil; got != failing {
			t.Errorf("allow %d: ReplicaFailure condition = %v, want %v", tc.allow, got, failing)
		}
		if failing {
			if add, _ := c.Expectations.Pending("default/web"); add != 0 {
				t.Errorf("allow %d: %d creations still expected after failures", tc.allow, add)
			}
			var sawFailed bool
			for _, ev := range h.Events {
				sawFailed = sawFailed || (ev.Reason == "FailedCreate" && ev.Type == corev1.EventTypeWarning)
			}
			if !sawFailed {
				t.Errorf("allow %d: no FailedCreate event", tc.allow)
			}
		}
	}
}
