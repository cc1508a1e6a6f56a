package tui_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/drydock-sim/drydock/core/feed"
	"github.com/drydock-sim/drydock/internal/golden"
	"github.com/drydock-sim/drydock/sim"
	"github.com/drydock-sim/drydock/sim/scenario"
	"github.com/drydock-sim/drydock/tui"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

const recoveryFile = "../scenarios/node-failure-recovery.yaml"

// harness drives a Model the way the program does, but by hand: keys go
// through Update, the commands they queue go to the simulated feed, and its
// batch comes back through Update.
type harness struct {
	t   *testing.T
	src *sim.Feed
	m   *tui.Model
}

func loadScenario(t testing.TB, edit func(string) string) *scenario.Scenario {
	t.Helper()
	data, err := os.ReadFile(recoveryFile)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if edit != nil {
		text = edit(text)
	}
	sc, err := scenario.Parse(recoveryFile, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func newHarness(t *testing.T, sc *scenario.Scenario, w, h int) *harness {
	t.Helper()
	src, err := sim.NewFeed(sc, sim.FeedOptions{Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := &harness{t: t, src: src, m: tui.New(src, tui.Options{Width: w, Height: h})}
	t.Cleanup(hs.m.Close)
	hs.frame(0)
	return hs
}

// frame runs one frame of wall time elapsed with the queued commands.
func (h *harness) frame(elapsed time.Duration) {
	b := h.src.Frame(elapsed, h.m.Pending())
	h.m.Update(tui.BatchMsg{Batch: b})
}

func (h *harness) keys(keys ...string) {
	for _, k := range keys {
		var msg tea.KeyMsg
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		case "down":
			msg = tea.KeyMsg{Type: tea.KeyDown}
		case "up":
			msg = tea.KeyMsg{Type: tea.KeyUp}
		case "tab":
			msg = tea.KeyMsg{Type: tea.KeyTab}
		case "backspace":
			msg = tea.KeyMsg{Type: tea.KeyBackspace}
		case " ":
			msg = tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		h.m.Update(msg)
	}
}

// jump goes to a simulated time through the g prompt.
func (h *harness) jump(to string) {
	h.keys("g")
	for _, r := range to {
		h.keys(string(r))
	}
	h.keys("enter")
	h.frame(0)
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name+".golden"), []byte(got), *update)
}

// Every view, at moments of node-failure-recovery that show it at work.
func TestViewsGolden(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		edit func(string) string // scenario text edit
		at   string
		keys []string
	}{
		{name: "nodes-before-crash", w: 80, h: 24, at: "50s"},
		{name: "nodes-notready", w: 80, h: 24, at: "2m"},
		{name: "nodes-wide", w: 120, h: 30, at: "2m"},
		{name: "nodes-grid", w: 80, h: 24, at: "2m", keys: []string{"a", "l"}},
		{name: "node-detail", w: 100, h: 30, at: "2m10s", keys: []string{"enter"}},
		{name: "pods", w: 80, h: 24, at: "2m30s", keys: []string{"2"}},
		{name: "pods-filtered", w: 80, h: 24, at: "2m30s", keys: []string{"2", "/worker-0", "enter"}}, // runes of one read
		{name: "pod-detail-replacement", w: 100, h: 40, at: "2m8s", keys: []string{"2", "/", "N", "o", "t", "R", "e", "a", "d", "y", "enter", "enter"}},
		{name: "pod-detail-80x24", w: 80, h: 24, at: "50s", keys: []string{"2", "enter"}},
		{name: "pending-empty", w: 80, h: 24, at: "2m30s", keys: []string{"3"}},
		{name: "pending-reasons", w: 100, h: 24, at: "2m40s", keys: []string{"3"},
			edit: func(s string) string { return strings.Replace(s, "replicas: 10", "replicas: 36", 1) }},
		{name: "pending-pod-detail", w: 100, h: 30, at: "2m40s", keys: []string{"3", "enter"},
			edit: func(s string) string { return strings.Replace(s, "replicas: 10", "replicas: 36", 1) }},
		{name: "deployments-drain", w: 80, h: 24, at: "6m2s", keys: []string{"4"}},
		{name: "deployment-pods", w: 80, h: 24, at: "6m2s", keys: []string{"4", "enter"}},
		{name: "recovery-in-progress", w: 80, h: 24, at: "2m25s", keys: []string{"5"}},
		{name: "recovery-end", w: 80, h: 30, at: "10m", keys: []string{"5"}},
		{name: "events", w: 100, h: 24, at: "2m30s", keys: []string{"6"}},
		{name: "events-filtered", w: 100, h: 24, at: "2m30s", keys: []string{"6", "/", "E", "v", "i", "c", "t", "enter"}},
		{name: "help", w: 80, h: 24, at: "0s", keys: []string{"?"}},
		{name: "tiny", w: 20, h: 5, at: "0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, loadScenario(t, tc.edit), tc.w, tc.h)
			h.jump(tc.at)
			h.keys(tc.keys...)
			checkGolden(t, tc.name, h.m.View())
		})
	}
}

