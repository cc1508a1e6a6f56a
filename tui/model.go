package tui

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/drydock-sim/drydock/core/feed"
)

// View is one screen of the dashboard.
type View int

// The views. The first six are tabs (keys 1-6); the details open with enter.
const (
	ViewNodes View = iota
	ViewPods
	ViewPending
	ViewDeployments
	ViewRecovery
	ViewEvents
	ViewNodeDetail
	ViewPodDetail
	numTabs = 6
)

var viewNames = [...]string{"Nodes", "Pods", "Pending", "Deploy", "Recovery", "Events", "Node", "Pod"}

func (v View) String() string { return viewNames[v] }

// screen is one entry of the navigation stack.
type screen struct {
	view   View
	cursor int
	offset int
	filter string
	target string // node name or pod key of a detail view
}

type inputKind int

const (
	inputNone inputKind = iota
	inputFilter
	inputJump
	inputSeed
	inputCommand
)

// commands are k9s-style view names for ':' (with their aliases).
var commands = map[string]View{
	"nodes": ViewNodes, "node": ViewNodes, "no": ViewNodes,
	"pods": ViewPods, "pod": ViewPods, "po": ViewPods,
	"pending": ViewPending, "queue": ViewPending,
	"deployments": ViewDeployments, "deployment": ViewDeployments, "deploy": ViewDeployments, "dp": ViewDeployments,
	"recovery": ViewRecovery, "timeline": ViewRecovery,
	"events": ViewEvents, "event": ViewEvents, "ev": ViewEvents,
}

// Options configure a Model.
type Options struct {
	Width, Height int
	// Color turns colours on (off: NO_COLOR, and in golden tests).
	Color bool
	// FrameInterval is the wall time between frames (default 50ms).
	FrameInterval time.Duration
	// MaxFrameAdvance caps the wall time one frame may account for, so a
	// slow frame does not make the next one leap (default 250ms).
	MaxFrameAdvance time.Duration
	// Now is the wall clock (default time.Now).
	Now func() time.Time
}

// Model is the dashboard.
type Model struct {
	src   *lockedSource
	St    *State
	stack []screen
	w, h  int
	help  bool
	grid  bool

	input     inputKind
	inputText string
	note      string // one-line message in the footer (errors, hints)

	pending  []feed.Command
	inFlight bool
	last     time.Time
	opts     Options
	sty      styles
	quitting bool

	// Achieved speed: simulated time gained per wall time over paced
	// frames, measured over about a second.
	pacedFrame        bool          // the frame in flight was paced by a tick
	rateWall, rateSim time.Duration // accumulating
	actual            float64       // last measurement (0: none)
}

// BatchMsg carries one frame's batch from the source.
type BatchMsg struct{ Batch feed.Batch }

type tickMsg time.Time

// New makes a dashboard over src.
func New(src feed.Source, opts Options) *Model {
	if opts.FrameInterval == 0 {
		opts.FrameInterval = 50 * time.Millisecond
	}
	if opts.MaxFrameAdvance == 0 {
		opts.MaxFrameAdvance = 250 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Width == 0 {
		opts.Width, opts.Height = 80, 24
	}
	m := &Model{src: &lockedSource{src: src}, St: NewState(), stack: []screen{{view: ViewNodes}},
		w: opts.Width, h: opts.Height, opts: opts, sty: newStyles(opts.Color)}
	return m
}

// lockedSource keeps Close from running while a Frame does.
type lockedSource struct {
	mu     sync.Mutex
	src    feed.Source
	closed bool
}

func (l *lockedSource) frame(elapsed time.Duration, cmds []feed.Command) (feed.Batch, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return feed.Batch{}, false
	}
	return l.src.Frame(elapsed, cmds), true
}

func (l *lockedSource) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		l.src.Close()
	}
}

// Close stops the source (after the program ended).
func (m *Model) Close() { m.src.close() }

// Init asks for the first frame.
func (m *Model) Init() tea.Cmd {
	m.last = m.opts.Now()
	m.inFlight = true
	return m.frameCmd(0, nil)
}

func (m *Model) frameCmd(elapsed time.Duration, cmds []feed.Command) tea.Cmd {
	src := m.src
	return func() tea.Msg {
		b, ok := src.frame(elapsed, cmds)
		if !ok {
			return nil
		}
		return BatchMsg{Batch: b}
	}
}

func (m *Model) top() *screen { return &m.stack[len(m.stack)-1] }

