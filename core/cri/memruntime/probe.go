package memruntime

import (
	"fmt"
	"strconv"
	"time"

	"github.com/drydock-sim/drydock/core/cri"
)

// Probe implements cri.Runtime by asking the container's Behavior, and words
// failures the way the kubelet's probers do for each handler type.
func (r *Runtime) Probe(id string, req *cri.ProbeRequest, done func(cri.ProbeResult)) {
	r.after(OpProbe, func() {
		c, ok := r.containers[id]
		if !ok || c.st.State != cri.ContainerRunning {
			done(cri.ProbeResult{Output: "container not running"})
			return
		}
		up := r.clock.Now().Sub(c.st.StartedAt)
		listening, healthy := c.beh.answer(req.Kind, up)
		if listening && healthy {
			done(cri.ProbeResult{Success: true})
			return
		}
		ip := ""
		if s := r.sandboxes[c.st.SandboxID]; s != nil {
			ip = s.st.IP
		}
		done(cri.ProbeResult{Output: failureOutput(req, ip, listening)})
	})
}

// answer says whether the simulated app accepts connections yet and whether
// it reports itself healthy for the probe kind, up after its start.
func (b Behavior) answer(kind cri.ProbeKind, up time.Duration) (listening, healthy bool) {
	switch kind {
	case cri.ProbeLiveness:
		return true, !(b.FailsLiveness && up >= b.FailLivenessAfter)
	case cri.ProbeStartup:
		ok := up >= b.ReadyAfter
		return ok, ok
	default:
		if up < b.ReadyAfter {
			return false, false
		}
		return true, !(b.FailsReadiness && up >= b.FailReadinessAfter)
	}
}

func failureOutput(req *cri.ProbeRequest, ip string, listening bool) string {
	addr := ip + ":" + strconv.Itoa(int(req.Port))
	h := req.Handler
	switch {
	case h.HTTPGet != nil:
		if !listening {
			scheme := "http"
			if h.HTTPGet.Scheme == "HTTPS" {
				scheme = "https"
			}
			return fmt.Sprintf("Get %q: dial tcp %s: connect: connection refused", scheme+"://"+addr+h.HTTPGet.Path, addr)
		}
		return "HTTP probe failed with statuscode: 503"
	case h.TCPSocket != nil:
		return fmt.Sprintf("dial tcp %s: connect: connection refused", addr)
	case h.GRPC != nil:
		if !listening {
			return fmt.Sprintf("timeout: failed to connect service %q within %v", addr, req.Timeout)
		}
		return "service unhealthy (responded with \"NOT_SERVING\")"
	}
	return "command terminated with non-zero exit code: exit status 1"
}
