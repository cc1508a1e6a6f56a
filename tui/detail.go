package tui

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/feed"
)

// maxDecisionRows bounds the per-node table of a decision (the rest is
// summed up by reason).
const maxDecisionRows = 40

// podDetail is the pod's page: summary, scheduling decision, events,
// status history.
func (m *Model) podDetail(k string) []string {
	s := m.sty
	info := m.St.Pod(k)
	if info == nil {
		return []string{s.bad.Render("pod " + k + " is gone")}
	}
	p := info.Pod
	title := s.bold.Render("Pod " + k)
	if info.Deleted {
		title += s.dim.Render(" (deleted at " + m.at(info.DeletedAt) + ")")
	}
	r, n := readyCount(p)
	node := p.Spec.NodeName
	if node == "" {
		node = "<none>"
	}
	out := []string{title,
		fmt.Sprintf("  node %s · %s · %d/%d ready · restarts %d · IP %s", node, PodStatusText(p), r, n, restarts(p), orDash(p.Status.PodIP)),
	}
	owner := "none"
	if ref := metav1.GetControllerOf(p); ref != nil {
		owner = ref.Kind + "/" + ref.Name
	}
	c, mem := podRequests(p)
	created := "at " + m.at(p.CreationTimestamp.Time)
	if m.St.Status.Source == "live" { // times before the dashboard started: say how long ago
		created = age(m.St.Status.Now, p.CreationTimestamp) + " ago"
	}
	out = append(out, fmt.Sprintf("  owner %s · requests cpu %s mem %s · created %s", owner, fmtCPU(c), fmtMem(mem), created))
	if len(p.Spec.Tolerations) > 0 {
		var ts []string
		for _, t := range p.Spec.Tolerations {
			ts = append(ts, tolerationText(t))
		}
		out = append(out, "  tolerates "+strings.Join(ts, ", "))
	}
	out = append(out, "")
	out = append(out, m.decisionLines(info)...)
	out = append(out, "", s.bold.Render("Events"))
	if len(info.Events) == 0 {
		out = append(out, s.dim.Render("  (none seen)"))
	}
	for _, e := range info.Events {
		msg := e.Msg
		if e.Count > 1 {
			msg = fmt.Sprintf("(x%d) %s", e.Count, msg)
		}
		out = append(out, "  "+pad(m.at(e.At), 9)+" "+pad(e.Type, 7)+" "+pad(e.Reason, 18)+" "+msg)
	}
	out = append(out, "", s.bold.Render("Status history"))
	for _, h := range info.History {
		out = append(out, "  "+pad(m.at(h.At), 9)+" "+h.Text)
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func tolerationText(t corev1.Toleration) string {
	s := t.Key
	if t.Operator == corev1.TolerationOpEqual && t.Value != "" {
		s += "=" + t.Value
	}
	if s == "" {
		s = "*"
	}
	if t.Effect != "" {
		s += ":" + string(t.Effect)
	}
	if t.TolerationSeconds != nil {
		s += fmt.Sprintf(" %ds", *t.TolerationSeconds)
	}
	return s
}

// abbrev shortens a plugin name to its capitals: NodeResourcesFit -> NRF.
func abbrev(name string) string {
	var b strings.Builder
	for _, r := range name {
		if unicode.IsUpper(r) {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return name
	}
	return b.String()
}

func (m *Model) decisionLines(info *PodInfo) []string {
	s := m.sty
	out := []string{s.bold.Render("Scheduling")}
	if len(info.Decisions) == 0 {
		// No decision recorded (a live cluster): the scheduler's condition.
		for _, c := range info.Pod.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				for _, l := range wrap(fmt.Sprintf("PodScheduled=False %s: %s", c.Reason, c.Message), m.w-4) {
					out = append(out, "  "+s.warn.Render(l))
				}
			}
		}
		if m.St.Status.Source == "live" {
			return append(out, s.dim.Render("  a live cluster's scheduler publishes no per-node verdicts or scores: see its events"))
		}
		if info.Pod.Spec.NodeName != "" {
			return append(out, s.dim.Render("  bound before the dashboard watched (no decision recorded)"))
		}
		return append(out, s.dim.Render("  no attempt yet"))
	}
	// Earlier attempts in one line each; the last in full.
	for _, d := range info.Decisions {
		for _, l := range wrap(m.decisionSummary(d), m.w-2) {
			out = append(out, "  "+l)
		}
		if len(d.Victims) > 0 {
			var vs []string
			for _, v := range d.Victims {
				vs = append(vs, v.Namespace+"/"+v.Name)
			}
			for _, l := range wrap("victims: "+strings.Join(vs, ", "), m.w-4) {
				out = append(out, "    "+l)
			}
		}
	}
	d := info.Decisions[len(info.Decisions)-1]
	if d.Message != "" {
		for _, l := range wrap(d.Message, m.w-4) {
			out = append(out, "    "+s.warn.Render(l))
		}
	}
	// Per-node table: scored nodes by total (winner first), then rejected.
	type row struct {
		node, verdict string
		total         int64
		scored        int // index into Scored, -1 if not scored
	}
	var rows []row
	for i, n := range d.Scored {
		rows = append(rows, row{node: n, verdict: "fits", total: d.Totals[i], scored: i})
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if (rows[i].node == d.Winner) != (rows[j].node == d.Winner) {
			return rows[i].node == d.Winner
		}
		if rows[i].total != rows[j].total {
			return rows[i].total > rows[j].total
		}
		return rows[i].node < rows[j].node
	})
	if len(d.Scored) == 0 && d.Winner != "" {
		rows = append(rows, row{node: d.Winner, verdict: "fits (the only feasible node: not scored)", scored: -1})
	}
	rej := append([]rowReject(nil), rejectRows(d)...)
	for _, r := range rej {
		rows = append(rows, row{node: r.node, verdict: r.verdict, scored: -1})
	}
	if len(rows) == 0 {
		return out
	}
	nw := m.nodeNameWidth() + 2
	plugins := d.ScorePlugins
	colW := 5
	vw := 30
	room := (m.w - 4 - nw - 1 - vw - 1 - 6) / colW
	if room < len(plugins) {
		plugins = plugins[:max(room, 0)]
	}
	hdr := "  " + pad("NODE", nw) + " " + pad("FILTER", vw) + " " + padLeft("SCORE", 6)
	for _, p := range plugins {
		hdr += padLeft(abbrev(p), colW)
	}
	out = append(out, s.bold.Render(hdr))
	shown := 0
	for _, r := range rows {
		if shown == maxDecisionRows {
			out = append(out, s.dim.Render(fmt.Sprintf("  … %d more nodes", len(rows)-shown)))
			break
		}
		shown++
		name := r.node
		if r.node == d.Winner {
			name += " ★"
		}
		verdict := r.verdict
		if r.scored < 0 && verdict != "" && !strings.HasPrefix(verdict, "fits") {
			verdict = s.bad.Render(verdict)
		} else {
			verdict = s.ok.Render(verdict)
		}
		line := "  " + pad(name, nw) + " " + pad(verdict, vw)
		if r.scored < 0 && !strings.HasPrefix(r.verdict, "fits") {
			line = "  " + pad(name, nw) + " " + verdict // rejected: the reason gets the room
		}
		if r.scored >= 0 {
			line += " " + padLeft(fmt.Sprint(r.total), 6)
			for pi := range plugins {
				v := int64(0)
				if pi < len(d.PluginScores) && r.scored < len(d.PluginScores[pi]) {
					v = d.PluginScores[pi][r.scored]
				}
				line += padLeft(fmt.Sprint(v), colW)
			}
		} else if strings.HasPrefix(r.verdict, "fits") {
			line = "  " + pad(name, nw) + " " + r.verdict
		}
		out = append(out, line)
	}
	if len(plugins) > 0 {
		var legend []string
		for _, p := range plugins {
			legend = append(legend, abbrev(p)+"="+p)
		}
		for _, l := range wrap("scores (weighted): "+strings.Join(legend, " "), m.w-4) {
			out = append(out, "  "+s.dim.Render(l))
		}
	}
	if len(plugins) < len(d.ScorePlugins) {
		out = append(out, s.dim.Render(fmt.Sprintf("  (%d more score plugins: widen the terminal)", len(d.ScorePlugins)-len(plugins))))
	}
	return out
}

