package tui

import (
	"sort"
	"strings"
	"testing"
)

func TestNaturalOrder(t *testing.T) {
	tests := []struct{ in, want string }{
		{"node-10 node-2 node-1", "node-1 node-2 node-10"},
		{"a10b2 a10b10 a9", "a9 a10b2 a10b10"},
		{"n01 n1 n001", "n1 n01 n001"},
		{"b a ab", "a ab b"},
		{"x-100 x-99 y-1", "x-99 x-100 y-1"},
	}
	for _, tc := range tests {
		xs := strings.Fields(tc.in)
		sort.Slice(xs, func(i, j int) bool { return naturalLess(xs[i], xs[j]) })
		if got := strings.Join(xs, " "); got != tc.want {
			t.Errorf("%q sorted = %q, want %q", tc.in, got, tc.want)
		}
		var ins []string
		for _, x := range strings.Fields(tc.in) {
			ins = insertSorted(ins, x)
		}
		if got := strings.Join(ins, " "); got != tc.want {
			t.Errorf("%q inserted = %q, want %q", tc.in, got, tc.want)
		}
		ins = removeSorted(ins, xs[1])
		if len(ins) != len(xs)-1 {
			t.Errorf("remove %q from %v", xs[1], ins)
		}
	}
}
