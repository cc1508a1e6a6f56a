package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/drydock-sim/drydock/core/feed"
)

// slowSource gains a fixed simulated step per frame, whatever the wall
// time, like a simulator that cannot keep up; it records what it was asked.
type slowSource struct {
	now     time.Time
	step    time.Duration
	elapsed []time.Duration
	cmds    [][]feed.Command
	paused  bool
	closed  bool
}

func (s *slowSource) Frame(elapsed time.Duration, cmds []feed.Command) feed.Batch {
	s.elapsed = append(s.elapsed, elapsed)
	s.cmds = append(s.cmds, cmds)
	for _, c := range cmds {
		if c.Op == feed.OpToggle {
			s.paused = !s.paused
		}
	}
	if !s.paused && elapsed > 0 {
		s.now = s.now.Add(s.step)
	}
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if s.now.IsZero() {
		s.now = start
	}
	return feed.Batch{Status: feed.Status{Source: "sim", Name: "slow", Start: start, Now: s.now, End: start.Add(time.Hour),
		Speed: 10000, Paused: s.paused, Controllable: true}}
}

func (s *slowSource) Close() { s.closed = true }

// The frame loop hands the source the wall time between ticks, capped, with
// the keys' commands; and when the source falls behind its speed the header
// says how fast it really goes.
func TestPacing(t *testing.T) {
	src := &slowSource{step: time.Second}
	wall := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := New(src, Options{Now: func() time.Time { return wall }})
	run := func(cmd func() any) {
		if msg := cmd(); msg != nil {
			m.Update(msg)
		}
	}
	run(func() any { return m.Init()() })
	tick := func(d time.Duration) {
		wall = wall.Add(d)
		_, cmd := m.Update(tickMsg(wall))
		if cmd == nil {
			t.Fatal("a tick started no frame")
		}
		m.Update(cmd())
	}
	for i := 0; i < 12; i++ {
		tick(100 * time.Millisecond)
	}
	if h := strings.SplitN(m.View(), "\n", 2)[0]; !strings.Contains(h, "▶ 10000x (actual 10x)") {
		t.Errorf("header %q does not show the achieved speed", h)
	}
	tick(2 * time.Second)
	if got := src.elapsed[len(src.elapsed)-1]; got != 250*time.Millisecond {
		t.Errorf("a 2s gap gave the source %v, want the 250ms cap", got)
	}
	// A key's command rides on the next frame, once.
	m.Update(keyMsg(" "))
	tick(50 * time.Millisecond)
	tick(50 * time.Millisecond)
	n := len(src.cmds)
	if len(src.cmds[n-2]) != 1 || src.cmds[n-2][0].Op != feed.OpToggle || len(src.cmds[n-1]) != 0 {
		t.Errorf("commands per frame %v", src.cmds[n-2:])
	}
	if h := strings.SplitN(m.View(), "\n", 2)[0]; !strings.Contains(h, "❚❚ paused") || strings.Contains(h, "actual") {
		t.Errorf("paused header %q", h)
	}
	// While a frame is in flight a tick starts no other.
	wall = wall.Add(time.Second)
	_, cmd := m.Update(tickMsg(wall))
	if _, again := m.Update(tickMsg(wall.Add(time.Second))); again != nil {
		t.Error("a second frame started while one was in flight")
	}
	m.Update(cmd())
	m.Close()
	if !src.closed {
		t.Error("Close did not close the source")
	}
}

func keyMsg(s string) tea.KeyMsg {
	if s == " " {
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}
