package sim

import (
	"bytes"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/feed"
	"github.com/drydock-sim/drydock/sim/scenario"
)

func loadRecovery(t *testing.T) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load("../scenarios/node-failure-recovery.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// A run watched through the feed, in frames of uneven size, is the same run:
// byte-identical trace and the same result as sim.Run.
func TestFeedDoesNotChangeTheRun(t *testing.T) {
	sc := loadRecovery(t)
	var plain, fed bytes.Buffer
	want, err := Run(sc, Options{Trace: &plain})
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFeed(sc, FeedOptions{Speed: 1000, Trace: &fed})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	frames := []time.Duration{16 * time.Millisecond, 33 * time.Millisecond, 7 * time.Millisecond, 100 * time.Millisecond}
	var b feed.Batch
	var changes, decisions int
	var marks []feed.Mark
	for i := 0; i < 100000 && !b.Status.Done; i++ {
		b = f.Frame(frames[i%len(frames)], nil)
		changes += len(b.Changes)
		decisions += len(b.Decisions)
		marks = append(marks, b.Marks...)
	}
	if !b.Status.Done {
		t.Fatal("feed never reached the end")
	}
	got := f.World().Result()
	if got.TraceHash != want.TraceHash || got.Events != want.Events {
		t.Fatalf("feed run differs: trace %s events %d, want %s events %d", got.TraceHash, got.Events, want.TraceHash, want.Events)
	}
	if !bytes.Equal(plain.Bytes(), fed.Bytes()) {
		t.Fatal("traces differ")
	}
	if changes == 0 || decisions == 0 {
		t.Fatalf("changes %d decisions %d, want both > 0", changes, decisions)
	}
	wantMarks := []string{"crashNode worker-0 1m0s", "restoreNode worker-0 4m0s", "drain worker-1 6m0s", "uncordon worker-1 8m30s"}
	if len(marks) != len(wantMarks) {
		t.Fatalf("marks %v, want %v", marks, wantMarks)
	}
	for i, m := range marks {
		if s := m.Action + " " + m.Node + " " + m.At.Sub(Epoch).String(); s != wantMarks[i] {
			t.Errorf("mark %d = %q, want %q", i, s, wantMarks[i])
		}
	}
}

func TestFeedControls(t *testing.T) {
	sc := loadRecovery(t)
	f, err := NewFeed(sc, FeedOptions{Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	// The first batch lists the initial state.
	b := f.Frame(time.Second, nil)
	if b.Reset || b.Status.Now != Epoch || !b.Status.Paused || b.Status.Seed != 7 || !b.Status.Controllable {
		t.Fatalf("first status %+v", b.Status)
	}
	kinds := map[feed.Kind]int{}
	for _, c := range b.Changes {
		kinds[c.Kind]++
	}
	if kinds[feed.Deployments] != 1 || kinds[feed.Services] != 1 {
		t.Fatalf("initial changes by kind %v", kinds)
	}

	tests := []struct {
		name  string
		wall  time.Duration
		cmds  []feed.Command
		check func(t *testing.T, before, after feed.Status, b feed.Batch)
	}{
		{"paused: time stands", time.Second, nil, func(t *testing.T, before, after feed.Status, b feed.Batch) {
			if after.Now != before.Now || after.Events != before.Events {
				t.Errorf("time moved while paused: %v -> %v", before.Now, after.Now)
			}
		}},
		{"step runs one event", 0, []feed.Command{{Op: feed.OpStep}}, func(t *testing.T, before, after feed.Status, b feed.Batch) {
			if after.Events != before.Events+1 || !after.Paused {
				t.Errorf("events %d -> %d paused %v", before.Events, after.Events, after.Paused)
			}
		}},
		{"play at 10x for 2s wall is 20s simulated", 2 * time.Second, []feed.Command{{Op: feed.OpPlay}, {Op: feed.OpSpeed, Speed: 10}}, func(t *testing.T, before, after feed.Status, b feed.Batch) {
			if d := after.Now.Sub(before.Now); d != 20*time.Second {
				t.Errorf("advanced %v, want 20s", d)
			}
			if after.Speed != 10 || after.Paused {
				t.Errorf("speed %v paused %v", after.Speed, after.Paused)
			}
		}},
		{"faster and slower walk the ladder", 0, []feed.Command{{Op: feed.OpFaster}, {Op: feed.OpFaster}, {Op: feed.OpSlower}}, func(t *testing.T, before, after feed.Status, b feed.Batch) {
			if after.Speed != 20 {
				t.Errorf("speed %v, want 20", after.Speed)
			}
		}},
		{"speed is clamped", 0, []feed.Command{{Op: feed.OpSpeed, Speed: 1e9}}, func(t *testing.T, before, after feed.Status, b feed.Batch) {
			if after.Speed != feed.MaxSpeed {
				t.Errorf("speed %v", after.Speed)
			}
		}},
		{"jump forward", 0, []feed.Command{{Op: feed.OpPause}, {Op: feed.OpJump, At: 2 * time.Minute}}, func(t *testing.T, before, after feed.Status, b feed.Batch) {
			if after.Elapsed() != 2*time.Minute || b.Reset {
				t.Errorf("at %v reset %v", after.Elapsed(), b.Reset)
			}
			if len(b.Marks) != 1 || b.Marks[0].Action != "crashNode" {
				t.Errorf("marks %+v", b.Marks)
			}
		}},
		{"jump back reruns from the start", 0, []feed.Command{{Op: feed.OpJump, At: 30 * time.Second}}, func(t *testing.T, before, after feed.Status, b feed.Batch) {
			if after.Elapsed() != 30*time.Second || !b.Reset || len(b.Marks) != 0 {
				t.Errorf("at %v reset %v marks %v", after.Elapsed(), b.Reset, b.Marks)
			}
		}},
		{"restart with another seed", 0, []feed.Command{{Op: feed.OpRestart, Seed: 42}}, func(t *testing.T, before, after feed.Status, b feed.Batch) {
			if after.Seed != 42 || after.Elapsed() != 0 || !b.Reset || len(b.Changes) == 0 {
				t.Errorf("seed %d at %v reset %v changes %d", after.Seed, after.Elapsed(), b.Reset, len(b.Changes))
			}
		}},
		{"jump past the end stops at the end", 0, []feed.Command{{Op: feed.OpJump, At: time.Hour}}, func(t *testing.T, before, after feed.Status, b feed.Batch) {
			if after.Now != after.End || !after.Done {
				t.Errorf("at %v end %v done %v", after.Now, after.End, after.Done)
			}
		}},
	}
	st := b.Status
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := f.Frame(tc.wall, tc.cmds)
			tc.check(t, st, b.Status, b)
			st = b.Status
		})
	}
}

// Decisions arrive cloned: the scheduler reusing its slices does not change
// a decision already handed out.
func TestFeedDecisionsAreCloned(t *testing.T) {
	f, err := NewFeed(loadRecovery(t), FeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ds []feed.Decision
	for len(ds) < 10 {
		ds = append(ds, f.Frame(time.Second, nil).Decisions...)
	}
	for _, d := range ds {
		if d.Winner == "" || d.Pod == nil || len(d.Scored) != len(d.Totals) {
			t.Fatalf("decision %+v", d.Decision)
		}
		found := false
		for _, n := range d.Scored {
			found = found || n == d.Winner
		}
		if len(d.Scored) > 0 && !found {
			t.Fatalf("winner %s not among scored %v", d.Winner, d.Scored)
		}
		if d.Pod.Status.Phase != corev1.PodPending && d.Pod.Status.Phase != "" {
			t.Fatalf("decided pod phase %s", d.Pod.Status.Phase)
		}
	}
}
