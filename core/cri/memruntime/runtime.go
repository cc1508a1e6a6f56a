// Package memruntime is an in-memory container runtime over the clock port:
// the state machine of sandboxes, images and containers that CRI describes,
// with no processes behind it. How long each call takes and how each
// container's "process" behaves (exits, readiness, liveness, shutdown time)
// come from the Config, so component tests use it with fixed timings and the
// simulator (sim/simruntime) with sampled timings and behaviour read from pod
// annotations. It passes the runtime behaviour suite (core/cri/critest).
package memruntime

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/cri"
)

// Op names a runtime call, for Config.Latency.
type Op string

// The timed operations.
const (
	OpRunSandbox    Op = "RunPodSandbox"
	OpStopSandbox   Op = "StopPodSandbox"
	OpRemoveSandbox Op = "RemovePodSandbox"
	OpImageStatus   Op = "ImageStatus"
	OpPull          Op = "PullImage"
	OpCreate        Op = "CreateContainer"
	OpStart         Op = "StartContainer"
	OpRemove        Op = "RemoveContainer"
	OpStatus        Op = "Status" // ContainerStatus and the List calls
	OpProbe         Op = "Probe"
)

// Behavior is how a container's process behaves once started. The zero
// value runs until stopped, is ready and live at once, and exits 0 at once
// on SIGTERM.
type Behavior struct {
	Exits     bool          // the process exits by itself ExitAfter after start
	ExitAfter time.Duration // since start
	ExitCode  int32
	// ExitReason overrides the reason derived from the exit code (e.g. OOMKilled).
	ExitReason string

	ReadyAfter time.Duration // readiness and startup probes succeed from then on

	FailsReadiness     bool
	FailReadinessAfter time.Duration

	FailsLiveness     bool
	FailLivenessAfter time.Duration

	// StopAfter is how long the process takes to exit after SIGTERM; if the
	// stop timeout is shorter it is killed (exit code 137).
	StopAfter time.Duration
	// StopExitCode is the exit code of a graceful SIGTERM exit.
	StopExitCode int32
}

// Config sets up a Runtime.
type Config struct {
	Clock clock.Clock
	// Rand makes sandbox and container IDs.
	Rand *rand.Rand
	// Name and Version are what Version reports (default "mem", "0.1.0").
	Name, Version string
	// PodCIDR is the range pod IPs come from (default 10.244.0.0/24).
	PodCIDR string
	// Latency is how long op takes; image and cached are set for OpPull
	// (cached: the node already has the image). Nil: every call takes 0.
	Latency func(op Op, image string, cached bool) time.Duration
	// Behavior resolves a container's behaviour at create time. An error
	// fails the create. Nil: the zero Behavior.
	Behavior func(sandbox *cri.SandboxConfig, c *cri.ContainerConfig) (Behavior, error)
	// ImageExists says whether the registry has an image. Nil: all exist.
	ImageExists func(image string) bool
	// Images are present on the node from the start (and survive Wipe).
	Images []string
}

// Runtime is the in-memory runtime of one node. Use New.
type Runtime struct {
	cfg        Config
	clock      clock.Clock
	rand       *rand.Rand
	handler    func(cri.ContainerEvent)
	sandboxes  map[string]*sandbox
	containers map[string]*container
	images     map[string]*cri.Image
	pulls      map[string][]func(*cri.Image, error) // pulls in flight, joined per image
	ips        *ipPool
	// epoch advances on Crash: completions scheduled before it are dropped,
	// because the caller died with the node.
	epoch uint64
	seq   uint64  // creation order, for deterministic listing
	calls []*call // fired call records, for reuse (see schedule)
}

var _ cri.Runtime = (*Runtime)(nil)