// A rolling update in progress: the new ReplicaSet growing, the old one
// shrinking.
func TestRolloutGolden(t *testing.T) {
	sc, err := scenario.Load("../scenarios/rolling-update.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, sc, 80, 24)
	h.jump("1m4s")
	h.keys("4")
	checkGolden(t, "deployments-rolling-update", h.m.View())
}

// A preemption: the high-priority pod's failed attempt nominates a node
// and names its victims; the next attempt places it there.
func TestPreemptionGolden(t *testing.T) {
	sc, err := scenario.Load("../scenarios/priority-preemption.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, sc, 100, 40)
	h.jump("2m30s")
	h.keys("2", "/critical", "enter", "enter")
	checkGolden(t, "pod-detail-preemption", h.m.View())
}

// Keys that act on the simulation reach the feed and show in the header.
func TestControlKeys(t *testing.T) {
	h := newHarness(t, loadScenario(t, nil), 80, 24)
	header := func() string { return strings.SplitN(h.m.View(), "\n", 2)[0] }
	if got := header(); !strings.Contains(got, "❚❚ paused") || !strings.Contains(got, "t=0.0s") {
		t.Fatalf("header %q", got)
	}
	steps := []struct {
		keys    []string
		elapsed time.Duration
		want    []string
	}{
		{[]string{" "}, 0, []string{"▶ 1x", "t=0.0s"}},
		{nil, time.Second, []string{"▶ 1x", "t=1.0s"}},
		{[]string{"+", "+"}, 2 * time.Second, []string{"▶ 5x", "t=11.0s"}},
		{[]string{"-"}, 0, []string{"▶ 2x"}},
		{[]string{"n"}, 0, []string{"❚❚ paused"}},
		{[]string{"r", "backspace", "9", "enter"}, 0, []string{"seed 9", "t=0.0s"}},
		{[]string{"g", "1", "m", "enter"}, 0, []string{"t=1m00.0s"}},
		{[]string{"g", "x", "enter"}, 0, []string{"t=1m00.0s"}},
	}
	for i, s := range steps {
		h.keys(s.keys...)
		h.frame(s.elapsed)
		got := header()
		for _, w := range s.want {
			if !strings.Contains(got, w) {
				t.Fatalf("step %d (%q): header %q lacks %q", i, s.keys, got, w)
			}
		}
	}
	if v := h.m.View(); !strings.Contains(v, `jump: "x" is not a time`) {
		t.Errorf("bad jump not reported:\n%s", v)
	}
}

// ':' switches views by name, as in k9s.
func TestCommandMode(t *testing.T) {
	h := newHarness(t, loadScenario(t, nil), 80, 24)
	tests := []struct{ cmd, want string }{
		{":deploy", "[4 Deploy]"},
		{":po", "[2 Pods]"},
		{":events", "[6 Events]"},
		{":recovery", "[5 Recovery(0)]"},
		{":nope", `unknown view "nope"`},
	}
	for _, tc := range tests {
		h.keys(tc.cmd, "enter")
		if v := h.m.View(); !strings.Contains(v, tc.want) {
			t.Errorf("%s: view lacks %q:\n%s", tc.cmd, tc.want, v)
		}
	}
	h.keys(":q")
	if _, cmd := h.m.Update(tea.KeyMsg{Type: tea.KeyEnter}); cmd == nil || cmd() != tea.Quit() {
		t.Error(":q did not quit")
	}
}

// A step runs exactly one simulator event.
func TestStepKey(t *testing.T) {
	h := newHarness(t, loadScenario(t, nil), 80, 24)
	before := h.m.St.Status.Events
	h.keys("n")
	h.frame(time.Second)
	if got := h.m.St.Status.Events; got != before+1 {
		t.Fatalf("events %d -> %d, want one step", before, got)
	}
}

// Every frame fits the terminal: no line wider, never more lines, at any
// size, whatever the view.
func TestViewFitsTerminal(t *testing.T) {
	h := newHarness(t, loadScenario(t, nil), 80, 24)
	h.jump("2m30s")
	sizes := [][2]int{{80, 24}, {60, 15}, {200, 60}, {100, 30}}
	for _, size := range sizes {
		h.m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for _, k := range []string{"1", "a", "a", "2", "3", "4", "5", "6", "?", "?"} {
			h.keys(k)
			v := h.m.View()
			lines := strings.Split(v, "\n")
			if len(lines) != size[1] {
				t.Errorf("%dx%d view %s: %d lines", size[0], size[1], k, len(lines))
			}
			for _, l := range lines {
				if w := len([]rune(l)); w > size[0] {
					t.Errorf("%dx%d view %s: line of %d columns: %q", size[0], size[1], k, w, l)
				}
			}
		}
	}
}

// The recovery timeline of the crash has every step, in order, with the
// timings the scenario's comments promise.
func TestRecoveryTimeline(t *testing.T) {
	h := newHarness(t, loadScenario(t, nil), 80, 24)
	h.jump("10m")
	rs := h.m.St.Recoveries
	if len(rs) != 2 {
		t.Fatalf("%d recoveries, want the crash and the drain", len(rs))
	}
	crash := rs[0]
	if crash.Node != "worker-0" || crash.Cause != "crashNode" || crash.Lost == 0 {
		t.Fatalf("crash episode %+v", crash)
	}
	order := []string{tui.StepFailure, tui.StepNotReady, tui.StepTainted, tui.StepEvicted, tui.StepRescheduled, tui.StepPodsReady, tui.StepNodeBack}
	var prev time.Time
	for _, name := range order {
		at, ok := crash.StepAt(name)
		if !ok {
			t.Fatalf("crash timeline lacks %s: %+v", name, crash.Steps)
		}
		if at.Before(prev) {
			t.Errorf("%s at %v before the previous step at %v", name, at, prev)
		}
		prev = at
	}
	notReady, _ := crash.StepAt(tui.StepNotReady)
	evicted, _ := crash.StepAt(tui.StepEvicted)
	tainted, _ := crash.StepAt(tui.StepTainted)
	// The lease was renewed up to 10s before the crash; 40s after the last
	// renewal, at the next 5s monitor period, the node is NotReady.
	if d := notReady.Sub(crash.Start); d < 30*time.Second || d > 45*time.Second {
		t.Errorf("NotReady %v after the crash, want 30s..45s", d)
	}
	if d := evicted.Sub(tainted); d < 29*time.Second || d > 31*time.Second {
		t.Errorf("evicted %v after the taint, want the 30s toleration", d)
	}
	if crash.Evicted != crash.Lost || crash.Replaced < crash.Lost {
		t.Errorf("evicted %d replaced %d of %d lost", crash.Evicted, crash.Replaced, crash.Lost)
	}
	drain := rs[1]
	if drain.Node != "worker-1" || drain.Cause != "drain" || !drain.Has(tui.StepCordoned) || !drain.Has(tui.StepPodsReady) || !drain.Has(tui.StepUncordoned) {
		t.Errorf("drain episode %+v", drain.Steps)
	}
}

// A restart forgets the old run's state.
func TestRestartResetsState(t *testing.T) {
	h := newHarness(t, loadScenario(t, nil), 80, 24)
	h.jump("3m")
	logLines := len(h.m.St.Log)
	if len(h.m.St.Recoveries) != 1 {
		t.Fatalf("recoveries %d", len(h.m.St.Recoveries))
	}
	h.m.Update(tui.BatchMsg{Batch: h.src.Frame(0, []feed.Command{{Op: feed.OpRestart, Seed: 3}})})
	if len(h.m.St.Recoveries) != 0 || h.m.St.Status.Seed != 3 || len(h.m.St.Log) >= logLines {
		t.Fatalf("after restart: %d recoveries, seed %d, %d log lines", len(h.m.St.Recoveries), h.m.St.Status.Seed, len(h.m.St.Log))
	}
}

// At 1,000 nodes the map pages (with its position) and the grid shows every
// node at once; both are readable at 100x30.
func TestThousandNodesGolden(t *testing.T) {
	sc := bigScenario(t, 1000, 300, "15m")
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{"nodes-1000-list", []string{"l", "l", "j"}},
		{"nodes-1000-grid", []string{"a", "G"}},
		{"nodes-1000-filtered", []string{"/NotReady", "enter"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sc, 100, 30)
			h.jump("3m")
			h.keys(tc.keys...)
			checkGolden(t, tc.name, h.m.View())
		})
	}
}

