package memstore

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// check verifies the B-tree invariants: sorted keys, node sizes within
// bounds, children count = items+1, all leaves at one depth.
func (t *btree) check(tb testing.TB) {
	tb.Helper()
	if t.root == nil {
		return
	}
	leafDepth := -1
	var walk func(n *node, depth int, lo, hi string, root bool) int
	walk = func(n *node, depth int, lo, hi string, root bool) int {
		if !root && (len(n.items) < minItems || len(n.items) > maxItems) {
			tb.Fatalf("node at depth %d has %d items", depth, len(n.items))
		}
		for i, e := range n.items {
			if (lo != "" && e.key <= lo) || (hi != "" && e.key >= hi) || (i > 0 && n.items[i-1].key >= e.key) {
				tb.Fatalf("key %q out of order at depth %d", e.key, depth)
			}
		}
		if n.leaf() {
			if leafDepth == -1 {
				leafDepth = depth
			} else if leafDepth != depth {
				tb.Fatalf("leaves at depths %d and %d", leafDepth, depth)
			}
			return len(n.items)
		}
		if len(n.children) != len(n.items)+1 {
			tb.Fatalf("%d children for %d items", len(n.children), len(n.items))
		}
		count := len(n.items)
		for i, c := range n.children {
			clo, chi := lo, hi
			if i > 0 {
				clo = n.items[i-1].key
			}
			if i < len(n.items) {
				chi = n.items[i].key
			}
			count += walk(c, depth+1, clo, chi, false)
		}
		return count
	}
	if got := walk(t.root, 0, "", "", true); got != t.n {
		tb.Fatalf("tree holds %d items, Len says %d", got, t.n)
	}
}

func ascendKeys(t *btree, pivot, prefix string) []string {
	var out []string
	t.Ascend(pivot, func(e *entry) bool {
		if !strings.HasPrefix(e.key, prefix) {
			return false
		}
		out = append(out, e.key)
		return true
	})
	return out
}

// TestBTreeAgainstReference drives random inserts and deletes and compares
// the tree with a sorted slice after every step.
func TestBTreeAgainstReference(t *testing.T) {
	for _, tc := range []struct {
		name     string
		keySpace int
		steps    int
	}{
		{"dense", 200, 20000},   // many deletes hit present keys: merges and rotations
		{"sparse", 5000, 20000}, // grows deep before shrinking
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(tc.keySpace)))
			var tr btree
			present := map[string]bool{}
			for step := range tc.steps {
				k := fmt.Sprintf("/k/%d", r.IntN(tc.keySpace))
				// Bias towards inserts for the first half, deletes for the second.
				insert := r.IntN(100) < 70
				if step > tc.steps/2 {
					insert = r.IntN(100) < 30
				}
				if insert && !present[k] {
					tr.Insert(&entry{key: k})
					present[k] = true
				} else if !insert {
					if got := tr.Delete(k); got != present[k] {
						t.Fatalf("step %d: Delete(%q) = %v, want %v", step, k, got, present[k])
					}
					delete(present, k)
				}
				if step%97 == 0 || step == tc.steps-1 {
					tr.check(t)
					want := make([]string, 0, len(present))
					for k := range present {
						want = append(want, k)
					}
					slices.Sort(want)
					if got := ascendKeys(&tr, "", ""); !slices.Equal(got, want) {
						t.Fatalf("step %d: contents differ: %d vs %d keys", step, len(got), len(want))
					}
					p := fmt.Sprintf("/k/%d", r.IntN(10))
					var wantP []string
					for _, k := range want {
						if strings.HasPrefix(k, p) {
							wantP = append(wantP, k)
						}
					}
					if got := ascendKeys(&tr, p, p); !slices.Equal(got, wantP) {
						t.Fatalf("step %d: prefix %q: got %v, want %v", step, p, got, wantP)
					}
				}
			}
			// Drain completely.
			for k := range present {
				if !tr.Delete(k) {
					t.Fatalf("Delete(%q) missed", k)
				}
			}
			tr.check(t)
			if tr.Len() != 0 || len(ascendKeys(&tr, "", "")) != 0 {
				t.Fatalf("tree not empty after draining")
			}
		})
	}
}
