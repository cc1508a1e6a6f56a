package tui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// View renders the screen: three header lines, the body, one footer line.
func (m *Model) View() string {
	if m.quitting {
		return ""
	}
	w, h := m.w, m.h
	if w < 20 || h < 6 {
		return "terminal too small"
	}
	lines := m.header()
	body := m.bodyHeight()
	var b []string
	if m.help {
		b = m.helpLines()
	} else {
		b = m.body(body)
	}
	for len(b) < body {
		b = append(b, "")
	}
	lines = append(lines, b[:body]...)
	lines = append(lines, m.footer())
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, w, "")
	}
	return strings.Join(lines, "\n")
}

func (m *Model) bodyHeight() int { return max(m.h-4, 1) }

// gridPerRow is how many nodes one row of the node grid holds; gridRows
// how many grid rows the screen shows (the rest of the body is the
// summary line, the legend and the selected node's lines).
func (m *Model) gridPerRow() int { return max((m.w-2)/2, 1) }
func (m *Model) gridRows() int   { return m.bodyHeight() - 5 }

// pageStep is how far the page keys move the cursor: a screen of rows, or
// in the node grid a screen of grid rows.
func (m *Model) pageStep() int {
	if m.grid && m.top().view == ViewNodes {
		return m.gridPerRow() * max(m.gridRows(), 1)
	}
	return m.bodyHeight()
}

// fmtOffset prints a time since the start: 9.5s, 2m14.0s, 1h02m03s.
func fmtOffset(d time.Duration) string {
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%s%.1fs", neg, d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%s%dm%04.1fs", neg, int(d/time.Minute), (d % time.Minute).Seconds())
	}
	return fmt.Sprintf("%s%dh%02dm%02ds", neg, int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second))
}

// fmtDelta prints a duration between two steps: +44.1s, +1m02.0s.
func fmtDelta(d time.Duration) string { return "+" + fmtOffset(d) }

func (m *Model) at(t time.Time) string { return fmtOffset(t.Sub(m.St.Status.Start)) }

func (m *Model) header() []string {
	st := m.St.Status
	s := m.sty
	var h1 []string
	h1 = append(h1, s.title.Render("drydock"))
	switch st.Source {
	case "sim":
		h1 = append(h1, "sim "+st.Name, fmt.Sprintf("seed %d", st.Seed))
		state := "▶ " + fmtSpeed(st.Speed)
		if m.actual > 0 && m.actual < 0.8*st.Speed {
			// The simulator cannot keep up: say how fast it really goes.
			state += fmt.Sprintf(" (actual %.0fx)", m.actual)
		}
		if st.Paused {
			state = "❚❚ paused"
		}
		if st.Done {
			state = "■ end"
		}
		h1 = append(h1, fmt.Sprintf("t=%s / %s", fmtOffset(st.Elapsed()), fmtOffset(st.End.Sub(st.Start))), s.bold.Render(state),
			fmt.Sprintf("%d events", st.Events))
	case "live":
		h1 = append(h1, "live "+st.Name, "up "+fmtOffset(st.Elapsed()))
	default:
		h1 = append(h1, "connecting…")
	}
	c := m.St.Count()
	nodes := fmt.Sprintf("nodes %d (%d Ready", c.Nodes, c.NodesReady)
	if nr := c.Nodes - c.NodesReady; nr > 0 {
		nodes += ", " + s.bad.Render(fmt.Sprintf("%d NotReady", nr))
	}
	if c.Cordoned > 0 {
		nodes += fmt.Sprintf(", %d cordoned", c.Cordoned)
	}
	nodes += ")"
	pods := fmt.Sprintf("pods %d (%d Running, %d Ready", c.Pods, c.Running, c.Ready)
	if c.Pending > 0 {
		pods += ", " + s.warn.Render(fmt.Sprintf("%d Pending", c.Pending))
	}
	if c.Terminating > 0 {
		pods += fmt.Sprintf(", %d Terminating", c.Terminating)
	}
	pods += ")"
	h2 := []string{nodes, pods, fmt.Sprintf("deploy %d", c.Deployments)}
	var tabs []string
	for v := View(0); v < numTabs; v++ {
		label := fmt.Sprintf("%d %s", v+1, v)
		switch v {
		case ViewPending:
			label += fmt.Sprintf("(%d)", len(m.St.Pending()))
		case ViewRecovery:
			label += fmt.Sprintf("(%d)", len(m.St.Recoveries))
		}
		if v == m.stack[0].view {
			tabs = append(tabs, s.tabActive.Render("["+label+"]"))
		} else {
			tabs = append(tabs, s.tab.Render(" "+label+" "))
		}
	}
	crumb := ""
	for _, sc := range m.stack[1:] {
		crumb += " › " + sc.view.String() + " " + sc.target
	}
	return []string{strings.Join(h1, " · "), strings.Join(h2, " · "), strings.Join(tabs, "") + s.bold.Render(crumb)}
}

