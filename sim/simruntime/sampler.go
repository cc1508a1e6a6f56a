package simruntime

import (
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// Sampler draws durations, e.g. of image pulls. Draw only from r, so a seed
// fixes every draw. scenario.Distribution is a Sampler too.
type Sampler interface {
	Sample(r *rand.Rand) time.Duration
}

// Constant always takes the same time and draws nothing.
type Constant time.Duration

// Sample implements Sampler.
func (c Constant) Sample(*rand.Rand) time.Duration { return time.Duration(c) }

// Uniform is uniform on [Min, Max].
type Uniform struct{ Min, Max time.Duration }

// Sample implements Sampler.
func (u Uniform) Sample(r *rand.Rand) time.Duration {
	if u.Max <= u.Min {
		return u.Min
	}
	return toDuration(distuv.Uniform{Min: float64(u.Min), Max: float64(u.Max), Src: r}.Rand(), 0, u.Max)
}

// LogNormal has the given median and log standard deviation, capped at Max
// (0: no cap). Pull and start times are long-tailed like this.
type LogNormal struct {
	Median time.Duration
	Sigma  float64
	Max    time.Duration
}

// Sample implements Sampler.
func (l LogNormal) Sample(r *rand.Rand) time.Duration {
	if l.Median <= 0 {
		return 0
	}
	d := distuv.LogNormal{Mu: math.Log(float64(l.Median)), Sigma: l.Sigma, Src: r}
	return toDuration(d.Rand(), 0, l.Max)
}

// Exponential has the given mean, capped at Max (0: no cap).
type Exponential struct {
	Mean time.Duration
	Max  time.Duration
}

// Sample implements Sampler.
func (e Exponential) Sample(r *rand.Rand) time.Duration {
	if e.Mean <= 0 {
		return 0
	}
	return toDuration(distuv.Exponential{Rate: 1 / float64(e.Mean), Src: r}.Rand(), 0, e.Max)
}

// toDuration clamps a float of nanoseconds into [min, max] (max 0: none)
// before converting, since a long tail can overflow int64.
func toDuration(v float64, min, max time.Duration) time.Duration {
	if max > 0 && v > float64(max) {
		return max
	}
	if v > math.MaxInt64/2 {
		v = math.MaxInt64 / 2
	}
	d := time.Duration(v)
	if d < min {
		d = min
	}
	return d
}
