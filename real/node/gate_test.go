package node

import (
	"slices"
	"testing"

	"github.com/drydock-sim/drydock/core/cri"
)

// recordingRuntime records RunPodSandbox calls; other methods are not used.
type recordingRuntime struct {
	cri.Runtime
	calls []string
}

func (r *recordingRuntime) RunPodSandbox(cfg *cri.SandboxConfig, done func(*cri.SandboxStatus, error)) {
	r.calls = append(r.calls, cfg.Name)
	done(&cri.SandboxStatus{ID: cfg.Name}, nil)
}

func TestGatedRuntimeHoldsSandboxesUntilTheNetworkIsReady(t *testing.T) {
	rt := &recordingRuntime{}
	g := &gatedRuntime{Runtime: rt}
	var done []string
	run := func(name string) {
		g.RunPodSandbox(&cri.SandboxConfig{Name: name}, func(st *cri.SandboxStatus, err error) {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			done = append(done, st.ID)
		})
	}
	run("a")
	run("b")
	if len(rt.calls) != 0 || len(done) != 0 {
		t.Fatalf("sandboxes created before the network was ready: %v", rt.calls)
	}
	g.release()
	if want := []string{"a", "b"}; !slices.Equal(rt.calls, want) || !slices.Equal(done, want) {
		t.Fatalf("after release: calls %v done %v, want %v in order", rt.calls, done, want)
	}
	run("c")
	if !slices.Equal(rt.calls, []string{"a", "b", "c"}) {
		t.Fatalf("open gate held a call: %v", rt.calls)
	}
}