func fmtSpeed(x float64) string {
	if x == float64(int64(x)) {
		return fmt.Sprintf("%dx", int64(x))
	}
	return fmt.Sprintf("%gx", x)
}

func (m *Model) footer() string {
	switch m.input {
	case inputFilter:
		return "/" + m.inputText + "█"
	case inputJump:
		return "jump to (e.g. 2m30s): " + m.inputText + "█"
	case inputSeed:
		return "restart with seed: " + m.inputText + "█"
	case inputCommand:
		return ":" + m.inputText + "█"
	}
	if m.note != "" {
		return m.sty.warn.Render(m.note)
	}
	// The source's standing error (a failing watch, a failed restart) shows
	// for as long as the source reports it, unlike a note, which a key
	// clears.
	if m.St.Status.Err != "" {
		return m.sty.warn.Render(m.St.Status.Err)
	}
	t := m.top()
	var parts []string
	if t.filter != "" {
		parts = append(parts, m.sty.bold.Render("/"+t.filter))
	}
	if m.St.Status.Controllable {
		parts = append(parts, "space play · n step · +- speed · g jump · r seed")
	}
	parts = append(parts, "/ filter · ? help · q quit")
	return strings.Join(parts, " · ")
}

func (m *Model) helpLines() []string {
	return []string{
		m.sty.bold.Render("Keys"),
		"  1-6, tab       views: Nodes, Pods, Pending, Deploy, Recovery, Events",
		"  :name          view by name, as in k9s (:pods, :deploy, :events, :q)",
		"  ↑↓ / j k       move (node grid: ↑↓ a row, ← → / h l a cell)",
		"  ← → / h l      page up / down;  pgup pgdn, home end also work",
		"  enter          open: a node's pods, a pod's scheduling decision",
		"  esc            clear the filter, then go back",
		"  /              filter the rows (substring, as you type)",
		"  a              nodes as a list or as an aggregated grid",
		"  space          play / pause the simulation",
		"  n              step one simulator event (pauses)",
		"  + -            simulation speed up / down (1x to 10000x)",
		"  g              jump to a simulated time (back in time reruns)",
		"  r              restart the scenario with another seed",
		"  ?              this help;  q quit",
		"",
		m.sty.bold.Render("Pod cells"),
		"  " + m.podGlyphs()[0],
		"  " + m.podGlyphs()[1],
	}
}

func (m *Model) podGlyphs() [2]string {
	s := m.sty
	return [2]string{
		strings.Join([]string{s.ok.Render("●") + " Ready", s.warn.Render("◐") + " Running, not Ready", s.info.Render("○") + " Pending"}, "  "),
		strings.Join([]string{s.dim.Render("✕") + " Terminating", s.bad.Render("!") + " Failed/back-off", s.faint.Render("✓") + " Succeeded"}, "  "),
	}
}

