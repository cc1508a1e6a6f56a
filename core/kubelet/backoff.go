package kubelet

import "time"

// backoff is one entry of Kubernetes' flowcontrol back-off as the kubelet
// uses it for container restarts and image pulls: the delay starts at the
// initial value, doubles on every further failure up to the maximum, and
// starts over once no failure happened for twice the maximum.
type backoff struct {
	d    time.Duration
	last time.Time // when the delay was last advanced
	set  bool
}

func (b *backoff) expired(event time.Time, max time.Duration) bool {
	return event.Sub(b.last) > 2*max
}

// inBackOffSince reports whether now is still within the delay counted from
// event (a container's exit).
func (b *backoff) inBackOffSince(event, now time.Time, max time.Duration) bool {
	if !b.set || b.expired(event, max) {
		return false
	}
	return now.Sub(event) < b.d
}

// inBackOffSinceUpdate reports whether now is within the delay counted from
// the last advance (an image pull failure).
func (b *backoff) inBackOffSinceUpdate(now time.Time, max time.Duration) bool {
	if !b.set || b.expired(now, max) {
		return false
	}
	return now.Sub(b.last) < b.d
}

// next advances the delay for a failure at event, noting now as the update.
func (b *backoff) next(event, now time.Time, initial, max time.Duration) {
	if !b.set || b.expired(event, max) {
		b.d = initial
	} else {
		b.d = min(2*b.d, max)
	}
	b.last = now
	b.set = true
}
