package node

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/real/cni"
)

func TestStatusRuntime(t *testing.T) {
	cases := []struct {
		name    string
		serving bool
		servErr error
		netErr  error
		wantErr string
		wantNet cri.RuntimeCondition
	}{
		{name: "ready", serving: true, wantNet: cri.RuntimeCondition{Type: cri.NetworkReady, Status: true}},
		{name: "no pod CIDR yet", serving: true, netErr: cni.ErrNotReady,
			wantNet: cri.RuntimeCondition{Type: cri.NetworkReady, Reason: "NetworkPluginNotReady",
				Message: "Network plugin returns error: network plugin not ready: the node has no pod CIDR yet"}},
		{name: "containerd unreachable", servErr: errors.New("connection refused"), netErr: cni.ErrNotReady,
			wantErr: "containerd: connection refused"},
		{name: "containerd not serving", wantErr: "containerd: not serving"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			posted := make(chan func(), 1)
			r := &statusRuntime{
				post: func(f func()) { posted <- f },
				serving: func(ctx context.Context) (bool, error) {
					if _, ok := ctx.Deadline(); !ok {
						t.Error("status check without a deadline")
					}
					return tc.serving, tc.servErr
				},
				network: func() error { return tc.netErr },
			}
			calls := 0
			var st *cri.RuntimeStatus
			var err error
			r.Status(func(s *cri.RuntimeStatus, e error) { calls++; st, err = s, e })
			select {
			case f := <-posted:
				if calls != 0 {
					t.Fatal("done called before the post ran")
				}
				f()
			case <-time.After(10 * time.Second):
				t.Fatal("no answer posted within 10s")
			}
			if calls != 1 {
				t.Fatalf("done called %d times", calls)
			}
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || st != nil {
					t.Fatalf("got %v, %v; want error %q", st, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c := st.Condition(cri.RuntimeReady); c == nil || !c.Status {
				t.Errorf("RuntimeReady %v", c)
			}
			if c := st.Condition(cri.NetworkReady); c == nil || *c != tc.wantNet {
				t.Errorf("NetworkReady %v, want %v", c, &tc.wantNet)
			}
		})
	}
}