// podCell is a pod as one glyph coloured by phase.
func (m *Model) podCell(p *corev1.Pod) string {
	s := m.sty
	switch st := PodStatusText(p); {
	case p.DeletionTimestamp != nil:
		return s.dim.Render("✕")
	case st == "CrashLoopBackOff" || st == "Error" || p.Status.Phase == corev1.PodFailed || strings.HasSuffix(st, "BackOff"):
		return s.bad.Render("!")
	case p.Status.Phase == corev1.PodSucceeded:
		return s.faint.Render("✓")
	case p.Status.Phase == corev1.PodRunning && podReady(p):
		return s.ok.Render("●")
	case p.Status.Phase == corev1.PodRunning:
		return s.warn.Render("◐")
	}
	return s.info.Render("○")
}

// list is a filtered, scrollable table.
type list struct {
	preamble []string
	header   string
	keys     []string
	render   func(i int) string
	after    func(key string) []string // lines under the table for the selected row
}

func (m *Model) filtered(keys []string, text func(string) string) []string {
	f := strings.ToLower(m.top().filter)
	if f == "" {
		return keys
	}
	var out []string
	for _, k := range keys {
		if strings.Contains(strings.ToLower(text(k)), f) {
			out = append(out, k)
		}
	}
	return out
}

// build makes the list of the top screen (nil for text views).
func (m *Model) build() *list {
	switch m.top().view {
	case ViewNodes:
		return m.nodesList()
	case ViewPods:
		if t := m.top().target; t != "" {
			return m.podsList("", m.podKeysOfDeployment(t))
		}
		return m.podsList("", m.St.PodKeys())
	case ViewPending:
		return m.pendingList()
	case ViewDeployments:
		return m.deploymentsList()
	case ViewEvents:
		return m.eventsList()
	case ViewNodeDetail:
		return m.nodeDetail()
	}
	return nil
}

// selected is the key of the row under the cursor.
func (m *Model) selected() string {
	l := m.build()
	if l == nil || len(l.keys) == 0 {
		return ""
	}
	t := m.top()
	t.cursor = clamp(t.cursor, 0, len(l.keys)-1)
	return l.keys[t.cursor]
}

func clamp(x, lo, hi int) int {
	if x > hi {
		x = hi
	}
	if x < lo {
		x = lo
	}
	return x
}

func (m *Model) body(height int) []string {
	t := m.top()
	switch t.view {
	case ViewPodDetail:
		return m.scroll(m.podDetail(t.target), height)
	case ViewRecovery:
		return m.scroll(m.filterText(m.recoveryLines()), height)
	}
	if t.view == ViewNodes && m.grid {
		return m.nodeGrid(height)
	}
	l := m.build()
	out := append([]string(nil), l.preamble...)
	out = append(out, m.sty.bold.Render(l.header))
	var after []string
	if len(l.keys) > 0 {
		t.cursor = clamp(t.cursor, 0, len(l.keys)-1)
		if l.after != nil {
			after = l.after(l.keys[t.cursor])
		}
	} else {
		t.cursor = 0
	}
	rows := height - len(out) - len(after)
	if rows < 1 {
		after = nil
		rows = max(height-len(out), 1)
	}
	if t.cursor < t.offset {
		t.offset = t.cursor
	}
	if t.cursor >= t.offset+rows {
		t.offset = t.cursor - rows + 1
	}
	t.offset = clamp(t.offset, 0, max(len(l.keys)-rows, 0))
	for i := t.offset; i < len(l.keys) && i < t.offset+rows; i++ {
		if i == t.cursor {
			out = append(out, m.sty.sel.Render("> "+ansi.Strip(l.render(i))))
		} else {
			out = append(out, "  "+l.render(i))
		}
	}
	if len(l.keys) == 0 {
		if t.filter != "" {
			out = append(out, m.sty.dim.Render("  (nothing matches /"+t.filter+")"))
		} else {
			out = append(out, m.sty.dim.Render("  (none)"))
		}
	}
	for len(out) < height-len(after) {
		out = append(out, "")
	}
	return append(out, after...)
}

