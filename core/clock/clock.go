// Package clock is the time port of the core. Components never read the wall
// clock: the simulator supplies virtual time from its event queue and real mode
// supplies the wall clock. Timers fire by calling back into the component on the
// driver's single control loop, so core code never needs locks for timer state.
package clock

import "time"

// Clock tells the time and runs a function once a duration has passed.
type Clock interface {
	Now() time.Time
	// AfterFunc arranges for f to run on the driver's control loop after d.
	// A non-positive d runs f as soon as the loop is free, never synchronously.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop prevents the timer from firing. It reports whether the call stopped
	// it, false if it had already fired or been stopped.
	Stop() bool
}

// Scheduler is implemented by clocks that can run a function after d
// without handing out a Timer, which lets them reuse their records; callers
// that never stop the call use it when the clock offers it (see Schedule).
type Scheduler interface {
	Schedule(d time.Duration, f func())
}

// Schedule runs f after d on c, as AfterFunc does, through c's Scheduler
// method if it has one.
func Schedule(c Clock, d time.Duration, f func()) {
	if s, ok := c.(Scheduler); ok {
		s.Schedule(d, f)
		return
	}
	c.AfterFunc(d, f)
}

// Rearmer is implemented by clocks that can arm one of their Timers again
// once it has fired or been stopped, so that a periodic loop reuses one
// record instead of making a Timer per tick.
type Rearmer interface {
	// Rearm runs f after d, as AfterFunc does, reusing t if t is a Timer
	// of this clock that has fired or been stopped (otherwise it makes a
	// new one), and returns the Timer. The caller must hold no other
	// handle to t: stopping one would stop the new arming.
	Rearm(t Timer, d time.Duration, f func()) Timer
}

// Rearm is c.AfterFunc(d, f), reusing t through c's Rearmer method if it
// has one (see Rearmer). t may be nil.
func Rearm(c Clock, t Timer, d time.Duration, f func()) Timer {
	if r, ok := c.(Rearmer); ok && t != nil {
		return r.Rearm(t, d, f)
	}
	return c.AfterFunc(d, f)
}