// Colour changes nothing but colour: with the escapes stripped, every view
// is the colourless one.
func TestColourKeepsLayout(t *testing.T) {
	sc := loadScenario(t, nil)
	var views [2][]string
	for i, color := range []bool{false, true} {
		src, err := sim.NewFeed(sc, sim.FeedOptions{Paused: true})
		if err != nil {
			t.Fatal(err)
		}
		h := &harness{t: t, src: src, m: tui.New(src, tui.Options{Width: 100, Height: 30, Color: color})}
		t.Cleanup(h.m.Close)
		h.frame(0)
		h.jump("2m10s")
		for _, k := range []string{"1", "a", "a", "enter", "esc", "2", "enter", "esc", "3", "4", "5", "6", "?"} {
			h.keys(k)
			views[i] = append(views[i], h.m.View())
		}
	}
	for i := range views[0] {
		plain, coloured := views[0][i], views[1][i]
		if !strings.Contains(coloured, "\x1b[") {
			t.Errorf("view %d has no colour:\n%s", i, coloured)
		}
		if got := ansi.Strip(coloured); got != plain {
			t.Errorf("view %d differs once stripped:\n%s\n--- plain:\n%s", i, got, plain)
		}
	}
}

// In the node grid the arrows move as in a grid: up and down by a row,
// left and right by a cell, page keys by a screen of rows. (Up and down
// moved one cell, so reaching row 20 of a 1,000-node grid took 780 presses.)
func TestGridArrowsMoveByRow(t *testing.T) {
	h := newHarness(t, bigScenario(t, 1000, 300, "15m"), 80, 24)
	h.jump("3m")
	h.keys("a")
	perRow, rows := (80-2)/2, 24-4-5 // cells per grid row; grid rows on screen
	selected := func() string {
		t.Helper()
		for _, l := range strings.Split(h.m.View(), "\n") {
			if name, _, ok := strings.Cut(l, ": "); ok && strings.HasPrefix(name, "node-") {
				return name
			}
		}
		t.Fatalf("no selected node in\n%s", h.m.View())
		return ""
	}
	for _, step := range []struct {
		key  string
		want int
	}{
		{"j", perRow}, {"l", perRow + 1}, {"k", 1}, {"k", 1}, {"h", 0},
		{"down", perRow}, {"up", 0}, {"pgdown", perRow * rows}, {"pgup", 0},
		{"G", 999}, {"j", 999}, {"k", 999 - perRow}, {"j", 999},
		{"k", 999 - perRow}, {"l", 999 - perRow + 1}, {"j", 999}, // above the short last row: its last cell
	} {
		switch step.key {
		case "pgdown":
			h.m.Update(tea.KeyMsg{Type: tea.KeyPgDown})
		case "pgup":
			h.m.Update(tea.KeyMsg{Type: tea.KeyPgUp})
		default:
			h.keys(step.key)
		}
		if got, want := selected(), fmt.Sprintf("node-%d", step.want); got != want {
			t.Fatalf("after %s: %s selected, want %s", step.key, got, want)
		}
	}
}