type rowReject struct{ node, verdict string }

func rejectRows(d feed.Decision) []rowReject {
	var out []rowReject
	for _, ns := range d.Rejected {
		v := ns.Plugin
		if ns.Status != nil {
			v += ": " + strings.Join(ns.Status.Reasons(), "; ")
		}
		out = append(out, rowReject{node: ns.Node, verdict: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].node < out[j].node })
	return out
}

func (m *Model) decisionSummary(d feed.Decision) string {
	res := "→ " + d.Winner
	if d.Winner == "" {
		res = m.sty.warn.Render("→ unschedulable")
	} else {
		res = m.sty.ok.Render(res)
	}
	if d.NominatedNode != "" {
		res += fmt.Sprintf(", nominated %s (preempts %s)", d.NominatedNode, plural(len(d.Victims), "pod"))
	}
	return fmt.Sprintf("attempt %d at %s (cycle %d): %d nodes, %d evaluated, %d feasible %s",
		d.Attempts, m.at(d.At), d.Cycle, d.NumAllNodes, d.Evaluated, d.Feasible, res)
}

// recoveryLines is the recovery timeline of every node failure.
func (m *Model) recoveryLines() []string {
	s := m.sty
	st := m.St
	if len(st.Recoveries) == 0 {
		return []string{s.dim.Render("No node failure yet. A crash, partition or drain starts a timeline here:"),
			s.dim.Render("failure → NotReady → tainted → evicted → rescheduled → pods Ready → node Ready.")}
	}
	var out []string
	for i := len(st.Recoveries) - 1; i >= 0; i-- {
		r := st.Recoveries[i]
		head := fmt.Sprintf("%s %s at %s · %d pods lost", s.bold.Render(r.Node), r.Cause, m.at(r.Start), r.Lost)
		if d, ok := r.RecoveredIn(); ok {
			head += " · " + s.ok.Render("recovered in "+fmtOffset(d))
		} else if r.Closed {
			head += " · " + s.dim.Render("closed")
		} else {
			head += " · " + s.warn.Render("recovering…")
		}
		out = append(out, head)
		prev := r.Start
		for _, step := range r.Steps {
			delta := ""
			if step.Name != StepFailure {
				delta = fmtDelta(step.At.Sub(prev))
			}
			note := step.Note
			switch step.Name {
			case StepEvicted:
				note = fmt.Sprintf("%d of %d pods evicted", r.Evicted, r.Lost)
			}
			out = append(out, fmt.Sprintf("  %s  %s %s  %s", pad(m.at(step.At), 9), pad(step.Name, 12), padLeft(delta, 10), note))
			prev = step.At
		}
		var missing []string
		for _, name := range expectedSteps(r) {
			if !r.Has(name) {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 && !r.Closed {
			out = append(out, s.dim.Render("  waiting: "+strings.Join(missing, " → ")))
		}
		out = append(out, "")
	}
	return out
}

func expectedSteps(r *Recovery) []string {
	if r.drain {
		return []string{StepCordoned, StepEvicted, StepRescheduled, StepPodsReady, StepUncordoned}
	}
	steps := []string{StepNotReady, StepTainted}
	if r.Lost > 0 {
		steps = append(steps, StepEvicted, StepRescheduled, StepPodsReady)
	}
	return append(steps, StepNodeBack)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
