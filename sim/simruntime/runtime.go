// Package simruntime is the simulated container runtime of one node: the
// in-memory runtime engine (core/cri/memruntime) with call durations drawn
// from samplers, a per-node image cache (first pull slow, later ones free),
// container behaviour read from the pod's sim.drydock.io annotations
// (sim/scenario), and crash faults. It implements cri.Runtime and passes the
// runtime behaviour suite.
package simruntime

import (
	"fmt"
	"strings"
	"time"

	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/core/cri/memruntime"
	"github.com/drydock-sim/drydock/core/rng"
	"github.com/drydock-sim/drydock/sim/scenario"
)

// Name is the runtime name nodes report ("sim://0.1.0") and container IDs carry.
const (
	Name    = "sim"
	Version = "0.1.0"
)

// MissingImageMarker: images whose reference contains it are not in the
// simulated registry, so pulling them fails (ErrImagePull, then
// ImagePullBackOff), e.g. "nginx:does-not-exist".
const MissingImageMarker = "does-not-exist"

// Config describes one simulated node runtime. Zero samplers get the defaults.
type Config struct {
	NodeName string
	Clock    clock.Clock
	// Seed derives the runtime's random streams, one per knob and node, so
	// changing one distribution never shifts another's draws.
	Seed uint64
	// PodCIDR is where pod IPs come from (default from NodeIndex: see PodCIDR).
	PodCIDR string

	// SandboxStart: RunPodSandbox (default lognormal, median 100ms).
	SandboxStart Sampler
	// ImagePull: pulling an image the node does not have (default
	// lognormal, median 1s, sigma 0.5, max 30s).
	ImagePull Sampler
	// ImagePullCached: "pulling" an image the node has (default 0).
	ImagePullCached Sampler
	// ContainerCreate: CreateContainer (default 0).
	ContainerCreate Sampler
	// ContainerStart: StartContainer, until the process runs (default
	// lognormal, median 300ms, sigma 0.25).
	ContainerStart Sampler
	// Call: every other call (status, list, remove, stop sandbox, probes; default 0).
	Call Sampler

	// Images are cached on the node from the start.
	Images []string
	// ImageExists says whether the registry has an image (default: all
	// but those containing MissingImageMarker).
	ImageExists func(image string) bool
}

// Runtime is a simulated node runtime.
type Runtime struct {
	*memruntime.Runtime
	cfg Config
}

var _ cri.Runtime = (*Runtime)(nil)

// New builds a node's runtime.
func New(cfg Config) *Runtime {
	if cfg.SandboxStart == nil {
		cfg.SandboxStart = LogNormal{Median: 100 * time.Millisecond, Sigma: 0.25}
	}
	if cfg.ImagePull == nil {
		cfg.ImagePull = LogNormal{Median: time.Second, Sigma: 0.5, Max: 30 * time.Second}
	}
	if cfg.ImagePullCached == nil {
		cfg.ImagePullCached = Constant(0)
	}
	if cfg.ContainerCreate == nil {
		cfg.ContainerCreate = Constant(0)
	}
	if cfg.ContainerStart == nil {
		cfg.ContainerStart = LogNormal{Median: 300 * time.Millisecond, Sigma: 0.25}
	}
	if cfg.Call == nil {
		cfg.Call = Constant(0)
	}
	if cfg.ImageExists == nil {
		cfg.ImageExists = func(image string) bool { return !strings.Contains(image, MissingImageMarker) }
	}
	if cfg.PodCIDR == "" {
		cfg.PodCIDR = "10.244.0.0/24"
	}
	stream := func(knob string) func(Sampler) time.Duration {
		r := rng.Stream(cfg.Seed, "simruntime/"+cfg.NodeName+"/"+knob)
		return func(s Sampler) time.Duration { return s.Sample(r) }
	}
	sandbox, pull, create, start, call := stream("sandbox"), stream("pull"), stream("create"), stream("start"), stream("call")
	latency := func(op memruntime.Op, image string, cached bool) time.Duration {
		switch op {
		case memruntime.OpRunSandbox:
			return sandbox(cfg.SandboxStart)
		case memruntime.OpPull:
			if cached {
				return pull(cfg.ImagePullCached)
			}
			return pull(cfg.ImagePull)
		case memruntime.OpImageStatus:
			return 0
		case memruntime.OpCreate:
			return create(cfg.ContainerCreate)
		case memruntime.OpStart:
			return start(cfg.ContainerStart)
		}
		return call(cfg.Call)
	}
	rt := memruntime.New(memruntime.Config{
		Clock: cfg.Clock, Rand: rng.Stream(cfg.Seed, "simruntime/"+cfg.NodeName+"/ids"),
		Name: Name, Version: Version, PodCIDR: cfg.PodCIDR,
		Latency: latency, Behavior: behavior, ImageExists: cfg.ImageExists, Images: cfg.Images,
	})
	return &Runtime{Runtime: rt, cfg: cfg}
}

// behavior reads a container's simulated behaviour from its pod's annotations.
func behavior(sb *cri.SandboxConfig, c *cri.ContainerConfig) (memruntime.Behavior, error) {
	var ann map[string]string
	if sb != nil {
		ann = sb.Annotations
	}
	b, err := scenario.ContainerBehavior(ann, c.Name)
	if err != nil {
		return memruntime.Behavior{}, fmt.Errorf("simulated container %s: %v", c.Name, err)
	}
	return memruntime.Behavior{
		Exits: b.Exits, ExitAfter: b.ExitAfter, ExitCode: b.ExitCode,
		ReadyAfter:     b.ReadyAfter,
		FailsReadiness: b.FailsReadiness, FailReadinessAfter: b.FailReadinessAfter,
		FailsLiveness: b.FailsLiveness, FailLivenessAfter: b.FailLivenessAfter,
		StopAfter: b.StopAfter,
	}, nil
}

// PodCIDR is a distinct /24 for node index i (up to 16384 nodes), inside
// 10.64.0.0/10, for wiring many simulated nodes.
func PodCIDR(i int) string {
	return fmt.Sprintf("10.%d.%d.0/24", 64+(i/256)%64, i%256)
}
