package memstore

// The ordered key index is a B-tree of *entry sorted by key. A sorted slice
// would make every Create and Delete an O(n) memmove, which at 150,000 pods
// dominates the simulator; the B-tree keeps writes at O(log n) and a prefix
// List at O(log n + k). Point lookups go through the Store's map instead.

// degree is the B-tree's minimum degree: every node except the root holds
// between degree-1 and 2*degree-1 items. 32 keeps nodes a few cache lines
// wide and the tree three levels deep at 150,000 keys.
const degree = 32

const (
	maxItems = 2*degree - 1
	minItems = degree - 1
)

// item is one slot of a node: the entry and, inline, its key, so that a
// search compares keys without a pointer chase to each probed entry (the
// keys of 186,000 Events share long prefixes; the probes were cache misses).
type item struct {
	key string
	e   *entry
}

type node struct {
	items    []item
	children []*node // empty for leaves, otherwise len(items)+1
}

type btree struct {
	root *node
	n    int
}

func (n *node) leaf() bool { return len(n.children) == 0 }

// find returns the index of the first item whose key is >= key and whether
// that item's key equals key.
func (n *node) find(key string) (int, bool) {
	// Hand-written binary search: sort.Search's closure call per probe is
	// measurable on the Create path.
	lo, hi := 0, len(n.items)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if n.items[m].key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(n.items) && n.items[lo].key == key
}

// Len is the number of items in the tree.
func (t *btree) Len() int { return t.n }

// Insert adds e; the caller guarantees e.key is not already present.
func (t *btree) Insert(e *entry) {
	if t.root == nil {
		t.root = &node{items: make([]item, 0, 4)}
	}
	if len(t.root.items) >= maxItems {
		old := t.root
		t.root = &node{children: []*node{old}}
		t.root.splitChild(0)
	}
	t.root.insert(item{key: e.key, e: e})
	t.n++
}

// splitChild splits the full child i around its middle item, which moves up
// into n. Splitting before descending (rather than after) means an insert
// never has to walk back up the tree.
func (n *node) splitChild(i int) {
	c := n.children[i]
	mid := c.items[degree-1]
	right := &node{items: make([]item, 0, maxItems)}
	right.items = append(right.items, c.items[degree:]...)
	if !c.leaf() {
		right.children = make([]*node, 0, maxItems+1)
		right.children = append(right.children, c.children[degree:]...)
		clear(c.children[degree:])
		c.children = c.children[:degree]
	}
	clear(c.items[degree-1:])
	c.items = c.items[:degree-1]
	n.items = insertAt(n.items, i, mid)
	n.children = insertAt(n.children, i+1, right)
}

// insert adds e below a node that is known not to be full.
func (n *node) insert(e item) {
	for {
		i, _ := n.find(e.key)
		if n.leaf() {
			n.items = insertAt(n.items, i, e)
			return
		}
		if len(n.children[i].items) >= maxItems {
			n.splitChild(i)
			if e.key > n.items[i].key {
				i++
			}
		}
		n = n.children[i]
	}
}

// Delete removes the item with key and reports whether it was present.
func (t *btree) Delete(key string) bool {
	if t.root == nil {
		return false
	}
	out := t.root.remove(key, false)
	if len(t.root.items) == 0 && !t.root.leaf() {
		t.root = t.root.children[0]
	}
	if out == nil {
		return false
	}
	t.n--
	return true
}

// remove deletes key (or, with max set, the largest item) from the subtree
// rooted at n and returns the removed item. Like insert it fixes nodes on the
// way down: before descending into a child with only minItems items it grows
// that child by borrowing from a sibling or merging, so a removal never
// leaves a node underfull.
func (n *node) remove(key string, max bool) *entry {
	for {
		var i int
		var found bool
		if max {
			i = len(n.items)
			if n.leaf() {
				out := n.items[i-1]
				n.items[i-1] = item{}
				n.items = n.items[:i-1]
				return out.e
			}
		} else {
			i, found = n.find(key)
			if n.leaf() {
				if !found {
					return nil
				}
				out := n.items[i]
				n.items = removeAt(n.items, i)
				return out.e
			}
		}
		if len(n.children[i].items) <= minItems {
			n.growChild(i)
			continue // the items moved; search this node again
		}
		if found {
			// Replace the separator with its in-order predecessor, which
			// is the largest item of the left child.
			out := n.items[i]
			pred := n.children[i].remove("", true)
			n.items[i] = item{key: pred.key, e: pred}
			return out.e
		}
		n = n.children[i]
	}
}

// growChild gives child i at least minItems+1 items.
func (n *node) growChild(i int) {
	if i > 0 && len(n.children[i-1].items) > minItems {
		// Rotate right: the separator comes down, the left sibling's last
		// item goes up.
		c, left := n.children[i], n.children[i-1]
		c.items = insertAt(c.items, 0, n.items[i-1])
		last := len(left.items) - 1
		n.items[i-1] = left.items[last]
		left.items[last] = item{}
		left.items = left.items[:last]
		if !left.leaf() {
			lc := len(left.children) - 1
			c.children = insertAt(c.children, 0, left.children[lc])
			left.children[lc] = nil
			left.children = left.children[:lc]
		}
		return
	}
	if i < len(n.items) && len(n.children[i+1].items) > minItems {
		// Rotate left.
		c, right := n.children[i], n.children[i+1]
		c.items = append(c.items, n.items[i])
		n.items[i] = right.items[0]
		right.items = removeAt(right.items, 0)
		if !right.leaf() {
			c.children = append(c.children, right.children[0])
			right.children = removeAt(right.children, 0)
		}
		return
	}
	// Both siblings are minimal: merge child i with its right sibling (or
	// its left one, for the last child) around their separator.
	if i >= len(n.items) {
		i--
	}
	c, right := n.children[i], n.children[i+1]
	c.items = append(c.items, n.items[i])
	c.items = append(c.items, right.items...)
	c.children = append(c.children, right.children...)
	n.items = removeAt(n.items, i)
	n.children = removeAt(n.children, i+1)
}

// Ascend calls fn for every item with key >= pivot in key order until fn
// returns false.
func (t *btree) Ascend(pivot string, fn func(*entry) bool) {
	if t.root != nil {
		t.root.ascend(pivot, fn)
	}
}

func (n *node) ascend(pivot string, fn func(*entry) bool) bool {
	i, _ := n.find(pivot)
	if !n.leaf() && !n.children[i].ascend(pivot, fn) {
		return false
	}
	for ; i < len(n.items); i++ {
		if !fn(n.items[i].e) {
			return false
		}
		// Everything in the next child is greater than items[i] and so
		// greater than pivot; ascend's search finds index 0 there.
		if !n.leaf() && !n.children[i+1].ascend(pivot, fn) {
			return false
		}
	}
	return true
}

func insertAt[T any](s []T, i int, v T) []T {
	var zero T
	s = append(s, zero)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

func removeAt[T any](s []T, i int) []T {
	copy(s[i:], s[i+1:])
	var zero T
	s[len(s)-1] = zero
	return s[:len(s)-1]
}
