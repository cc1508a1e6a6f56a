package memruntime

import (
	"fmt"
	"sort"
	"time"

	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/cri"
)

type container struct {
	st  cri.ContainerStatus
	seq uint64
	beh Behavior
	// exitTimer fires the process's own exit, termTimer its exit after
	// SIGTERM, killTimer the SIGKILL at the end of a stop timeout.
	exitTimer, termTimer, killTimer clock.Timer
	killAt                          time.Time
	waiters                         []func(error) // StopContainer calls waiting for the exit
}

func (c *container) stopTimers() {
	for _, t := range []clock.Timer{c.exitTimer, c.termTimer, c.killTimer} {
		if t != nil {
			t.Stop()
		}
	}
	c.exitTimer, c.termTimer, c.killTimer = nil, nil, nil
}

func sortContainers(list []*container) {
	sort.Slice(list, func(i, j int) bool { return list[i].seq < list[j].seq })
}

// CreateContainer implements cri.Runtime.
func (r *Runtime) CreateContainer(sandboxID string, cfg *cri.ContainerConfig, sb *cri.SandboxConfig, done func(string, error)) {
	r.after(OpCreate, func() {
		s, ok := r.sandboxes[sandboxID]
		if !ok {
			done("", fmt.Errorf("sandbox %s: %w", sandboxID, cri.ErrNotFound))
			return
		}
		if s.st.State != cri.SandboxReady {
			done("", fmt.Errorf("sandbox %s: %w", sandboxID, cri.ErrSandboxNotReady))
			return
		}
		var beh Behavior
		if r.cfg.Behavior != nil {
			b, err := r.cfg.Behavior(sb, cfg)
			if err != nil {
				done("", err)
				return
			}
			beh = b
		}
		r.seq++
		c := &container{seq: r.seq, beh: beh, st: cri.ContainerStatus{
			ID: r.newID(), SandboxID: sandboxID, Name: cfg.Name, Attempt: cfg.Attempt, State: cri.ContainerCreated,
			Image: cfg.Image, ImageRef: cfg.ImageRef, CreatedAt: r.clock.Now(), Labels: cfg.Labels, Annotations: cfg.Annotations,
		}}
		r.containers[c.st.ID] = c
		done(c.st.ID, nil)
	})
}

// StartContainer implements cri.Runtime.
func (r *Runtime) StartContainer(id string, done func(error)) {
	r.after(OpStart, func() {
		c, ok := r.containers[id]
		switch {
		case !ok:
			done(fmt.Errorf("container %s: %w", id, cri.ErrNotFound))
			return
		case c.st.State != cri.ContainerCreated:
			done(fmt.Errorf("container %s is %s, not created: %w", id, c.st.State, cri.ErrInvalidState))
			return
		}
		if s := r.sandboxes[c.st.SandboxID]; s == nil || s.st.State != cri.SandboxReady {
			done(fmt.Errorf("sandbox %s: %w", c.st.SandboxID, cri.ErrSandboxNotReady))
			return
		}
		now := r.clock.Now()
		c.st.State = cri.ContainerRunning
		c.st.StartedAt = now
		if c.beh.Exits {
			c.exitTimer = r.afterD(c.beh.ExitAfter, func() {
				c.exitTimer = nil
				reason := c.beh.ExitReason
				if reason == "" {
					reason = cri.ExitReason(c.beh.ExitCode)
				}
				r.exit(c, c.beh.ExitCode, reason)
			})
		}
		r.emit(cri.ContainerEvent{Type: cri.ContainerStartedEvent, ContainerID: id, SandboxID: c.st.SandboxID})
		done(nil)
	})
}

// exit ends a running (or created) container: the exit event goes out
// first, then the stops waiting for it complete.
func (r *Runtime) exit(c *container, code int32, reason string) {
	if c.st.State == cri.ContainerExited {
		return
	}
	wasRunning := c.st.State == cri.ContainerRunning
	c.stopTimers()
	c.st.State = cri.ContainerExited
	c.st.ExitCode = code
	c.st.Reason = reason
	c.st.FinishedAt = r.clock.Now()
	if wasRunning {
		r.emit(cri.ContainerEvent{Type: cri.ContainerExitedEvent, ContainerID: c.st.ID, SandboxID: c.st.SandboxID,
			ExitCode: code, Reason: reason, FinishedAt: c.st.FinishedAt})
	}
	waiters := c.waiters
	c.waiters = nil
	for _, w := range waiters {
		w(nil)
	}
}

// StopContainer implements cri.Runtime: SIGTERM, then SIGKILL after timeout.
func (r *Runtime) StopContainer(id string, timeout time.Duration, done func(error)) {
	// The signal is delivered on the loop, like every other call's effect.
	r.schedule(0, func() {
		c, ok := r.containers[id]
		if !ok {
			done(fmt.Errorf("container %s: %w", id, cri.ErrNotFound))
			return
		}
		switch c.st.State {
		case cri.ContainerExited:
			done(nil)
			return
		case cri.ContainerCreated:
			// Never started: nothing to signal.
			r.exit(c, 0, cri.ReasonCompleted)
			done(nil)
			return
		}
		if timeout < 0 {
			timeout = 0
		}
		now := r.clock.Now()
		c.waiters = append(c.waiters, done)
		if c.termTimer == nil && c.killTimer == nil {
			c.termTimer = r.afterD(c.beh.StopAfter, func() {
				c.termTimer = nil
				r.exit(c, c.beh.StopExitCode, cri.ExitReason(c.beh.StopExitCode))
			})
		}
		if killAt := now.Add(timeout); c.killTimer == nil || killAt.Before(c.killAt) {
			if c.killTimer != nil {
				c.killTimer.Stop()
			}
			c.killAt = killAt
			c.killTimer = r.afterD(timeout, func() {
				c.killTimer = nil
				r.exit(c, 137, cri.ReasonError)
			})
		}
	})
}

// RemoveContainer implements cri.Runtime.
func (r *Runtime) RemoveContainer(id string, done func(error)) {
	r.after(OpRemove, func() {
		c, ok := r.containers[id]
		if !ok {
			done(nil)
			return
		}
		r.exit(c, 137, cri.ReasonError)
		delete(r.containers, id)
		done(nil)
	})
}

// ContainerStatus implements cri.Runtime.
func (r *Runtime) ContainerStatus(id string, done func(*cri.ContainerStatus, error)) {
	r.after(OpStatus, func() {
		c, ok := r.containers[id]
		if !ok {
			done(nil, fmt.Errorf("container %s: %w", id, cri.ErrNotFound))
			return
		}
		st := c.st
		done(&st, nil)
	})
}
