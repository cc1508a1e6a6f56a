package tui_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/drydock-sim/drydock/core/feed"
	"github.com/drydock-sim/drydock/internal/testsync"
	"github.com/drydock-sim/drydock/sim"
	"github.com/drydock-sim/drydock/tui"
)

// countingSource counts frames so the test can wait on progress without
// touching the model from another goroutine.
type countingSource struct {
	feed.Source
	frames atomic.Int64
}

func (c *countingSource) Frame(elapsed time.Duration, cmds []feed.Command) feed.Batch {
	b := c.Source.Frame(elapsed, cmds)
	c.frames.Add(1)
	return b
}

// The whole program runs without a terminal: frames flow from the feed on
// bubbletea's command goroutines while keys arrive, and q ends it. Run with
// -race, this is where a frame touching the model would show.
func TestProgramRuns(t *testing.T) {
	f, err := sim.NewFeed(loadScenario(t, nil), sim.FeedOptions{Speed: 1000})
	if err != nil {
		t.Fatal(err)
	}
	src := &countingSource{Source: f}
	m := tui.New(src, tui.Options{Width: 100, Height: 30, FrameInterval: 5 * time.Millisecond})
	defer m.Close()
	out := &testsync.Buffer{}
	p := tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(out))
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()

	waitFrames := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for src.frames.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d frames", src.frames.Load())
			}
			time.Sleep(time.Millisecond) // poll interval
		}
	}
	waitFrames(5)
	runes := func(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }
	for i, k := range []tea.KeyMsg{runes("2"), runes("j"), {Type: tea.KeyEnter}, {Type: tea.KeyEsc}, runes("5"), runes("+"),
		runes("6"), runes("/Sched"), {Type: tea.KeyEnter}, runes("1"), runes("a")} {
		p.Send(k)
		p.Send(tea.WindowSizeMsg{Width: 80 + i, Height: 24 + i})
	}
	waitFrames(src.frames.Load() + 3)
	p.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("program did not end after q")
	}
	if !strings.Contains(out.String(), "drydock") {
		t.Error("nothing drawn")
	}
	if m.St.Status.Elapsed() <= 0 {
		t.Error("simulated time did not advance")
	}
}