// scroll shows a text view from the cursor line on.
func (m *Model) scroll(lines []string, height int) []string {
	t := m.top()
	t.cursor = clamp(t.cursor, 0, max(len(lines)-height, 0))
	end := min(t.cursor+height, len(lines))
	return lines[t.cursor:end]
}

func (m *Model) filterText(lines []string) []string {
	f := strings.ToLower(m.top().filter)
	if f == "" {
		return lines
	}
	var out []string
	for _, l := range lines {
		if strings.Contains(strings.ToLower(ansi.Strip(l)), f) {
			out = append(out, l)
		}
	}
	return out
}

func pad(s string, w int) string {
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w-1, "") + "…"
	}
	return s + strings.Repeat(" ", w-n)
}

func padLeft(s string, w int) string {
	n := ansi.StringWidth(s)
	if n >= w {
		return s
	}
	return strings.Repeat(" ", w-n) + s
}

func (m *Model) bar(used, total int64, width int) string {
	if total <= 0 {
		return strings.Repeat("·", width) + "   -"
	}
	pct := float64(used) / float64(total)
	fill := int(pct*float64(width) + 0.5)
	fill = clamp(fill, 0, width)
	if used > 0 && fill == 0 {
		fill = 1
	}
	st := m.sty.ok
	if pct >= 0.9 {
		st = m.sty.bad
	} else if pct >= 0.7 {
		st = m.sty.warn
	}
	return st.Render(strings.Repeat("█", fill)) + m.sty.faint.Render(strings.Repeat("░", width-fill)) + fmt.Sprintf("%4d%%", int(pct*100+0.5))
}

func (m *Model) nodeStatus(n *corev1.Node) string {
	st := NodeStatusText(n)
	if NodeReady(n) != corev1.ConditionTrue {
		return m.sty.bad.Render(st)
	}
	if n.Spec.Unschedulable {
		return m.sty.warn.Render(st)
	}
	return m.sty.ok.Render(st)
}

// taintsText lists a node's taints in full ("none" without any).
func taintsText(n *corev1.Node) string {
	if len(n.Spec.Taints) == 0 {
		return "none"
	}
	ts := make([]string, 0, len(n.Spec.Taints))
	for _, t := range n.Spec.Taints {
		ts = append(ts, TaintText(t))
	}
	return strings.Join(ts, ", ")
}

func taintSummary(n *corev1.Node) string {
	if len(n.Spec.Taints) == 0 {
		return ""
	}
	s := shortTaint(n.Spec.Taints[0])
	if len(n.Spec.Taints) > 1 {
		s += fmt.Sprintf("+%d", len(n.Spec.Taints)-1)
	}
	return s
}

func (m *Model) nodeNameWidth() int {
	w := 8
	for _, n := range m.St.NodeNames() {
		w = max(w, len(n))
	}
	return min(w, 20)
}

