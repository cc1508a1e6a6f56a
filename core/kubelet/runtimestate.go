package kubelet

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drydock-sim/drydock/core/cri"
)

// Kubernetes' kubelet asks the runtime for its status every 5 s and counts
// the runtime as down when no check has succeeded for 30 s
// (maxWaitForContainerRuntime).
const (
	runtimeCheckPeriod   = 5 * time.Second
	runtimeSyncThreshold = 30 * time.Second
)

// Messages as the kubelet words them.
var (
	errNetworkUnknown = errors.New("network state unknown")
	errRuntimeUnsure  = errors.New("container runtime status check may not have completed yet")
	errRuntimeDown    = errors.New("container runtime is down")
)

// networkNotReadyMsg prefixes the NetworkNotReady pod event.
const networkNotReadyMsg = "network is not ready"

// runtimeState is what the kubelet knows of a runtime that reports its
// status (cri.StatusReporter), as Kubernetes' runtimeState: the last
// successful check, and the runtime's and network's errors.
type runtimeState struct {
	lastSync   time.Time
	runtimeErr error
	networkErr error
}

// checkRuntime asks the runtime for its status, as the kubelet's
// updateRuntimeUp does, and rewrites the node status at once when what it
// reports changes (Kubernetes waits for the next status update, up to 10 s).
func (k *Kubelet) checkRuntime() {
	if k.rtStatus == nil || !k.running {
		return
	}
	live := k.live()
	k.rtStatus.Status(func(s *cri.RuntimeStatus, err error) {
		if !live() {
			return
		}
		before := readinessMessage(k.readinessErrors())
		netBefore := k.rtState.networkErr
		if err != nil {
			// The check failed: nothing changes but time, after which the
			// runtime counts as down.
			k.fail(fmt.Errorf("container runtime status check failed: %w", err))
		} else {
			if c := s.Condition(cri.NetworkReady); c == nil || !c.Status {
				k.rtState.networkErr = fmt.Errorf("container runtime network not ready: %v", c)
			} else {
				k.rtState.networkErr = nil
			}
			if c := s.Condition(cri.RuntimeReady); c == nil || !c.Status {
				k.rtState.runtimeErr = fmt.Errorf("container runtime not ready: %v", c)
			} else {
				k.rtState.runtimeErr = nil
				k.rtState.lastSync = k.clock.Now()
			}
		}
		if k.registered && readinessMessage(k.readinessErrors()) != before {
			k.updateNodeStatus(false)
		}
		if netBefore != nil && k.rtState.networkErr == nil {
			// Pods held for the network may start now.
			for _, ps := range k.pods {
				k.enqueue(ps)
			}
		}
	})
}

// CheckRuntime asks the runtime for its status now instead of at the next
// periodic check; the node agent calls it when it knows the runtime's
// network became ready. Call on the loop.
func (k *Kubelet) CheckRuntime() { k.checkRuntime() }

// readinessErrors are the reasons the node is not Ready, in the kubelet's
// order: the runtime's, then the network's. None for a runtime that does
// not report its status.
func (k *Kubelet) readinessErrors() []error {
	if k.rtStatus == nil {
		return nil
	}
	var errs []error
	switch s := &k.rtState; {
	case s.lastSync.IsZero():
		errs = append(errs, errRuntimeUnsure)
	case k.clock.Now().After(s.lastSync.Add(runtimeSyncThreshold)):
		errs = append(errs, errRuntimeDown)
	}
	if k.rtState.runtimeErr != nil {
		errs = append(errs, k.rtState.runtimeErr)
	}
	if k.rtState.networkErr != nil {
		errs = append(errs, k.rtState.networkErr)
	}
	return errs
}

// networkErrors is why pods that need the pod network cannot start (nil
// when they can).
func (k *Kubelet) networkErrors() error {
	if k.rtStatus == nil {
		return nil
	}
	return k.rtState.networkErr
}

// readinessMessage joins errors as Kubernetes' aggregate error does: one
// message alone, several as "[a, b]", duplicates once.
func readinessMessage(errs []error) string {
	if len(errs) == 0 {
		return ""
	}
	var msgs []string
	seen := map[string]bool{}
	for _, err := range errs {
		if m := err.Error(); !seen[m] {
			seen[m] = true
			msgs = append(msgs, m)
		}
	}
	switch len(msgs) {
	case 0:
		return ""
	case 1:
		return msgs[0]
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}