// A node restored before its pods' 30s toleration runs out keeps its pods:
// they are never evicted, and once the kubelet is back they are Ready again
// on the node. The timeline must say so and close, not wait for evictions
// and replacements that never come. Restored within the 40s grace period,
// the node is never NotReady in the API: the restore itself is when it was
// back. A partition healed that early stops no container: the pods ran
// Ready all along and the API never said otherwise.
func TestRecoveryNodeBackBeforeEviction(t *testing.T) {
	for _, tc := range []struct {
		restore   string
		partition bool // partitionNode/healNode instead of crashNode/restoreNode
		notReady  bool // the node was marked NotReady before the restore
	}{
		{"1m50s", false, true},
		{"1m20s", false, false},
		{"1m20s", true, false},
	} {
		t.Run(fmt.Sprintf("%s/partition=%v", tc.restore, tc.partition), func(t *testing.T) {
			sc := loadScenario(t, func(s string) string {
				back := "restoreNode"
				if tc.partition {
					s = strings.Replace(s, "    action: crashNode", "    action: partitionNode", 1)
					back = "healNode"
				}
				return strings.Replace(s, "  - at: 4m\n    action: restoreNode", "  - at: "+tc.restore+"\n    action: "+back, 1)
			})
			restore, err := time.ParseDuration(tc.restore)
			if err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, sc, 80, 24)
			h.jump("5m")
			rs := h.m.St.Recoveries
			if len(rs) != 1 {
				t.Fatalf("%d recoveries, want the crash", len(rs))
			}
			r := rs[0]
			if r.Has(tui.StepNotReady) != tc.notReady {
				t.Errorf("NotReady step %v, want %v: %+v", r.Has(tui.StepNotReady), tc.notReady, r.Steps)
			}
			if r.Evicted != 0 || r.Has(tui.StepEvicted) || r.Has(tui.StepRescheduled) {
				t.Fatalf("pods evicted or replaced though the node came back in time: %+v", r.Steps)
			}
			back, ok := r.StepAt(tui.StepNodeBack)
			if !ok || back.Sub(r.Start) < restore-time.Minute || back.Sub(r.Start) > restore-time.Minute+5*time.Second {
				t.Fatalf("node back at %v (%v), want at the restore, %s: %+v", back, ok, tc.restore, r.Steps)
			}
			ready, ok := r.StepAt(tui.StepPodsReady)
			if !ok || ready.Before(back) {
				t.Fatalf("pods Ready again on the restored node at %v (%v), want a step after the node is back: %+v", ready, ok, r.Steps)
			}
			if !r.Closed {
				t.Errorf("episode still open after the node and its pods are back: %+v", r.Steps)
			}
		})
	}
}

// A source's standing error (a failing watch) is on the last line for as
// long as the source reports it and goes when the source stops reporting
// it; a key does not hide it.
func TestSourceErrorFollowsTheSource(t *testing.T) {
	h := newHarness(t, loadScenario(t, nil), 80, 24)
	lastLine := func() string {
		lines := strings.Split(strings.TrimRight(h.m.View(), "\n"), "\n")
		return lines[len(lines)-1]
	}
	b := h.src.Frame(0, nil)
	b.Status.Err = "watch Pod: pods is forbidden"
	h.m.Update(tui.BatchMsg{Batch: b})
	if !strings.Contains(lastLine(), "pods is forbidden") {
		t.Fatalf("error not shown; last line %q", lastLine())
	}
	h.keys("j")
	h.m.Update(tui.BatchMsg{Batch: b})
	if !strings.Contains(lastLine(), "pods is forbidden") {
		t.Errorf("a key hid a standing error; last line %q", lastLine())
	}
	h.frame(0)
	if strings.Contains(lastLine(), "forbidden") {
		t.Errorf("error still shown after the source cleared it; last line %q", lastLine())
	}
}
