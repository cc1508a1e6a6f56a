package kubelet

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/cri"
)

const (
	probeStartup = iota
	probeReadiness
	probeLiveness
)

var probeKinds = [3]cri.ProbeKind{cri.ProbeStartup, cri.ProbeReadiness, cri.ProbeLiveness}

// prober runs one probe of one container instance: first at
// initialDelaySeconds after the start, then every periodSeconds, turning
// the result over after successThreshold successes or failureThreshold
// failures in a row.
type prober struct {
	c      *ctrState
	which  int
	spec   *corev1.Probe
	id     string // the container instance probed
	timer  clock.Timer
	succ   int32
	fails  int32
	result bool
	busy   bool
	req    *cri.ProbeRequest // built once; runtimes must not modify it
}

func (p *prober) specOf(c *corev1.Container) *corev1.Probe {
	switch p.which {
	case probeStartup:
		return c.StartupProbe
	case probeReadiness:
		return c.ReadinessProbe
	}
	return c.LivenessProbe
}

func (c *ctrState) stopProbes() {
	for i, p := range c.probes {
		if p != nil && p.timer != nil {
			p.timer.Stop()
		}
		c.probes[i] = nil
	}
}

// startProbes starts a newly running container's probes: the startup probe
// alone if there is one, else readiness and liveness. Without a readiness
// probe the container is ready at once.
func (k *Kubelet) startProbes(ps *podState, c *ctrState) {
	c.stopProbes()
	if !ps.admitted {
		return
	}
	if c.init {
		c.ready, c.started = false, true
		return
	}
	if c.spec.StartupProbe != nil {
		c.ready, c.started = false, false
		k.startProber(c, probeStartup)
		return
	}
	c.started = true
	k.startMainProbes(c)
}

func (k *Kubelet) startMainProbes(c *ctrState) {
	c.ready = c.spec.ReadinessProbe == nil
	if c.spec.ReadinessProbe != nil {
		k.startProber(c, probeReadiness)
	}
	if c.spec.LivenessProbe != nil {
		k.startProber(c, probeLiveness)
	}
}

func (k *Kubelet) startProber(c *ctrState, which int) {
	p := &prober{c: c, which: which, id: c.id, result: which == probeLiveness}
	p.spec = p.specOf(c.spec)
	p.req = &cri.ProbeRequest{Kind: probeKinds[which], Handler: p.spec.ProbeHandler,
		Port: probePort(c.spec, &p.spec.ProbeHandler), Timeout: time.Duration(p.spec.TimeoutSeconds) * time.Second}
	c.probes[which] = p
	first := c.startedAt.Add(time.Duration(p.spec.InitialDelaySeconds) * time.Second).Sub(k.clock.Now())
	p.timer = k.after(first, func() { k.probeTick(p) })
}

func (k *Kubelet) probeTick(p *prober) {
	c := p.c
	p.timer = nil
	if c.id != p.id || c.phase != cRunning || c.probes[p.which] != p {
		return
	}
	period := time.Duration(p.spec.PeriodSeconds) * time.Second
	if period <= 0 {
		period = 10 * time.Second
	}
	p.timer = k.after(period, func() { k.probeTick(p) })
	if p.busy {
		return
	}
	p.busy = true
	live := k.live()
	k.rt.Probe(c.id, p.req, func(res cri.ProbeResult) {
		p.busy = false
		if !live() || c.id != p.id || c.phase != cRunning || c.probes[p.which] != p {
			return
		}
		k.probeResult(p, res)
	})
}

// probePort resolves the handler's port, looking named ports up in the container.
func probePort(c *corev1.Container, h *corev1.ProbeHandler) int32 {
	switch {
	case h.HTTPGet != nil:
		return resolvePort(c, h.HTTPGet.Port.IntVal, h.HTTPGet.Port.StrVal)
	case h.TCPSocket != nil:
		return resolvePort(c, h.TCPSocket.Port.IntVal, h.TCPSocket.Port.StrVal)
	case h.GRPC != nil:
		return h.GRPC.Port
	}
	return 0
}

func resolvePort(c *corev1.Container, num int32, name string) int32 {
	if name == "" {
		return num
	}
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func (k *Kubelet) probeResult(p *prober, res cri.ProbeResult) {
	c, ps := p.c, p.c.ps
	succThreshold, failThreshold := max(p.spec.SuccessThreshold, 1), max(p.spec.FailureThreshold, 1)
	if res.Success {
		p.fails = 0
		p.succ++
		if p.result || p.succ < succThreshold {
			return
		}
		p.result = true
		switch p.which {
		case probeStartup:
			c.started = true
			c.probes[probeStartup] = nil
			if p.timer != nil {
				p.timer.Stop()
			}
			k.startMainProbes(c)
		case probeReadiness:
			c.ready = true
		}
		k.enqueue(ps)
		return
	}
	p.succ = 0
	p.fails++
	k.event(ps, corev1.EventTypeWarning, "Unhealthy", string(probeKinds[p.which])+" probe failed: "+res.Output)
	if p.fails < failThreshold {
		return
	}
	switch p.which {
	case probeReadiness:
		if p.result {
			p.result = false
			c.ready = false
			k.enqueue(ps)
		}
	case probeLiveness, probeStartup:
		restart := ps.pod.Spec.RestartPolicy != corev1.RestartPolicyNever
		kind := "liveness"
		if p.which == probeStartup {
			kind = "startup"
		}
		msg := "Container " + c.spec.Name + " failed " + kind + " probe"
		if restart {
			msg += ", will be restarted"
		}
		k.killContainer(ps, c, msg, p.spec.TerminationGracePeriodSeconds, restart)
	}
}
