package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// DistKind names a probability distribution of durations.
type DistKind string

// The distributions.
const (
	DistConstant    DistKind = "constant"    // Value
	DistUniform     DistKind = "uniform"     // Min..Max
	DistExponential DistKind = "exponential" // Mean, clamped to [Min, Max]
	DistLognormal   DistKind = "lognormal"   // Median·e^(Sigma·N(0,1)), clamped to [Min, Max]
)

// Distribution is a distribution of durations, e.g. of image pull times.
type Distribution struct {
	Kind   DistKind
	Value  time.Duration // constant
	Min    time.Duration // uniform lower bound; exponential/lognormal floor
	Max    time.Duration // uniform upper bound; exponential/lognormal cap (0: none)
	Mean   time.Duration // exponential
	Median time.Duration // lognormal
	Sigma  float64       // lognormal: standard deviation of the log
}

// Constant returns the distribution that is always d.
func Constant(d time.Duration) Distribution {
	return Distribution{Kind: DistConstant, Value: d}
}

// Sample draws one duration. Constant draws nothing from r and the others
// draw once, so give each knob its own stream (core/rng.Stream): then changing
// one knob's distribution never shifts another knob's draws.
func (d Distribution) Sample(r *rand.Rand) time.Duration {
	var v float64
	switch d.Kind {
	case DistConstant, "":
		return d.Value
	case DistUniform:
		if d.Max <= d.Min {
			return d.Min
		}
		return d.Min + time.Duration(r.Int64N(int64(d.Max-d.Min)+1))
	case DistExponential:
		v = float64(d.Mean) * r.ExpFloat64()
	case DistLognormal:
		v = float64(d.Median) * math.Exp(d.Sigma*r.NormFloat64())
	default:
		panic(fmt.Sprintf("scenario: unknown distribution %q", d.Kind))
	}
	// Clamp in float space first: a long tail can exceed int64 nanoseconds.
	if d.Max > 0 && v > float64(d.Max) {
		return d.Max
	}
	if v > math.MaxInt64/2 {
		v = math.MaxInt64 / 2
	}
	out := time.Duration(v)
	if out < d.Min {
		out = d.Min
	}
	return out
}

// String renders the distribution in the scenario file's words.
func (d Distribution) String() string {
	var s string
	switch d.Kind {
	case DistConstant, "":
		return FormatDuration(d.Value)
	case DistUniform:
		return fmt.Sprintf("uniform(%s..%s)", FormatDuration(d.Min), FormatDuration(d.Max))
	case DistExponential:
		s = fmt.Sprintf("exponential(mean %s", FormatDuration(d.Mean))
	case DistLognormal:
		s = fmt.Sprintf("lognormal(median %s, sigma %g", FormatDuration(d.Median), d.Sigma)
	default:
		return string(d.Kind)
	}
	if d.Min > 0 {
		s += ", min " + FormatDuration(d.Min)
	}
	if d.Max > 0 {
		s += ", max " + FormatDuration(d.Max)
	}
	return s + ")"
}