func (m *Model) nodesList() *list {
	st := m.St
	keys := m.filtered(st.NodeNames(), func(k string) string {
		n := st.Nodes[k]
		var ts []string
		for _, t := range n.Spec.Taints {
			ts = append(ts, TaintText(t))
		}
		return k + " " + NodeStatusText(n) + " " + strings.Join(ts, " ")
	})
	nw := m.nodeNameWidth()
	barW := 5
	if m.w >= 120 {
		barW = 10
	}
	fixed := 2 + nw + 1 + 17 + 1 + 10 + 1 + (4 + barW + 5) + 1 + (4 + barW + 5) + 1
	cells := max(m.w-fixed, 4)
	c := st.Count()
	pre := fmt.Sprintf("%d nodes · %d Ready · %d NotReady · %d cordoned", c.Nodes, c.NodesReady, c.Nodes-c.NodesReady, c.Cordoned)
	if len(keys) > m.bodyHeight()-4 && m.bodyHeight() > 4 {
		rows := m.bodyHeight() - 4
		pre += fmt.Sprintf(" · page %d/%d (a: grid)", clamp(m.top().cursor, 0, len(keys)-1)/rows+1, (len(keys)+rows-1)/rows)
	}
	return &list{
		preamble: []string{m.sty.dim.Render(pre)},
		header:   "  " + pad("NODE", nw) + " " + pad("STATUS", 17) + " " + pad("TAINTS", 10) + " " + pad("CPU req/alloc", 4+barW+5) + " " + pad("MEM req/alloc", 4+barW+5) + " PODS",
		keys:     keys,
		render: func(i int) string {
			n := st.Nodes[keys[i]]
			u := st.Usage(n)
			var pc strings.Builder
			for j, p := range u.Pods {
				if j == cells-1 && len(u.Pods) > cells {
					pc.WriteString(m.sty.dim.Render("…"))
					break
				}
				pc.WriteString(m.podCell(p))
			}
			return pad(n.Name, nw) + " " + pad(m.nodeStatus(n), 17) + " " + pad(taintSummary(n), 10) + " " +
				"cpu " + m.bar(u.CPUReq, u.CPUAlloc, barW) + " mem " + m.bar(u.MemReq, u.MemAlloc, barW) + " " + pc.String()
		},
		after: func(k string) []string {
			n := st.Nodes[k]
			u := st.Usage(n)
			taints := taintsText(n)
			return append([]string{
				m.sty.dim.Render(strings.Repeat("─", min(m.w, 80))),
				fmt.Sprintf("%s: %d pods · cpu %s/%s · mem %s/%s · enter: its pods", n.Name, len(u.Pods), fmtCPU(u.CPUReq), fmtCPU(u.CPUAlloc), fmtMem(u.MemReq), fmtMem(u.MemAlloc)),
			}, wrap("taints: "+taints, m.w)...)
		},
	}
}

// nodeGrid is the aggregated map: one cell per node, for big clusters.
// gridKeys are the nodes the grid shows, in order.
func (m *Model) gridKeys() []string {
	st := m.St
	return m.filtered(st.NodeNames(), func(k string) string { return k + " " + NodeStatusText(st.Nodes[k]) })
}

func (m *Model) nodeGrid(height int) []string {
	st := m.St
	t := m.top()
	keys := m.gridKeys()
	c := st.Count()
	out := []string{m.sty.dim.Render(fmt.Sprintf("%d nodes · %d Ready · %d NotReady · %d cordoned · one cell per node, colour = cpu requested (a: list)",
		c.Nodes, c.NodesReady, c.Nodes-c.NodesReady, c.Cordoned))}
	if len(keys) == 0 {
		return append(out, m.sty.dim.Render("  (none)"))
	}
	t.cursor = clamp(t.cursor, 0, len(keys)-1)
	perRow := m.gridPerRow()
	rows := m.gridRows()
	totalRows := (len(keys) + perRow - 1) / perRow
	curRow := t.cursor / perRow
	if curRow < t.offset {
		t.offset = curRow
	}
	if curRow >= t.offset+rows {
		t.offset = curRow - rows + 1
	}
	t.offset = clamp(t.offset, 0, max(totalRows-rows, 0))
	for r := t.offset; r < totalRows && r < t.offset+rows; r++ {
		var b strings.Builder
		b.WriteString("  ")
		for i := r * perRow; i < len(keys) && i < (r+1)*perRow; i++ {
			n := st.Nodes[keys[i]]
			g := "■"
			stl := m.sty.ok
			u := st.usage(n)
			if u.CPUAlloc > 0 && float64(u.CPUReq)/float64(u.CPUAlloc) >= 0.9 {
				stl = m.sty.bad
			} else if u.CPUAlloc > 0 && float64(u.CPUReq)/float64(u.CPUAlloc) >= 0.7 {
				stl = m.sty.warn
			}
			switch {
			case NodeReady(n) != corev1.ConditionTrue:
				g, stl = "✕", m.sty.bad
			case n.Spec.Unschedulable:
				g, stl = "▣", m.sty.warn
			}
			if i == t.cursor {
				b.WriteString(m.sty.sel.Render("◆") + " ")
			} else {
				b.WriteString(stl.Render(g) + " ")
			}
		}
		out = append(out, b.String())
	}
	for len(out) < height-4 {
		out = append(out, "")
	}
	l := m.nodesList()
	return append(out, append([]string{"■ Ready  ▣ cordoned  ✕ NotReady  ◆ selected"}, l.after(keys[t.cursor])...)...)
}

