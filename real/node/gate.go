package node

import "github.com/drydock-sim/drydock/core/cri"

// gatedRuntime holds sandbox creation until the node's pod network is ready
// (its pod CIDR assigned), so that pods bound early wait in
// ContainerCreating instead of failing: the kubelet registers the Node, the
// node IPAM controller gives it a pod CIDR, and only then can sandboxes get
// addresses. Everything else goes straight to the runtime. Used on the
// loop only.
type gatedRuntime struct {
	cri.Runtime
	open    bool
	pending []func()
}

// RunPodSandbox implements cri.Runtime.
func (g *gatedRuntime) RunPodSandbox(cfg *cri.SandboxConfig, done func(*cri.SandboxStatus, error)) {
	if !g.open {
		g.pending = append(g.pending, func() { g.Runtime.RunPodSandbox(cfg, done) })
		return
	}
	g.Runtime.RunPodSandbox(cfg, done)
}

// release opens the gate and runs the held calls in order.
func (g *gatedRuntime) release() {
	g.open = true
	p := g.pending
	g.pending = nil
	for _, f := range p {
		f()
	}
}
