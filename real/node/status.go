package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/drydock-sim/drydock/core/cri"
)

// statusTimeout bounds one runtime status check (the kubelet asks every 5 s).
const statusTimeout = 2 * time.Second

// statusRuntime adds CRI's Status call (cri.StatusReporter) to the
// containerd runtime: the check fails while containerd does not answer (so
// the kubelet counts the runtime as down after 30 s), and NetworkReady is
// false, with reason NetworkPluginNotReady as containerd's CRI plugin words
// it, until the CNI network has the node's pod CIDR. The kubelet keeps the
// node NotReady and pods that need the pod network waiting until then.
type statusRuntime struct {
	cri.Runtime
	post    func(func())
	serving func(ctx context.Context) (bool, error) // containerd's IsServing
	network func() error                            // cni.Network.Status
}

// Status implements cri.StatusReporter: it asks containerd on a goroutine
// of its own and posts the answer to the loop.
func (r *statusRuntime) Status(done func(*cri.RuntimeStatus, error)) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
		ok, err := r.serving(ctx)
		cancel()
		if err == nil && !ok {
			err = errors.New("not serving")
		}
		if err != nil {
			err = fmt.Errorf("containerd: %w", err)
			r.post(func() { done(nil, err) })
			return
		}
		st := &cri.RuntimeStatus{Conditions: []cri.RuntimeCondition{
			{Type: cri.RuntimeReady, Status: true},
			{Type: cri.NetworkReady, Status: true},
		}}
		if nerr := r.network(); nerr != nil {
			c := &st.Conditions[1]
			c.Status, c.Reason, c.Message = false, "NetworkPluginNotReady", "Network plugin returns error: "+nerr.Error()
		}
		r.post(func() { done(st, nil) })
	}()
}
