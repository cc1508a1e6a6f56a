package expect

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/drydock-sim/drydock/sim/scenario"
	"github.com/drydock-sim/drydock/sim/traffic"
)

// TrafficView is the part of a View that serviceAnswered reads. It is
// optional: a View of a run without traffic need not implement it (the
// check then fails, saying so).
type TrafficView interface {
	// Traffic counts the outcomes of the requests the named traffic entry
	// sent at simulated times in [from, to); ok is false for an unknown name.
	Traffic(name string, from, to time.Time) (w traffic.Window, ok bool)
}

// serviceAnswered is a check over a span of time, not a state: unlike the
// other checks it is judged on a window of requests rather than at an
// instant. Which window depends on the timing (see sampleWindow).
func (c *Checker) serviceAnswered(ck *scenario.Check) func(s *sample, from, to time.Duration) (bool, string) {
	return func(s *sample, from, to time.Duration) (bool, string) {
		span := fmt.Sprintf("[%s, %s)", fmtTime(from), fmtTime(to))
		tv, ok := s.v.(TrafficView)
		if !ok {
			return false, "this run has no traffic"
		}
		w, ok := tv.Traffic(ck.Traffic, c.start.Add(from), c.start.Add(to))
		switch {
		case !ok:
			return false, fmt.Sprintf("this run has no traffic %q", ck.Traffic)
		case w.Sent() == 0:
			return false, "no requests sent in " + span
		}
		rate := float64(w.OK) / float64(w.Sent())
		pass := (!ck.HasMinSuccessRate || rate >= ck.MinSuccessRate) &&
			(!ck.HasMaxFailures || w.Failed() <= ck.MaxFailures)
		detail := fmt.Sprintf("%d of %d requests answered in %s (%s)", w.OK, w.Sent(), span, percent(w.OK, w.Sent()))
		if w.Failed() > 0 {
			detail += "; failed: " + DescribeFailures(w)
		}
		return pass, detail + "; want " + budget(ck)
	}
}

// recentSpan is how far back by and at look: one check interval, or longer
// when the traffic is too slow to send a request in that time.
func (c *Checker) recentSpan(ck *scenario.Check) time.Duration {
	span := c.interval
	if t := c.sc.TrafficByName(ck.Traffic); t != nil && t.Rate > 0 {
		span = max(span, time.Duration(math.Ceil(float64(time.Second)/t.Rate)))
	}
	return span
}

// sampleWindow takes a sample for a window check:
//   - by: at each sample t in [From, By], the requests of the recent span
//     before t (not before From) are judged, until they pass;
//   - at: the requests of the recent span before At;
//   - always: all requests in [From, Until), judged once, at Until.
func (c *Checker) sampleWindow(s *state, smp *sample, now time.Duration) {
	e := s.exp
	span := c.recentSpan(&e.Check)
	if e.HasBy && !s.byPassed && now >= e.From && now <= e.By {
		ok, detail := s.window(smp, max(e.From, now-span), now)
		s.bySampled, s.byLast = true, detail
		if ok {
			s.byPassed, s.byAt = true, now
		}
	}
	if e.HasAt && !s.atDone && now >= e.At {
		ok, detail := s.window(smp, max(0, now-span), now)
		s.atDone, s.atPassed, s.atDetail = true, ok, detail
		if now > e.At {
			s.atDetail += fmt.Sprintf(" (sampled late, at %s)", fmtTime(now))
		}
	}
	if e.Always && !s.alwaysDone && now >= e.Until {
		s.judgeAlways(smp, e.Until, "")
	}
}

// finishWindows decides the always part of window checks whose Until the
// run did not reach, over the requests sent until now.
func (c *Checker) finishWindows(v View, now time.Duration) {
	smp := &sample{v: v, c: c, now: now}
	for _, s := range c.states {
		if s.window != nil && s.exp.Always && !s.alwaysDone {
			s.judgeAlways(smp, min(now, s.exp.Until), fmt.Sprintf(" (run ended at %s)", fmtTime(now)))
		}
	}
}

func (s *state) judgeAlways(smp *sample, to time.Duration, note string) {
	ok, detail := s.window(smp, s.exp.From, max(s.exp.From, to))
	s.alwaysDone, s.alwaysDetail, s.samples = true, detail+note, 1
	if !ok {
		s.violations, s.firstBad, s.firstBadIs = 1, smp.now, detail
	}
}

// percent renders ok/sent rounded down to 0.01%, so that a rate just short
// of a bound never prints as the bound ("99.99%", not "100%").
func percent(ok, sent int) string {
	bp := int64(ok) * 10000 / int64(sent)
	s := strconv.FormatInt(bp/100, 10)
	if frac := bp % 100; frac != 0 {
		s += "." + strings.TrimSuffix(fmt.Sprintf("%02d", frac), "0")
	}
	return s + "%"
}

// DescribeFailures lists w's failed requests by cause, e.g.
// "12 unreachable, 3 rejected (no endpoints)".
func DescribeFailures(w traffic.Window) string {
	var parts []string
	for _, f := range []struct {
		n    int
		what string
	}{
		{w.Unreachable, "unreachable"},
		{w.Rejected, "rejected (no endpoints)"},
		{w.Dropped, "dropped (no local endpoints)"},
		{w.NoRule, "no rule"},
		{w.Other, "client node down"},
	} {
		if f.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", f.n, f.what))
		}
	}
	return strings.Join(parts, ", ")
}

func budget(ck *scenario.Check) string {
	var parts []string
	if ck.HasMinSuccessRate {
		parts = append(parts, "success rate >= "+strconv.FormatFloat(ck.MinSuccessRate, 'g', -1, 64))
	}
	if ck.HasMaxFailures {
		parts = append(parts, fmt.Sprintf("at most %d failures", ck.MaxFailures))
	}
	return strings.Join(parts, " and ")
}
