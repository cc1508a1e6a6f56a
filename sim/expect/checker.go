package expect

import (
	"fmt"
	"strings"
	"time"

	"github.com/drydock-sim/drydock/sim/scenario"
)

// Checker evaluates a scenario's expectations over a run. It is not safe for
// concurrent use (the simulator is single-threaded).
type Checker struct {
	start    time.Time
	duration time.Duration
	interval time.Duration
	states   []*state
	next     time.Duration
	done     bool // no expectation wants another sample
	finished bool
	last     time.Duration // time of the last sample
	sampled  bool

	sc        *scenario.Scenario
	poolOf    map[string]string // node name -> pool name, filled lazily
	podReqs   map[podKey]podRequests
	seenSince map[string]time.Duration // node -> first sample it was seen not ready
}

// state is one expectation's progress.
type state struct {
	exp  *scenario.Expectation
	eval func(*sample) (bool, string)
	// window, set instead of eval for checks over a span of time
	// (serviceAnswered), judges what happened in [from, to).
	window func(s *sample, from, to time.Duration) (bool, string)

	byPassed   bool
	byAt       time.Duration
	byLast     string // detail of the last sample in the by window
	bySampled  bool
	atDone     bool
	atPassed   bool
	atDetail   string
	samples    int // always-window samples
	violations int
	firstBad   time.Duration
	firstBadIs string
	// A window check's always part is decided once, over [From, Until).
	alwaysDone   bool
	alwaysDetail string
}

// New returns a checker for sc's expectations; start is the simulated time
// at which the run (t=0 of the scenario) begins.
func New(sc *scenario.Scenario, start time.Time) *Checker {
	c := &Checker{
		start:     start,
		duration:  sc.Duration,
		interval:  sc.Settings.CheckInterval,
		sc:        sc,
		podReqs:   map[podKey]podRequests{},
		seenSince: map[string]time.Duration{},
	}
	if c.interval <= 0 {
		c.interval = time.Second
	}
	for i := range sc.Expectations {
		e := &sc.Expectations[i]
		st := &state{exp: e}
		if e.Check.Kind == scenario.CheckServiceAnswered {
			st.window = c.serviceAnswered(&e.Check)
		} else {
			st.eval = c.evaluator(&e.Check)
		}
		c.states = append(c.states, st)
	}
	c.next, c.done = c.nextDue(-1)
	return c
}

// Next returns when the checker next wants to look: the simulator must call
// Observe with the state at exactly that simulated time (after every event at
// that time, before any later one). ok is false when no more samples are
// wanted before Finish.
func (c *Checker) Next() (t time.Time, ok bool) {
	if c.done || c.finished {
		return time.Time{}, false
	}
	return c.start.Add(c.next), true
}

// Observe samples the view if a sample is due at or before v.Now(); otherwise
// it returns at once. A sample taken late (the simulator skipped past Next)
// is used for the expectations it was due for, and the detail says so.
func (c *Checker) Observe(v View) {
	if c.done || c.finished {
		return
	}
	now := v.Now().Sub(c.start)
	if now < c.next {
		return
	}
	c.sample(v, now)
	c.next, c.done = c.nextDue(now)
}

// Finish takes a last sample at v.Now() if none was taken then, and returns
// one Result per expectation, in scenario order.
func (c *Checker) Finish(v View) []Result {
	now := v.Now().Sub(c.start)
	if !c.finished && (!c.sampled || c.last < now) {
		c.sample(v, now)
	}
	if !c.finished {
		c.finishWindows(v, now)
	}
	c.finished = true
	out := make([]Result, len(c.states))
	for i, s := range c.states {
		out[i] = s.result(c.last)
	}
	return out
}