// New returns an empty runtime.
func New(cfg Config) *Runtime {
	if cfg.Name == "" {
		cfg.Name = "mem"
	}
	if cfg.Version == "" {
		cfg.Version = "0.1.0"
	}
	if cfg.PodCIDR == "" {
		cfg.PodCIDR = "10.244.0.0/24"
	}
	ips, err := newIPPool(cfg.PodCIDR)
	if err != nil {
		panic(err) // a wiring mistake, not a runtime condition
	}
	r := &Runtime{cfg: cfg, clock: cfg.Clock, rand: cfg.Rand, ips: ips,
		sandboxes: map[string]*sandbox{}, containers: map[string]*container{},
		images: map[string]*cri.Image{}, pulls: map[string][]func(*cri.Image, error){}}
	if r.rand == nil {
		r.rand = rand.New(rand.NewPCG(1, 2))
	}
	for _, img := range cfg.Images {
		r.images[img] = imageInfo(img)
	}
	return r
}

// Version implements cri.Runtime.
func (r *Runtime) Version() (string, string) { return r.cfg.Name, r.cfg.Version }

// SetEventHandler implements cri.Runtime.
func (r *Runtime) SetEventHandler(h func(cri.ContainerEvent)) { r.handler = h }

// after runs f once op's latency has passed, unless the runtime crashed meanwhile.
func (r *Runtime) after(op Op, f func()) {
	var d time.Duration
	if r.cfg.Latency != nil {
		d = r.cfg.Latency(op, "", false)
	}
	r.schedule(d, f)
}

// call is one scheduled completion: f runs unless the runtime crashed
// (epoch moved on) before it fired. Records are reused once fired, and run
// is bound once per record, so a completion costs the clock no Timer and
// no wrapping closure (a simulated hour makes about 170,000 per 1,000
// nodes).
type call struct {
	r   *Runtime
	ep  uint64
	f   func()
	run func()
}

func (c *call) fire() {
	r, f, live := c.r, c.f, c.ep == c.r.epoch
	c.f = nil
	r.calls = append(r.calls, c)
	if live {
		f()
	}
}

// schedule runs f after d unless the runtime crashes first. Unlike afterD
// it gives no Timer: for completions nothing stops.
func (r *Runtime) schedule(d time.Duration, f func()) {
	var c *call
	if n := len(r.calls); n > 0 {
		c = r.calls[n-1]
		r.calls[n-1] = nil
		r.calls = r.calls[:n-1]
	} else {
		c = &call{r: r}
		c.run = c.fire
	}
	c.ep, c.f = r.epoch, f
	clock.Schedule(r.clock, d, c.run)
}

// afterD is schedule with a Timer, for the container timers that a stop
// or an exit cancels.
func (r *Runtime) afterD(d time.Duration, f func()) clock.Timer {
	ep := r.epoch
	return r.clock.AfterFunc(d, func() {
		if r.epoch == ep {
			f()
		}
	})
}

func (r *Runtime) emit(ev cri.ContainerEvent) {
	if r.handler != nil {
		r.handler(ev)
	}
}

// newID is a 64-hex-digit ID like containerd's.
func (r *Runtime) newID() string {
	var b [32]byte
	for i := 0; i < 32; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.rand.Uint64())
	}
	return hex.EncodeToString(b[:])
}

// Crash models the node going down: every process dies without an exit
// event, sandboxes lose their network, and calls in flight never answer
// (their caller died too). What a runtime keeps on disk stays: containers
// are reported exited with code 255 and reason Unknown, as containerd does
// after a reboot, and images stay cached.
func (r *Runtime) Crash() {
	r.epoch++
	now := r.clock.Now()
	for _, c := range r.containers {
		c.stopTimers()
		c.waiters = nil
		if c.st.State != cri.ContainerExited {
			c.st.State = cri.ContainerExited
			c.st.ExitCode = 255
			c.st.Reason = cri.ReasonUnknown
			c.st.FinishedAt = now
		}
	}
	for _, s := range r.sandboxes {
		r.releaseIP(s)
		s.st.State = cri.SandboxNotReady
	}
	r.pulls = map[string][]func(*cri.Image, error){}
}