func (m *Model) podsList(node string, all []string) *list {
	st := m.St
	keys := m.filtered(all, func(k string) string {
		p := st.Pods[k].Pod
		return k + " " + PodStatusText(p) + " " + p.Spec.NodeName
	})
	nameW := max(min(m.w-48, 44), 20)
	now := st.Status.Now
	return &list{
		header: "  " + pad("NAMESPACE/NAME", nameW) + " " + pad("READY", 5) + " " + pad("STATUS", 17) + " " + padLeft("RST", 3) + " " + pad("NODE", 10) + " AGE",
		keys:   keys,
		render: func(i int) string {
			p := st.Pods[keys[i]].Pod
			r, n := readyCount(p)
			status := PodStatusText(p)
			switch {
			case p.DeletionTimestamp != nil:
				status = m.sty.dim.Render(status)
			case status == "Running":
				status = m.sty.ok.Render(status)
			case strings.Contains(status, "BackOff") || status == "Failed" || status == "Error":
				status = m.sty.bad.Render(status)
			default:
				status = m.sty.warn.Render(status)
			}
			node := p.Spec.NodeName
			if node == "" {
				node = "<none>"
			}
			return pad(keys[i], nameW) + " " + pad(fmt.Sprintf("%d/%d", r, n), 5) + " " + pad(status, 17) + " " +
				padLeft(fmt.Sprint(restarts(p)), 3) + " " + pad(node, 10) + " " + age(now, p.CreationTimestamp)
		},
	}
}

func age(now time.Time, t metav1.Time) string {
	if t.IsZero() || now.IsZero() {
		return "-"
	}
	d := now.Sub(t.Time)
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh", int(d.Hours()))
}

func (m *Model) pendingList() *list {
	st := m.St
	pend := st.Pending()
	all := make([]string, len(pend))
	byKey := map[string]*PodInfo{}
	for i, p := range pend {
		all[i] = key(p.Pod)
		byKey[all[i]] = p
	}
	keys := m.filtered(all, func(k string) string { return k + " " + PendingReason(byKey[k]) })
	nameW := min(max(m.w/3, 20), 40)
	return &list{
		header: "  " + pad("NAMESPACE/NAME", nameW) + " " + padLeft("TRIES", 5) + " " + pad("AGE", 4) + " REASON (the scheduler's)",
		keys:   keys,
		render: func(i int) string {
			info := byKey[keys[i]]
			tries := "-" // unknown: a live cluster publishes no attempts
			if info.Attempts > 0 {
				tries = fmt.Sprint(info.Attempts)
			}
			return pad(keys[i], nameW) + " " + padLeft(tries, 5) + " " + pad(age(st.Status.Now, info.Pod.CreationTimestamp), 4) + " " + m.sty.warn.Render(PendingReason(info))
		},
		after: func(k string) []string {
			out := []string{m.sty.dim.Render(strings.Repeat("─", min(m.w, 80)))}
			for _, l := range wrap(k+": "+PendingReason(byKey[k]), m.w) {
				out = append(out, l)
			}
			return out
		},
	}
}