// Update handles a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case BatchMsg:
		prev := m.St.Status
		m.St.Apply(msg.Batch)
		m.measure(prev, msg.Batch)
		m.inFlight = false
		if m.quitting {
			return m, nil
		}
		return m, tea.Tick(m.opts.FrameInterval, func(t time.Time) tea.Msg { return tickMsg(t) })
	case tickMsg:
		if m.inFlight || m.quitting {
			return m, nil
		}
		now := time.Time(msg)
		elapsed := now.Sub(m.last)
		m.rateWall += max(elapsed, 0)
		m.pacedFrame = len(m.pending) == 0
		if elapsed > m.opts.MaxFrameAdvance {
			elapsed = m.opts.MaxFrameAdvance
		}
		if elapsed < 0 {
			elapsed = 0
		}
		m.last = now
		cmds := m.pending
		m.pending = nil
		m.inFlight = true
		return m, m.frameCmd(elapsed, cmds)
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		return m, nil
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

// measure folds a paced frame into the achieved speed.
func (m *Model) measure(prev feed.Status, b feed.Batch) {
	paced := m.pacedFrame
	m.pacedFrame = false
	st := b.Status
	if !paced || b.Reset || st.Paused || st.Done || prev.Paused || !st.Controllable {
		m.rateWall, m.rateSim, m.actual = 0, 0, 0
		return
	}
	m.rateSim += st.Now.Sub(prev.Now)
	if m.rateWall >= time.Second {
		m.actual = float64(m.rateSim) / float64(m.rateWall)
		m.rateWall, m.rateSim = 0, 0
	}
}

// Pending returns and clears the commands waiting for the next frame (for
// tests that drive a source by hand).
func (m *Model) Pending() []feed.Command {
	c := m.pending
	m.pending = nil
	return c
}

func (m *Model) control(c feed.Command) {
	if !m.St.Status.Controllable && m.St.Frames > 0 {
		m.note = "a live cluster cannot be paused, stepped or restarted"
		return
	}
	m.pending = append(m.pending, c)
}

func (m *Model) key(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if k.Type == tea.KeyRunes && len(k.Runes) > 1 && !k.Paste {
		// Keys typed faster than a read arrive as one message ("/wo"):
		// take them one at a time.
		var cmds []tea.Cmd
		for _, r := range k.Runes {
			_, c := m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: k.Alt})
			cmds = append(cmds, c)
		}
		return m, tea.Batch(cmds...)
	}
	s := k.String()
	if s == "ctrl+c" {
		m.quitting = true
		return m, tea.Quit
	}
	if m.input != inputNone {
		return m.inputKey(k)
	}
	if m.help {
		if s == "?" || s == "esc" || s == "q" {
			m.help = false
		}
		return m, nil
	}
	m.note = ""
	t := m.top()
	switch s {
	case "q":
		m.quitting = true
		return m, tea.Quit
	case "?":
		m.help = true
	case "1", "2", "3", "4", "5", "6":
		v := View(s[0] - '1')
		m.stack = []screen{{view: v}}
	case "tab":
		m.stack = []screen{{view: (m.stack[0].view + 1) % numTabs}}
	case "shift+tab":
		m.stack = []screen{{view: (m.stack[0].view + numTabs - 1) % numTabs}}
	case "up", "k":
		if grid := m.grid && t.view == ViewNodes; grid && t.cursor >= m.gridPerRow() {
			t.cursor -= m.gridPerRow() // the cell above
		} else if !grid {
			t.cursor--
		}
	case "down", "j":
		if m.grid && t.view == ViewNodes {
			// The cell below; from the row above a shorter last row, its
			// last cell; on the last row, stay.
			per, n := m.gridPerRow(), len(m.gridKeys())
			c := clamp(t.cursor, 0, max(n-1, 0))
			if c/per < (n-1)/per {
				t.cursor = min(c+per, n-1)
			}
		} else {
			t.cursor++
		}
	case "left", "h":
		if m.grid && t.view == ViewNodes {
			t.cursor--
		} else {
			t.cursor -= m.bodyHeight()
		}
	case "right", "l":
		if m.grid && t.view == ViewNodes {
			t.cursor++
		} else {
			t.cursor += m.bodyHeight()
		}
	case "pgup", "ctrl+b":
		t.cursor -= m.pageStep()
	case "pgdown", "ctrl+f":
		t.cursor += m.pageStep()
	case "home":
		t.cursor = 0
	case "end", "G":
		t.cursor = 1 << 30
	case "a":
		m.grid = !m.grid
	case "/":
		m.input, m.inputText = inputFilter, t.filter
	case ":":
		m.input, m.inputText = inputCommand, ""
	case "esc":
		if t.filter != "" {
			t.filter = ""
		} else if len(m.stack) > 1 {
			m.stack = m.stack[:len(m.stack)-1]
		}
	case "enter":
		m.enter()
	case " ":
		m.control(feed.Command{Op: feed.OpToggle})
	case "n":
		m.control(feed.Command{Op: feed.OpStep})
	case "+", "=":
		m.control(feed.Command{Op: feed.OpFaster})
	case "-", "_":
		m.control(feed.Command{Op: feed.OpSlower})
	case "g":
		if m.St.Status.Controllable {
			m.input, m.inputText = inputJump, ""
		} else {
			m.control(feed.Command{Op: feed.OpJump})
		}
	case "r":
		if m.St.Status.Controllable {
			m.input, m.inputText = inputSeed, strconv.FormatUint(m.St.Status.Seed+1, 10)
		} else {
			m.control(feed.Command{Op: feed.OpRestart})
		}
	}
	return m, nil
}

