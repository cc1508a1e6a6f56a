package sim

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/feed"
	"github.com/drydock-sim/drydock/sim/scenario"
)

// FeedOptions start a simulated feed.
type FeedOptions struct {
	Seed    uint64
	HasSeed bool
	// Speed is simulated seconds per wall second (default 1).
	Speed float64
	// Paused starts the feed paused.
	Paused bool
	// Trace, if set, receives the trace of the first run (not of restarts).
	Trace io.Writer
}

// Feed is a feed.Source over a World. It owns no clock of its own: each
// Frame advances simulated time by the wall time its caller says passed,
// times the speed, so the simulation stays deterministic and the pacing
// lives in the caller.
type Feed struct {
	sc     *scenario.Scenario
	seed   uint64
	speed  float64
	paused bool

	w       *World
	rec     feed.Recorder
	cancels []func()
	actions []*scenario.Action // timeline sorted by time
	nextAct int                // first action not yet marked
	err     string
	trace   io.Writer
}

var _ feed.Source = (*Feed)(nil)

// NewFeed builds the world for sc and starts watching it.
func NewFeed(sc *scenario.Scenario, opts FeedOptions) (*Feed, error) {
	f := &Feed{sc: sc, seed: sc.Seed, speed: 1, paused: opts.Paused, trace: opts.Trace}
	if opts.HasSeed {
		f.seed = opts.Seed
	}
	if opts.Speed != 0 {
		f.speed = feed.ClampSpeed(opts.Speed)
	}
	for i := range sc.Timeline {
		f.actions = append(f.actions, &sc.Timeline[i])
	}
	sort.SliceStable(f.actions, func(i, j int) bool { return f.actions[i].At < f.actions[j].At })
	f.rec.Now = func() time.Time {
		if f.w == nil {
			return Epoch
		}
		return Epoch.Add(f.w.Now())
	}
	if err := f.start(f.seed); err != nil {
		return nil, err
	}
	return f, nil
}

// start (re)builds the world with seed; on error the current world stays.
func (f *Feed) start(seed uint64) error {
	w, err := New(f.sc, Options{Seed: seed, HasSeed: true, DecisionSink: f.rec.Decision, Trace: f.trace})
	if err != nil {
		return err
	}
	f.trace = nil
	f.stopWatches()
	if f.w != nil {
		f.rec.Reset()
	}
	f.w, f.seed, f.nextAct = w, seed, 0
	for _, k := range feed.Kinds {
		k := k
		cancel, err := w.Client().Watch(bg, k.Resource(), "", listAll, func(ev api.WatchEvent) { f.rec.Change(k, ev) })
		if err != nil {
			return err
		}
		f.cancels = append(f.cancels, cancel)
	}
	f.markActions()
	return nil
}

func (f *Feed) stopWatches() {
	for _, c := range f.cancels {
		c()
	}
	f.cancels = nil
}

// World is the world being shown (it changes on restart).
func (f *Feed) World() *World { return f.w }

// Close stops the watches.
func (f *Feed) Close() { f.stopWatches() }

// Frame applies cmds, advances simulated time by elapsed×speed unless
// paused or done, and returns what happened.
func (f *Feed) Frame(elapsed time.Duration, cmds []feed.Command) feed.Batch {
	for _, c := range cmds {
		f.apply(c)
	}
	if !f.paused && elapsed > 0 && !f.done() {
		adv := time.Duration(float64(elapsed) * f.speed)
		f.runTo(f.w.Now() + adv)
	}
	return f.rec.Take(f.status())
}

func (f *Feed) apply(c feed.Command) {
	switch c.Op {
	case feed.OpPlay:
		f.paused = false
	case feed.OpPause:
		f.paused = true
	case feed.OpToggle:
		f.paused = !f.paused
	case feed.OpStep:
		f.paused = true
		if f.w.Step() {
			f.markActions()
		}
	case feed.OpSpeed:
		f.speed = feed.ClampSpeed(c.Speed)
	case feed.OpFaster:
		f.speed = feed.Faster(f.speed)
	case feed.OpSlower:
		f.speed = feed.Slower(f.speed)
	case feed.OpJump:
		at := c.At
		if at < 0 {
			at = 0
		}
		if at > f.sc.Duration {
			at = f.sc.Duration
		}
		if at < f.w.Now() {
			f.restart(f.seed)
		}
		f.runTo(at)
	case feed.OpRestart:
		f.restart(c.Seed)
	}
}

func (f *Feed) restart(seed uint64) {
	if err := f.start(seed); err != nil {
		f.err = fmt.Sprintf("restart with seed %d: %v", seed, err)
	}
}

// runTo runs the world to offset d, stopping at each timeline action so
// that its mark carries its own time.
func (f *Feed) runTo(d time.Duration) {
	for f.nextAct < len(f.actions) && f.actions[f.nextAct].At <= d {
		prev := f.nextAct
		f.w.RunUntil(f.actions[f.nextAct].At)
		f.markActions()
		if f.nextAct == prev {
			break // the run ends before the action
		}
	}
	f.w.RunUntil(d)
	f.markActions()
}

// markActions records a mark for every timeline action whose time has come.
func (f *Feed) markActions() {
	now := f.w.Now()
	for f.nextAct < len(f.actions) && f.actions[f.nextAct].At <= now {
		a := f.actions[f.nextAct]
		m := feed.Mark{At: Epoch.Add(a.At), Action: string(a.Kind), Node: a.Node}
		if a.Target.Name != "" {
			m.Object = a.Target.String()
		}
		f.rec.Mark(m)
		f.nextAct++
	}
}

func (f *Feed) done() bool { return f.w.Now() >= f.sc.Duration }

func (f *Feed) status() feed.Status {
	return feed.Status{
		Source: "sim", Name: f.sc.Name, Start: Epoch, Now: Epoch.Add(f.w.Now()), End: Epoch.Add(f.sc.Duration),
		Seed: f.seed, Speed: f.speed, Paused: f.paused, Done: f.done(), Events: int64(f.w.Events()),
		Controllable: true, Err: f.err,
	}
}
