package apihttp

import (
	"testing"

	"github.com/drydock-sim/drydock/core/api"
)

func TestEventQueueOverflow(t *testing.T) {
	q := newEventQueue()
	for i := 0; i < 5; i++ { // initial events: unlimited
		q.push(api.WatchEvent{Type: api.WatchAdded, Revision: int64(i)})
	}
	q.setLimit(6)
	q.push(api.WatchEvent{Type: api.WatchModified, Revision: 5})
	if evs, over := q.take(); len(evs) != 6 || over {
		t.Fatalf("took %d, overflow %v", len(evs), over)
	}
	for i := 0; i < 7; i++ {
		q.push(api.WatchEvent{Type: api.WatchModified, Revision: int64(10 + i)})
	}
	if evs, over := q.take(); len(evs) != 0 || !over {
		t.Fatalf("took %d, overflow %v: a watch that falls behind is closed", len(evs), over)
	}
	select {
	case <-q.signal:
	default:
		t.Error("no signal after pushes")
	}
}