func (m *Model) inputKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	t := m.top()
	switch k.Type {
	case tea.KeyEsc:
		if m.input == inputFilter {
			t.filter = ""
		}
		m.input = inputNone
		return m, nil
	case tea.KeyEnter:
		text := strings.TrimSpace(m.inputText)
		switch m.input {
		case inputFilter:
			t.filter = text
			t.cursor, t.offset = 0, 0
		case inputJump:
			d, err := parseOffset(text)
			if err != nil {
				m.note = err.Error()
			} else {
				m.control(feed.Command{Op: feed.OpJump, At: d})
			}
		case inputCommand:
			if text == "q" || text == "quit" || text == "q!" {
				m.input = inputNone
				m.quitting = true
				return m, tea.Quit
			}
			if v, ok := commands[strings.ToLower(text)]; ok {
				m.stack = []screen{{view: v}}
			} else if text != "" {
				m.note = fmt.Sprintf("unknown view %q (nodes, pods, pending, deploy, recovery, events, q)", text)
			}
		case inputSeed:
			seed, err := strconv.ParseUint(text, 10, 64)
			if err != nil {
				m.note = fmt.Sprintf("seed %q: not a number", text)
			} else {
				m.control(feed.Command{Op: feed.OpRestart, Seed: seed})
			}
		}
		m.input = inputNone
		return m, nil
	case tea.KeyBackspace:
		if r := []rune(m.inputText); len(r) > 0 {
			m.inputText = string(r[:len(r)-1])
		}
	case tea.KeyRunes, tea.KeySpace:
		m.inputText += string(k.Runes)
	}
	if m.input == inputFilter { // filter as you type
		t.filter = strings.TrimSpace(m.inputText)
		t.cursor, t.offset = 0, 0
	}
	return m, nil
}

// parseOffset reads a jump target: a Go duration ("2m30s") or seconds.
func parseOffset(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("jump: %q is not a time (try 2m30s)", s)
}

// enter opens the detail of the selected row.
func (m *Model) enter() {
	t := m.top()
	sel := m.selected()
	if sel == "" {
		return
	}
	switch t.view {
	case ViewNodes:
		m.stack = append(m.stack, screen{view: ViewNodeDetail, target: sel})
	case ViewDeployments:
		m.stack = append(m.stack, screen{view: ViewPods, target: sel})
	case ViewPods, ViewPending, ViewNodeDetail, ViewEvents:
		if t.view == ViewEvents {
			sel = m.podKeyOfEvent(sel)
		}
		if m.St.Pod(sel) != nil {
			m.stack = append(m.stack, screen{view: ViewPodDetail, target: sel})
		}
	}
}

// SetSize is a resize (for tests).
func (m *Model) SetSize(w, h int) { m.w, m.h = w, h }

// styles are the dashboard's colours; without colour they render plain.
type styles struct {
	r                                     *lipgloss.Renderer
	title, dim, bold, sel, tab, tabActive lipgloss.Style
	ok, warn, bad, info, faint            lipgloss.Style
}

func newStyles(color bool) styles {
	r := lipgloss.NewRenderer(nil)
	if color {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	c := func(s string) lipgloss.Color { return lipgloss.Color(s) }
	return styles{r: r,
		title:     r.NewStyle().Bold(true).Foreground(c("39")),
		dim:       r.NewStyle().Foreground(c("245")),
		bold:      r.NewStyle().Bold(true),
		sel:       r.NewStyle().Reverse(true),
		tab:       r.NewStyle().Foreground(c("250")),
		tabActive: r.NewStyle().Bold(true).Reverse(true),
		ok:        r.NewStyle().Foreground(c("42")),
		warn:      r.NewStyle().Foreground(c("214")),
		bad:       r.NewStyle().Foreground(c("196")),
		info:      r.NewStyle().Foreground(c("75")),
		faint:     r.NewStyle().Foreground(c("240")),
	}
}