// Wipe models a node replaced by a fresh one: Crash, then forget every
// sandbox, container and pulled image (preloaded images stay).
func (r *Runtime) Wipe() {
	r.Crash()
	r.sandboxes = map[string]*sandbox{}
	r.containers = map[string]*container{}
	r.images = map[string]*cri.Image{}
	for _, img := range r.cfg.Images {
		r.images[img] = imageInfo(img)
	}
	r.ips = mustPool(r.cfg.PodCIDR)
}

// Running counts running containers (for tests and traces).
func (r *Runtime) Running() int {
	n := 0
	for _, c := range r.containers {
		if c.st.State == cri.ContainerRunning {
			n++
		}
	}
	return n
}

// HasImage reports whether the node has image cached.
func (r *Runtime) HasImage(image string) bool { _, ok := r.images[image]; return ok }

// imageInfo makes a stable digest and size for an image name.
func imageInfo(name string) *cri.Image {
	sum := sha256.Sum256([]byte(name))
	size := 10<<20 + int64(binary.BigEndian.Uint32(sum[:4])%(190<<20))
	return &cri.Image{Name: name, Ref: "sha256:" + hex.EncodeToString(sum[:]), Size: size}
}

// ImageStatus implements cri.Runtime.
func (r *Runtime) ImageStatus(image string, done func(*cri.Image, error)) {
	r.after(OpImageStatus, func() {
		if img, ok := r.images[image]; ok {
			cp := *img
			done(&cp, nil)
			return
		}
		done(nil, nil)
	})
}

// pullError is what a registry without the image answers, worded like containerd.
type pullError struct{ image string }

func (e *pullError) Error() string {
	return fmt.Sprintf("failed to pull and unpack image %q: failed to resolve reference %q: %s: not found", e.image, e.image, e.image)
}
func (e *pullError) Unwrap() error { return cri.ErrImageNotFound }

// PullImage implements cri.Runtime. Concurrent pulls of one image share the
// download, as containerd's do.
func (r *Runtime) PullImage(image string, _ *cri.SandboxConfig, done func(*cri.Image, error)) {
	if waiters, ok := r.pulls[image]; ok {
		r.pulls[image] = append(waiters, done)
		return
	}
	r.pulls[image] = []func(*cri.Image, error){done}
	_, cached := r.images[image]
	var d time.Duration
	if r.cfg.Latency != nil {
		d = r.cfg.Latency(OpPull, image, cached)
	}
	r.schedule(d, func() {
		waiters := r.pulls[image]
		delete(r.pulls, image)
		var img *cri.Image
		var err error
		if !cached && r.cfg.ImageExists != nil && !r.cfg.ImageExists(image) {
			err = &pullError{image: image}
		} else {
			img = r.images[image]
			if img == nil {
				img = imageInfo(image)
				r.images[image] = img
			}
		}
		for _, w := range waiters {
			if img != nil {
				cp := *img
				w(&cp, nil)
			} else {
				w(nil, err)
			}
		}
	})
}

// ListPodSandboxes implements cri.Runtime, in creation order.
func (r *Runtime) ListPodSandboxes(done func([]*cri.SandboxStatus, error)) {
	r.after(OpStatus, func() {
		list := make([]*sandbox, 0, len(r.sandboxes))
		for _, s := range r.sandboxes {
			list = append(list, s)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].seq < list[j].seq })
		out := make([]*cri.SandboxStatus, len(list))
		for i, s := range list {
			st := s.st
			out[i] = &st
		}
		done(out, nil)
	})
}

// ListContainers implements cri.Runtime, in creation order.
func (r *Runtime) ListContainers(done func([]*cri.ContainerStatus, error)) {
	r.after(OpStatus, func() {
		list := make([]*container, 0, len(r.containers))
		for _, c := range r.containers {
			list = append(list, c)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].seq < list[j].seq })
		out := make([]*cri.ContainerStatus, len(list))
		for i, c := range list {
			st := c.st
			out[i] = &st
		}
		done(out, nil)
	})
}
