package sim_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/drydock-sim/drydock/sim"
	"github.com/drydock-sim/drydock/sim/scenario"
)

var update = flag.Bool("update", false, "rewrite the golden traces in testdata/")

func shipped(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../scenarios/*.yaml")
	if err != nil || len(files) < 7 {
		t.Fatalf("want the 7 shipped scenarios, found %v (%v)", files, err)
	}
	return files
}

func load(t *testing.T, file string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func run(t *testing.T, sc *scenario.Scenario, opts sim.Options) (*sim.Result, string) {
	t.Helper()
	var buf bytes.Buffer
	opts.Trace = &buf
	res, err := sim.Run(sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res, buf.String()
}

// Every shipped scenario passes its expectations, and runs bit for bit the
// same with one or two OS threads.
func TestShippedScenariosPassAndAreDeterministic(t *testing.T) {
	for _, file := range shipped(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			sc := load(t, file)
			prev := runtime.GOMAXPROCS(1)
			one, traceOne := run(t, sc, sim.Options{})
			runtime.GOMAXPROCS(2)
			two, traceTwo := run(t, load(t, file), sim.Options{})
			runtime.GOMAXPROCS(prev)
			for _, e := range one.Expectations {
				if !e.Passed {
					t.Errorf("expectation %q failed: %s", e.Name, e.Detail)
				}
			}
			if one.TraceHash != two.TraceHash || traceOne != traceTwo {
				t.Errorf("GOMAXPROCS 1 and 2 gave different traces: %s vs %s", one.TraceHash, two.TraceHash)
			}
			if one.TraceLines < 50 {
				t.Errorf("trace has only %d lines", one.TraceLines)
			}
		})
	}
}

func TestAnotherSeedGivesAnotherTrace(t *testing.T) {
	sc := load(t, "../scenarios/node-failure-recovery.yaml")
	a, _ := run(t, sc, sim.Options{})
	b, _ := run(t, sc, sim.Options{Seed: sc.Seed + 1, HasSeed: true})
	if a.TraceHash == b.TraceHash {
		t.Fatal("seeds", sc.Seed, "and", sc.Seed+1, "gave the same trace")
	}
	if b.Seed != sc.Seed+1 {
		t.Errorf("result seed %d", b.Seed)
	}
}

// Golden traces: a change in behaviour shows up as a diff here. Rewrite with
// go test ./sim -run Golden -update.
func TestGoldenTraces(t *testing.T) {
	for _, name := range []string{"quickstart", "crashloop"} {
		t.Run(name, func(t *testing.T) {
			_, got := run(t, load(t, "../scenarios/"+name+".yaml"), sim.Options{})
			golden := filepath.Join("testdata", name+".trace.jsonl")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
				for i := 0; i < len(gl) && i < len(wl); i++ {
					if gl[i] != wl[i] {
						t.Fatalf("trace differs from %s at line %d:\n got  %s\n want %s", golden, i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("trace has %d lines, golden %d", len(gl), len(wl))
			}
		})
	}
}