// wrap breaks s into lines of at most w columns at spaces.
func wrap(s string, w int) []string {
	if w < 10 {
		w = 10
	}
	var out []string
	var cur string
	for _, word := range strings.Fields(s) {
		if cur != "" && ansi.StringWidth(cur)+1+ansi.StringWidth(word) > w {
			out = append(out, cur)
			cur = "  " + word
			continue
		}
		if cur == "" {
			cur = word
		} else {
			cur += " " + word
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

func (m *Model) deploymentsList() *list {
	st := m.St
	var all []string
	for k := range st.Deployments {
		all = append(all, k)
	}
	sort.Strings(all)
	keys := m.filtered(all, func(k string) string { return k })
	nameW := min(max(m.w/5, 14), 30)
	return &list{
		header: "  " + pad("NAMESPACE/NAME", nameW) + " " + pad("READY", 7) + " " + pad("UPDATED", 7) + " " + pad("AVAIL", 5) + " " + pad("ROLLOUT", 12) + " STATE",
		keys:   keys,
		render: func(i int) string {
			d := st.Deployments[keys[i]]
			want := int32(1)
			if d.Spec.Replicas != nil {
				want = *d.Spec.Replicas
			}
			s := d.Status
			var newAvail int64
			if rss := m.replicaSetsOf(d); len(rss) > 0 && rss[0].Annotations[revisionAnnotation] == d.Annotations[revisionAnnotation] {
				newAvail = int64(rss[0].Status.AvailableReplicas)
			}
			return pad(keys[i], nameW) + " " + pad(fmt.Sprintf("%d/%d", s.ReadyReplicas, want), 7) + " " + pad(fmt.Sprint(s.UpdatedReplicas), 7) + " " +
				pad(fmt.Sprint(s.AvailableReplicas), 5) + " " + m.bar(newAvail, int64(want), 7) + " " + m.rolloutState(d, newAvail)
		},
		after: func(k string) []string {
			d := st.Deployments[k]
			out := []string{m.sty.dim.Render(strings.Repeat("─", min(m.w, 80))), "replica sets of " + k + " (newest first):"}
			for _, rs := range m.replicaSetsOf(d) {
				want := int32(0)
				if rs.Spec.Replicas != nil {
					want = *rs.Spec.Replicas
				}
				out = append(out, fmt.Sprintf("  %s  rev %s  %d/%d ready, %d available", rs.Name, rs.Annotations[revisionAnnotation], rs.Status.ReadyReplicas, want, rs.Status.AvailableReplicas))
			}
			return out
		},
	}
}

const revisionAnnotation = "deployment.kubernetes.io/revision"

// replicaSetsOf lists a deployment's ReplicaSets, newest revision first.
func (m *Model) replicaSetsOf(d *appsv1.Deployment) []*appsv1.ReplicaSet {
	var rss []*appsv1.ReplicaSet
	for _, rs := range m.St.ReplicaSets {
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.UID == d.UID {
			rss = append(rss, rs)
		}
	}
	rev := func(rs *appsv1.ReplicaSet) int {
		n, _ := strconv.Atoi(rs.Annotations[revisionAnnotation])
		return n
	}
	sort.Slice(rss, func(i, j int) bool {
		if a, b := rev(rss[i]), rev(rss[j]); a != b {
			return a > b
		}
		return rss[i].Name < rss[j].Name
	})
	return rss
}

func (m *Model) rolloutState(d *appsv1.Deployment, newAvail int64) string {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	for _, c := range s.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return m.sty.bad.Render("deadline exceeded")
		}
	}
	switch {
	case s.ObservedGeneration < d.Generation:
		return m.sty.warn.Render("waiting for controller")
	case s.UpdatedReplicas < want:
		return m.sty.warn.Render(fmt.Sprintf("rolling: %d new, %d avail", s.UpdatedReplicas, newAvail))
	case s.Replicas > s.UpdatedReplicas:
		return m.sty.warn.Render(fmt.Sprintf("%d old replicas terminating", s.Replicas-s.UpdatedReplicas))
	case s.AvailableReplicas < want:
		return m.sty.warn.Render(fmt.Sprintf("%d of %d available", s.AvailableReplicas, want))
	}
	return m.sty.ok.Render("complete")
}

func (m *Model) eventsList() *list {
	st := m.St
	n := len(st.Log)
	all := make([]string, n)
	for i := range all { // newest first
		all[i] = fmt.Sprint(n - 1 - i)
	}
	entry := func(k string) *LogEntry {
		var i int
		fmt.Sscan(k, &i)
		return st.Log[i]
	}
	keys := m.filtered(all, func(k string) string {
		e := entry(k)
		return e.Type + " " + e.Reason + " " + e.Object + " " + e.Msg
	})
	objW := min(max(m.w-72, 16), 34)
	return &list{
		header: "  " + pad("TIME", 9) + " " + pad("TYPE", 7) + " " + pad("REASON", 20) + " " + pad("OBJECT", objW) + " MESSAGE",
		keys:   keys,
		render: func(i int) string {
			e := entry(keys[i])
			typ := e.Type
			if typ == corev1.EventTypeWarning {
				typ = m.sty.warn.Render(typ)
			}
			msg := e.Msg
			if e.Count > 1 {
				msg = fmt.Sprintf("(x%d) %s", e.Count, msg)
			}
			return pad(m.at(e.At), 9) + " " + pad(typ, 7) + " " + pad(e.Reason, 20) + " " + pad(e.Object, objW) + " " + msg
		},
	}
}

// podKeyOfEvent maps an event row to its pod (for enter).
func (m *Model) podKeyOfEvent(k string) string {
	var i int
	fmt.Sscan(k, &i)
	if i < 0 || i >= len(m.St.Log) {
		return ""
	}
	e := m.St.Log[i]
	name, ok := strings.CutPrefix(e.Object, "Pod/")
	if !ok {
		return ""
	}
	for _, k := range m.St.PodKeys() {
		if strings.HasSuffix(k, "/"+name) {
			return k
		}
	}
	return ""
}

func (m *Model) nodeDetail() *list {
	st := m.St
	name := m.top().target
	n := st.Nodes[name]
	if n == nil {
		return &list{preamble: []string{m.sty.bad.Render("node " + name + " is gone")}, header: ""}
	}
	u := st.Usage(n)
	taints := taintsText(n)
	var conds []string
	for _, c := range n.Status.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s", c.Type, c.Status))
	}
	l := m.podsList(name, m.podKeysOn(name))
	l.preamble = []string{
		m.sty.bold.Render("Node "+name) + "  " + m.nodeStatus(n) + "  " + strings.Join(conds, " "),
		"cpu " + m.bar(u.CPUReq, u.CPUAlloc, 10) + fmt.Sprintf(" %s/%s", fmtCPU(u.CPUReq), fmtCPU(u.CPUAlloc)) +
			"   mem " + m.bar(u.MemReq, u.MemAlloc, 10) + fmt.Sprintf(" %s/%s", fmtMem(u.MemReq), fmtMem(u.MemAlloc)),
		"taints: " + taints,
	}
	return l
}

// podKeysOfDeployment lists the pods whose ReplicaSet the deployment owns.
func (m *Model) podKeysOfDeployment(k string) []string {
	d := m.St.Deployments[k]
	if d == nil {
		return nil
	}
	var out []string
	for _, rs := range m.replicaSetsOf(d) {
		for pk := range m.St.podsByOwner[string(rs.UID)] {
			out = append(out, pk)
		}
	}
	sort.Strings(out)
	return out
}

func (m *Model) podKeysOn(node string) []string {
	var out []string
	for _, p := range m.St.PodsOn(node) {
		out = append(out, key(p))
	}
	return out
}
