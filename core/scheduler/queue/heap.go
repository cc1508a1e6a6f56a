package queue

// podHeap is a binary heap of queued pods that tracks each pod's position,
// so a pod can be removed or re-sorted in O(log n) when it is updated or
// deleted. A pod lives in at most one heap at a time, so one index field in
// QueuedPodInfo suffices.
type podHeap struct {
	items []*QueuedPodInfo
	less  func(a, b *QueuedPodInfo) bool
}

func (h *podHeap) Len() int { return len(h.items) }

func (h *podHeap) peek() *QueuedPodInfo {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

func (h *podHeap) push(p *QueuedPodInfo) {
	p.index = len(h.items)
	h.items = append(h.items, p)
	h.up(p.index)
}

func (h *podHeap) pop() *QueuedPodInfo {
	if len(h.items) == 0 {
		return nil
	}
	return h.remove(0)
}

func (h *podHeap) remove(i int) *QueuedPodInfo {
	n := len(h.items) - 1
	p := h.items[i]
	if i != n {
		h.swap(i, n)
	}
	h.items[n] = nil
	h.items = h.items[:n]
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
	p.index = -1
	return p
}

func (h *podHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *podHeap) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index = i
	h.items[j].index = j
}

func (h *podHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(h.items[j], h.items[i]) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h *podHeap) down(i0 int) bool {
	i := i0
	n := len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && h.less(h.items[r], h.items[l]) {
			j = r
		}
		if !h.less(h.items[j], h.items[i]) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}