// sample evaluates every expectation that wants a sample at now.
func (c *Checker) sample(v View, now time.Duration) {
	smp := &sample{v: v, c: c, now: now}
	for _, s := range c.states {
		if s.window != nil {
			c.sampleWindow(s, smp, now)
			continue
		}
		e := s.exp
		wantBy := e.HasBy && !s.byPassed && now >= e.From && now <= e.By
		wantAt := e.HasAt && !s.atDone && now >= e.At
		wantAlways := e.Always && now >= e.From && now <= e.Until
		if !wantBy && !wantAt && !wantAlways {
			continue
		}
		ok, detail := s.eval(smp)
		if wantBy {
			s.bySampled, s.byLast = true, detail
			if ok {
				s.byPassed, s.byAt = true, now
			}
		}
		if wantAt {
			s.atDone, s.atPassed, s.atDetail = true, ok, detail
			if now > e.At {
				s.atDetail += fmt.Sprintf(" (sampled late, at %s)", fmtTime(now))
			}
		}
		if wantAlways {
			s.samples++
			if !ok {
				if s.violations == 0 {
					s.firstBad, s.firstBadIs = now, detail
				}
				s.violations++
			}
		}
	}
	c.last, c.sampled = now, true
}

// nextDue returns the first time after now at which some expectation wants a
// sample, and done=true if there is none within the scenario.
func (c *Checker) nextDue(now time.Duration) (next time.Duration, done bool) {
	tick := (now/c.interval + 1) * c.interval
	if now < 0 {
		tick = 0
	}
	best, found := time.Duration(0), false
	consider := func(t time.Duration) {
		if t > now && t <= c.duration && (!found || t < best) {
			best, found = t, true
		}
	}
	for _, s := range c.states {
		e := s.exp
		if e.HasBy && !s.byPassed {
			if now < e.From {
				consider(e.From)
			} else {
				consider(min(tick, e.By))
			}
		}
		if e.HasAt && !s.atDone {
			consider(e.At)
		}
		if e.Always && s.window != nil {
			if !s.alwaysDone {
				consider(e.Until)
			}
		} else if e.Always {
			if now < e.From {
				consider(e.From)
			} else {
				consider(min(tick, e.Until))
			}
		}
	}
	return best, !found
}

// result turns the expectation's progress into a verdict. end is the time of
// the last sample of the run.
func (s *state) result(end time.Duration) Result {
	e := s.exp
	passed := true
	var parts []string
	if e.HasBy {
		switch {
		case s.byPassed:
			parts = append(parts, "held at "+fmtTime(s.byAt))
		case !s.bySampled:
			passed = false
			parts = append(parts, fmt.Sprintf("not by %s: never sampled (run ended at %s)", fmtTime(e.By), fmtTime(end)))
		default:
			passed = false
			parts = append(parts, fmt.Sprintf("not by %s: %s", fmtTime(e.By), s.byLast))
		}
	}
	if e.HasAt {
		switch {
		case !s.atDone:
			passed = false
			parts = append(parts, fmt.Sprintf("at %s: never sampled (run ended at %s)", fmtTime(e.At), fmtTime(end)))
		case s.atPassed:
			parts = append(parts, fmt.Sprintf("at %s: %s", fmtTime(e.At), s.atDetail))
		default:
			passed = false
			parts = append(parts, fmt.Sprintf("at %s: %s", fmtTime(e.At), s.atDetail))
		}
	}
	if e.Always && s.window != nil {
		switch {
		case !s.alwaysDone:
			passed = false
			parts = append(parts, fmt.Sprintf("never sampled (run ended at %s)", fmtTime(end)))
		case s.violations > 0:
			passed = false
			parts = append(parts, s.alwaysDetail)
		default:
			parts = append(parts, s.alwaysDetail)
		}
	} else if e.Always {
		switch {
		case s.violations > 0:
			passed = false
			parts = append(parts, fmt.Sprintf("violated at %s: %s (%d of %d samples)", fmtTime(s.firstBad), s.firstBadIs, s.violations, s.samples))
		case s.samples == 0:
			passed = false
			parts = append(parts, fmt.Sprintf("never sampled (run ended at %s)", fmtTime(end)))
		default:
			parts = append(parts, fmt.Sprintf("held at all %d samples", s.samples))
		}
	}
	return Result{Name: e.Name, Passed: passed, Detail: strings.Join(parts, "; ")}
}

func fmtTime(d time.Duration) string { return scenario.FormatDuration(d) }
