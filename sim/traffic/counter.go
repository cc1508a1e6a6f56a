package traffic

import (
	"errors"
	"fmt"
	"time"

	"github.com/drydock-sim/drydock/core/proxy"
)

// Window counts the outcomes of the requests sent in [Start, Start+width).
type Window struct {
	Start       time.Time
	OK          int
	Rejected    int // proxy.ErrRejected: no endpoints
	Dropped     int // proxy.ErrDropped: no local endpoints under policy Local
	NoRule      int // proxy.ErrNoRule: the node has no rule for the Service
	Unreachable int // ErrUnreachable: forwarded to a pod that does not answer
	Other       int // node down, unknown node
}

// Failed is the number of requests that got no answer.
func (w Window) Failed() int { return w.Rejected + w.Dropped + w.NoRule + w.Unreachable + w.Other }

// Sent is the number of requests.
func (w Window) Sent() int { return w.OK + w.Failed() }

func (w *Window) add(r Result) {
	switch {
	case r.Err == nil:
		w.OK++
	case errors.Is(r.Err, proxy.ErrRejected):
		w.Rejected++
	case errors.Is(r.Err, proxy.ErrDropped):
		w.Dropped++
	case errors.Is(r.Err, proxy.ErrNoRule):
		w.NoRule++
	case errors.Is(r.Err, ErrUnreachable):
		w.Unreachable++
	default:
		w.Other++
	}
}

// Counter is a Sink that counts outcomes in fixed windows (one second by
// default) from Origin, so a scenario can check that a Service answered
// throughout a period.
type Counter struct {
	origin  time.Time
	width   time.Duration
	windows []Window
	total   Window
}

// NewCounter counts in windows of width (default 1s) starting at origin.
func NewCounter(origin time.Time, width time.Duration) *Counter {
	if width <= 0 {
		width = time.Second
	}
	return &Counter{origin: origin, width: width, total: Window{Start: origin}}
}

// Record counts r. Results before origin are counted in the total only.
func (c *Counter) Record(r Result) {
	c.total.add(r)
	if r.At.Before(c.origin) {
		return
	}
	i := int(r.At.Sub(c.origin) / c.width)
	for len(c.windows) <= i {
		c.windows = append(c.windows, Window{Start: c.origin.Add(time.Duration(len(c.windows)) * c.width)})
	}
	c.windows[i].add(r)
}

// Windows are the windows from origin to the last recorded result, with
// empty windows where nothing was sent. The slice is shared: do not modify.
func (c *Counter) Windows() []Window { return c.windows }

// Total counts every result; its Start is the origin.
func (c *Counter) Total() Window { return c.total }

// Between sums the windows starting in [from, to).
func (c *Counter) Between(from, to time.Time) Window {
	sum := Window{Start: from}
	for _, w := range c.windows {
		if w.Start.Before(from) || !w.Start.Before(to) {
			continue
		}
		sum.OK += w.OK
		sum.Rejected += w.Rejected
		sum.Dropped += w.Dropped
		sum.NoRule += w.NoRule
		sum.Unreachable += w.Unreachable
		sum.Other += w.Other
	}
	return sum
}

// AnsweredThroughout checks that every window starting in [from, to) had at
// least one request and no failures; the error names the first window that
// did not.
func (c *Counter) AnsweredThroughout(from, to time.Time) error {
	for t := from; t.Before(to); t = t.Add(c.width) {
		if t.Before(c.origin) {
			return fmt.Errorf("traffic: %v is before the counter's origin %v", t, c.origin)
		}
		i := int(t.Sub(c.origin) / c.width)
		var w Window
		if i < len(c.windows) {
			w = c.windows[i]
		}
		at := t.Sub(c.origin)
		switch {
		case w.Sent() == 0:
			return fmt.Errorf("traffic: no requests in the window at +%v", at)
		case w.Failed() > 0:
			return fmt.Errorf("traffic: %d of %d requests failed in the window at +%v (rejected %d, dropped %d, no rule %d, unreachable %d, other %d)",
				w.Failed(), w.Sent(), at, w.Rejected, w.Dropped, w.NoRule, w.Unreachable, w.Other)
		}
	}
	return nil
}
