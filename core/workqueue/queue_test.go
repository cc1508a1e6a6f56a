package workqueue_test

import (
	"strings"
	"testing"
	"time"

	"github.com/drydock-sim/drydock/core/clock/fakeclock"
	"github.com/drydock-sim/drydock/core/workqueue"
)

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func TestDedupOrderAndWake(t *testing.T) {
	clk := fakeclock.New(epoch)
	var got []string
	var q *workqueue.Queue
	wakes := 0
	q = workqueue.New(clk, func() {
		wakes++
		for {
			k, ok := q.Get()
			if !ok {
				return
			}
			got = append(got, k)
			q.Done(k)
		}
	})
	q.Add("a")
	q.Add("b")
	q.Add("a")
	if len(got) != 0 {
		t.Fatal("consumer ran synchronously")
	}
	clk.Settle()
	if strings.Join(got, ",") != "a,b" || wakes != 1 {
		t.Fatalf("got %v after %d wakes", got, wakes)
	}
}

func TestAddWhileProcessingRequeues(t *testing.T) {
	clk := fakeclock.New(epoch)
	q := workqueue.New(clk, nil)
	q.Add("a")
	k, _ := q.Get()
	q.Add("a") // changed again while being processed
	if q.Len() != 0 {
		t.Fatal("key queued twice while processing")
	}
	q.Done(k)
	if q.Len() != 1 {
		t.Fatal("key added during processing was lost")
	}
}

func TestAddAfterAndRateLimit(t *testing.T) {
	clk := fakeclock.New(epoch)
	q := workqueue.New(clk, nil)
	q.SetBackoff(10*time.Second, 40*time.Second)
	q.AddAfter("x", 5*time.Second)
	q.AddAfter("x", 2*time.Second) // earlier wins
	q.AddAfter("x", 9*time.Second) // later ignored
	clk.Advance(time.Second)
	if q.Len() != 0 {
		t.Fatal("added too early")
	}
	clk.Advance(time.Second)
	if q.Len() != 1 || q.Pending() != 0 {
		t.Fatalf("len %d pending %d at 2s", q.Len(), q.Pending())
	}
	k, _ := q.Get()
	q.Done(k)
	var delays []time.Duration
	for i := 0; i < 4; i++ {
		start := clk.Now()
		q.AddRateLimited("y")
		for q.Len() == 0 {
			clk.Step()
		}
		delays = append(delays, clk.Now().Sub(start))
		k, _ := q.Get()
		q.Done(k)
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 40 * time.Second}
	for i := range want {
		if delays[i] != want[i] {
			t.Errorf("backoff %d = %v, want %v", i, delays[i], want[i])
		}
	}
	if q.NumRequeues("y") != 4 {
		t.Errorf("requeues %d", q.NumRequeues("y"))
	}
	q.Forget("y")
	if q.NumRequeues("y") != 0 {
		t.Error("Forget kept the backoff")
	}
}
