// Package rng derives independent, reproducible random streams from one seed.
// Every component that needs randomness gets its own named stream, so adding a
// random draw in one component never shifts the draws of another. Real mode
// seeds from crypto/rand and logs the seed; the simulator uses the scenario seed.
package rng

import (
	"hash/fnv"
	"math/rand/v2"
)

// Stream returns a generator for the named stream of seed.
func Stream(seed uint64, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}
