package testsync

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestBufferConcurrentWriters(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				fmt.Fprint(&b, "x")
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if n := len(b.String()); n != 800 {
		t.Fatalf("len = %d, want 800", n)
	}
}

func TestUntilReturnsOnceTrue(t *testing.T) {
	n := 0
	Until(t, "third call", 5*time.Second, func() (bool, string) { n++; return n == 3, fmt.Sprint(n) })
	if n != 3 {
		t.Fatalf("cond called %d times, want 3", n)
	}
}

// fatalRecorder records Fatalf instead of stopping the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

func TestUntilTimesOutWithDetail(t *testing.T) {
	f := &fatalRecorder{TB: t}
	func() {
		defer func() {
			if r := recover(); r != f {
				t.Fatalf("recovered %v, want the recorder's stop", r)
			}
		}()
		Until(f, "never", 0, func() (bool, string) { return false, "still no" })
	}()
	if want := "timed out after 0s waiting for never; last: still no"; f.msg != want {
		t.Fatalf("message %q, want %q", f.msg, want)
	}
}
