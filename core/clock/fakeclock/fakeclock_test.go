package fakeclock

import (
	"strings"
	"testing"
	"time"
)

func TestOrderByTimeThenSequence(t *testing.T) {
	c := New(time.Unix(0, 0))
	var got []string
	add := func(name string, d time.Duration) { c.AfterFunc(d, func() { got = append(got, name) }) }
	add("b2", 2*time.Second)
	add("a1", time.Second)
	add("b2-second", 2*time.Second)
	add("now", 0)
	stopped := c.AfterFunc(time.Second, func() { got = append(got, "stopped") })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should succeed once")
	}
	c.AfterFunc(1500*time.Millisecond, func() { add("nested", 0) })
	c.Advance(10 * time.Second)
	if want := "now,a1,nested,b2,b2-second"; strings.Join(got, ",") != want {
		t.Fatalf("order %v, want %s", got, want)
	}
	if !c.Now().Equal(time.Unix(10, 0)) || c.Fired != 6 {
		t.Errorf("now %v fired %d", c.Now(), c.Fired)
	}
}

// TestOrderMatchesSingleHeap drives the clock with a seeded mix of zero and
// positive delays, AfterFunc and Schedule, nested scheduling and stops, and checks that timers run
// in exactly (time, sequence) order, as one heap over both would run them.
func TestOrderMatchesSingleHeap(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		c := New(time.Unix(100, 0))
		x := seed
		rnd := func(n uint64) uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x % n }
		type key struct {
			at  int64
			seq int
		}
		var ran []key
		pending := map[int]key{}
		var timers []*struct {
			tm  interface{ Stop() bool }
			seq int
		}
		seq := 0
		var schedule func(depth int)
		schedule = func(depth int) {
			seq++
			my := seq
			d := time.Duration(0)
			if rnd(3) > 0 {
				d = time.Duration(rnd(5)) * time.Second
			}
			pending[my] = key{c.Now().Add(d).UnixNano(), my}
			f := func() {
				ran = append(ran, key{c.Now().UnixNano(), my})
				delete(pending, my)
				for i := 0; depth < 6 && i < int(rnd(3)); i++ {
					schedule(depth + 1)
				}
				if len(timers) > 0 && rnd(4) == 0 {
					v := timers[rnd(uint64(len(timers)))]
					_, wasPending := pending[v.seq]
					if got := v.tm.Stop(); got != wasPending {
						t.Fatalf("seed %d: Stop of %d = %v, pending %v", seed, v.seq, got, wasPending)
					}
					delete(pending, v.seq)
				}
			}
			if rnd(3) == 0 {
				c.Schedule(d, f) // no handle: the record is reused after it fires
				return
			}
			tm := c.AfterFunc(d, f)
			timers = append(timers, &struct {
				tm  interface{ Stop() bool }
				seq int
			}{tm, my})
		}
		for i := 0; i < 20; i++ {
			schedule(0)
		}
		for c.Len() > 0 {
			// Stops from outside any callback too, of timers in the heap or
			// queued at zero delay.
			if len(timers) > 0 && rnd(5) == 0 {
				v := timers[rnd(uint64(len(timers)))]
				_, wasPending := pending[v.seq]
				if got := v.tm.Stop(); got != wasPending {
					t.Fatalf("seed %d: outside Stop of %d = %v, pending %v", seed, v.seq, got, wasPending)
				}
				delete(pending, v.seq)
				if c.Len() == 0 {
					break
				}
			}
			if c.Len() != len(pending) {
				t.Fatalf("seed %d: Len %d, %d pending", seed, c.Len(), len(pending))
			}
			next, _ := c.Next()
			var want key
			first := true
			for _, k := range pending {
				if first || k.at < want.at || (k.at == want.at && k.seq < want.seq) {
					want, first = k, false
				}
			}
			if next.UnixNano() != want.at {
				t.Fatalf("seed %d: Next %v, want %v", seed, next.UnixNano(), want.at)
			}
			c.Step()
			if got := ran[len(ran)-1]; got != want {
				t.Fatalf("seed %d: ran %v, want %v", seed, got, want)
			}
		}
		if len(ran) < 50 {
			t.Fatalf("seed %d: only %d timers ran", seed, len(ran))
		}
	}
}

// TestTimesKeepTheClockLocation checks that the times Next and Now report
// for timers are the right instants in the start time's location.
func TestTimesKeepTheClockLocation(t *testing.T) {
	loc := time.FixedZone("X", 3*3600)
	start := time.Date(2026, 1, 2, 3, 4, 5, 6, loc)
	c := New(start)
	var at time.Time
	c.AfterFunc(1500*time.Millisecond, func() { at = c.Now() })
	next, ok := c.Next()
	want := start.Add(1500 * time.Millisecond)
	if !ok || next != want {
		t.Fatalf("Next = %v, %v; want %v", next, ok, want)
	}
	c.Advance(time.Second)
	if c.Now() != start.Add(time.Second) {
		t.Fatalf("Now = %v", c.Now())
	}
	c.Advance(time.Second)
	if at != want || c.Now() != start.Add(2*time.Second) {
		t.Fatalf("timer ran at %v, now %v", at, c.Now())
	}
}

// TestRearm: a fired or stopped timer is reused and ordered as a new
// AfterFunc at the same point would be; a pending one, a Schedule record
// or nil gets a new timer.
func TestRearm(t *testing.T) {
	c := New(time.Unix(0, 0))
	var got []string
	rec := func(s string) func() { return func() { got = append(got, s) } }
	fired := c.AfterFunc(time.Second, rec("first"))
	c.Advance(time.Second)
	stopped := c.AfterFunc(time.Second, rec("never"))
	stopped.Stop()
	pending := c.AfterFunc(3*time.Second, rec("pending"))

	c.AfterFunc(2*time.Second, rec("a"))
	if r := c.Rearm(fired, 2*time.Second, rec("rearmed")); r != fired {
		t.Error("a fired timer was not reused")
	}
	if r := c.Rearm(stopped, 0, rec("now")); r != stopped {
		t.Error("a stopped timer was not reused")
	}
	if r := c.Rearm(pending, time.Second, rec("from pending")); r == pending {
		t.Error("a pending timer was reused")
	}
	if r := c.Rearm(nil, 2*time.Second, rec("b")); r == nil {
		t.Error("nil gave no timer")
	}
	c.Advance(10 * time.Second)
	if want := "first,now,from pending,a,rearmed,b,pending"; strings.Join(got, ",") != want {
		t.Errorf("order %v, want %s", got, want)
	}
	if fired.Stop() {
		t.Error("Stop after the rearmed run reported true")
	}
	r := c.Rearm(fired, time.Second, rec("stopped again"))
	if !r.Stop() {
		t.Error("Stop of a rearmed pending timer reported false")
	}
	c.Advance(5 * time.Second)
	if strings.Contains(strings.Join(got, ","), "stopped again") {
		t.Error("a stopped rearmed timer ran")
	}
}
