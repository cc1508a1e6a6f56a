package replicaset

import (
	"time"

	"github.com/drydock-sim/drydock/core/clock"
)

// stepClock is a clock whose time the test sets; timers never fire.
type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time                              { return c.now }
func (c *stepClock) AfterFunc(time.Duration, func()) clock.Timer { return nopTimer{} }

type nopTimer struct{}

func (nopTimer) Stop() bool { return false }
