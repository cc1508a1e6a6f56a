package expect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drydock-sim/drydock/sim/scenario"
)

// TestShippedScenarios builds a checker for every shipped scenario and
// finishes it on an empty cluster: every check they use has an evaluator,
// and each expectation yields exactly one result.
func TestShippedScenarios(t *testing.T) {
	dir := filepath.Join("..", "..", "scenarios")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		sc, err := scenario.Load(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		c := New(sc, t0)
		v := &fakeView{}
		for {
			next, ok := c.Next()
			if !ok {
				break
			}
			v.now = next.Sub(t0)
			c.Observe(v)
		}
		v.now = sc.Duration
		res := c.Finish(v)
		if len(res) != len(sc.Expectations) {
			t.Errorf("%s: %d results for %d expectations", e.Name(), len(res), len(sc.Expectations))
		}
	}
}
