package simruntime_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/drydock-sim/drydock/core/clock/fakeclock"
	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/core/cri/critest"
	"github.com/drydock-sim/drydock/sim/scenario"
	"github.com/drydock-sim/drydock/sim/simruntime"
)

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// annotations turns a suite workload into the simulator's pod annotations.
func annotations(w critest.Workload) map[string]string {
	a := map[string]string{}
	if w.Exits {
		a[scenario.AnnotationExitAfter] = w.ExitAfter.String()
		a[scenario.AnnotationExitCode] = fmt.Sprint(w.ExitCode)
	}
	if w.IgnoreTERM {
		a[scenario.AnnotationStopAfter] = "24h"
	}
	if w.ReadyAfter > 0 {
		a[scenario.AnnotationReadyAfter] = w.ReadyAfter.String()
	}
	if w.FailsLiveness {
		a[scenario.AnnotationFailLivenessAfter] = w.FailLivenessAfter.String()
	}
	return a
}

func newEnv(t *testing.T) *critest.Env {
	clk := fakeclock.New(epoch)
	rt := simruntime.New(simruntime.Config{NodeName: "node-0", Clock: clk, Seed: 1})
	n := 0
	ready, live := critest.DefaultProbes()
	return &critest.Env{
		Runtime: rt, Image: "nginx:1.27", MissingImage: "nginx:" + simruntime.MissingImageMarker,
		Now: clk.Now, Run: critest.ManualRun(clk), Readiness: ready, Liveness: live,
		Pod: func(w critest.Workload) (*cri.SandboxConfig, *cri.ContainerConfig) {
			n++
			uid := fmt.Sprintf("uid-%d", n)
			labels := map[string]string{cri.LabelPodUID: uid, cri.LabelContainerName: "app"}
			return &cri.SandboxConfig{Name: fmt.Sprintf("pod-%d", n), Namespace: "default", UID: uid, Labels: labels, Annotations: annotations(w)},
				&cri.ContainerConfig{Name: "app", Labels: labels}
		},
	}
}

func TestSuite(t *testing.T) { critest.Run(t, newEnv) }

func TestPullCachedPerNode(t *testing.T) {
	clk := fakeclock.New(epoch)
	rt := simruntime.New(simruntime.Config{NodeName: "n", Clock: clk, Seed: 3, ImagePull: simruntime.Constant(4 * time.Second)})
	var took []time.Duration
	pull := func() {
		begin := clk.Now()
		done := false
		rt.PullImage("redis:7", nil, func(img *cri.Image, err error) {
			if err != nil || img.Ref == "" {
				t.Fatalf("pull: %v %v", img, err)
			}
			done = true
		})
		for !done && clk.Step() {
		}
		took = append(took, clk.Now().Sub(begin))
	}
	pull()
	pull()
	if took[0] != 4*time.Second || took[1] != 0 {
		t.Fatalf("pull times %v, want [4s 0s]", took)
	}
}

func TestBadAnnotationFailsCreate(t *testing.T) {
	clk := fakeclock.New(epoch)
	rt := simruntime.New(simruntime.Config{NodeName: "n", Clock: clk})
	sb := &cri.SandboxConfig{Name: "p", Annotations: map[string]string{scenario.AnnotationExitAfter: "soon"}}
	var err error
	rt.RunPodSandbox(sb, func(s *cri.SandboxStatus, _ error) {
		rt.CreateContainer(s.ID, &cri.ContainerConfig{Name: "c", Image: "x:1"}, sb, func(_ string, e error) { err = e })
	})
	for clk.Step() {
	}
	if err == nil {
		t.Fatal("create with a bad behaviour annotation succeeded")
	}
}

func TestSamplers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		s        simruntime.Sampler
		lo, hi   time.Duration // bounds of every draw
		medianLo time.Duration
		medianHi time.Duration
	}{
		{"constant", simruntime.Constant(time.Second), time.Second, time.Second, time.Second, time.Second},
		{"uniform", simruntime.Uniform{Min: time.Second, Max: 3 * time.Second}, time.Second, 3 * time.Second, 1800 * time.Millisecond, 2200 * time.Millisecond},
		{"lognormal", simruntime.LogNormal{Median: time.Second, Sigma: 0.5, Max: 10 * time.Second}, 0, 10 * time.Second, 900 * time.Millisecond, 1100 * time.Millisecond},
		{"exponential", simruntime.Exponential{Mean: time.Second}, 0, time.Hour, 600 * time.Millisecond, 780 * time.Millisecond}, // median = ln2·mean
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 7))
			draws := make([]time.Duration, 4001)
			for i := range draws {
				d := tc.s.Sample(r)
				if d < tc.lo || d > tc.hi {
					t.Fatalf("draw %v outside [%v, %v]", d, tc.lo, tc.hi)
				}
				draws[i] = d
			}
			sort.Slice(draws, func(i, j int) bool { return draws[i] < draws[j] })
			if m := draws[len(draws)/2]; m < tc.medianLo || m > tc.medianHi {
				t.Errorf("median %v outside [%v, %v]", m, tc.medianLo, tc.medianHi)
			}
			// The same seed gives the same draws.
			r1, r2 := rand.New(rand.NewPCG(9, 9)), rand.New(rand.NewPCG(9, 9))
			for i := 0; i < 10; i++ {
				if a, b := tc.s.Sample(r1), tc.s.Sample(r2); a != b {
					t.Fatalf("same seed, different draws %v %v", a, b)
				}
			}
		})
	}
	var _ simruntime.Sampler = scenario.Constant(time.Second)
}

func TestPodCIDRDistinct(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 16384; i++ {
		c := simruntime.PodCIDR(i)
		if seen[c] {
			t.Fatalf("PodCIDR(%d) = %s repeats", i, c)
		}
		seen[c] = true
	}
}
