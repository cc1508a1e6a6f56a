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
