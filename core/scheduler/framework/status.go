package framework

import (
	"errors"
	"strings"
)

// Code says how a plugin call ended. Kubernetes keeps "does not fit"
// (Unschedulable, UnschedulableAndUnresolvable) apart from "broke" (Error),
// and so do we: only the former are scheduling outcomes, the latter aborts
// the cycle.
type Code int

const (
	// Success means the plugin accepted. A nil *Status is Success too, and
	// plugins return nil on the hot path so that accepting allocates nothing.
	Success Code = iota
	// Error is an internal failure, not a property of the pod or node.
	Error
	// Unschedulable means the node does not fit now, but preempting pods on
	// it might help.
	Unschedulable
	// UnschedulableAndUnresolvable means the node does not fit and
	// preemption cannot change that.
	UnschedulableAndUnresolvable
	// Skip from PreFilter or PreScore means the plugin has nothing to say
	// about this pod; the framework skips its Filter or Score.
	Skip
)

var codeNames = [...]string{"Success", "Error", "Unschedulable", "UnschedulableAndUnresolvable", "Skip"}

func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Unknown"
}

// Status is the result of a plugin call. Statuses are immutable once built,
// so plugins may return shared package-level values for common rejections.
type Status struct {
	code    Code
	reasons []string
	err     error
}

// NewStatus builds a status with the given reasons.
func NewStatus(code Code, reasons ...string) *Status {
	return &Status{code: code, reasons: reasons}
}

// AsStatus wraps an internal error; nil gives nil (Success).
func AsStatus(err error) *Status {
	if err == nil {
		return nil
	}
	return &Status{code: Error, reasons: []string{err.Error()}, err: err}
}

// Code is the status code; nil is Success.
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// IsSuccess reports a nil or Success status.
func (s *Status) IsSuccess() bool { return s.Code() == Success }

// IsSkip reports a Skip status.
func (s *Status) IsSkip() bool { return s.Code() == Skip }

// IsRejected reports a "does not fit" status of either kind.
func (s *Status) IsRejected() bool {
	c := s.Code()
	return c == Unschedulable || c == UnschedulableAndUnresolvable
}

// Reasons are the human-readable reasons, worded as Kubernetes words them.
func (s *Status) Reasons() []string {
	if s == nil {
		return nil
	}
	return s.reasons
}

// Message joins the reasons.
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.reasons, ", ")
}

// AsError turns a non-success status into an error.
func (s *Status) AsError() error {
	if s.IsSuccess() || s.IsSkip() {
		return nil
	}
	if s.err != nil {
		return s.err
	}
	return errors.New(s.Message())
}

func (s *Status) String() string {
	if s == nil {
		return "Success"
	}
	return s.code.String() + ": " + s.Message()
}
