package memstore

import "github.com/drydock-sim/drydock/core/store"

// history holds the retained events in revision order. Every write makes
// exactly one event and revisions have no gaps, so the event for revision r
// sits at a computable index and replay needs no search.
//
// Events live in buf[start:]. Dropping the oldest advances start; the
// backing array is shifted down once start passes half its length, so
// trimming one event per write is amortised O(1).
type history struct {
	buf       []store.Event
	start     int
	compacted int64 // every revision <= compacted is gone
}

func (h *history) len() int { return len(h.buf) - h.start }

func (h *history) append(ev store.Event) { h.buf = append(h.buf, ev) }

// since returns the retained events with revision > rev. The slice aliases
// the buffer and is only valid until the next write.
func (h *history) since(rev int64) []store.Event {
	live := h.buf[h.start:]
	if len(live) == 0 {
		return nil
	}
	i := rev + 1 - live[0].Revision
	if i < 0 {
		i = 0
	}
	if i >= int64(len(live)) {
		return nil
	}
	return live[i:]
}

// compact drops every event with revision <= rev and records rev as the
// compacted revision.
func (h *history) compact(rev int64) {
	if rev <= h.compacted {
		return
	}
	h.compacted = rev
	n := 0
	for _, ev := range h.buf[h.start:] {
		if ev.Revision > rev {
			break
		}
		n++
	}
	h.drop(n)
}

// trim drops the oldest events until at most limit remain.
func (h *history) trim(limit int) {
	if limit <= 0 || h.len() <= limit {
		return
	}
	n := h.len() - limit
	h.compacted = h.buf[h.start+n-1].Revision
	h.drop(n)
}

func (h *history) drop(n int) {
	if n == 0 {
		return
	}
	// Zero the dropped slots so their objects can be collected.
	clear(h.buf[h.start : h.start+n])
	h.start += n
	if h.start == len(h.buf) {
		h.buf, h.start = h.buf[:0], 0
		return
	}
	if h.start > len(h.buf)/2 {
		k := copy(h.buf, h.buf[h.start:])
		clear(h.buf[k:])
		h.buf, h.start = h.buf[:k], 0
	}
}
