// Package testsync holds the two helpers tests with goroutines keep
// needing: a buffer that a component's goroutines can log into while the
// test reads it, and a wait for a condition with a deadline (never a fixed
// sleep).
package testsync

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer safe for concurrent writers and readers. The zero
// value is ready to use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Until checks cond every 100 ms until it holds, and fails the test after
// timeout with the last detail cond gave.
func Until(tb testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	tb.Helper()
	end := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			tb.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, detail)
		}
		time.Sleep(100 * time.Millisecond) // poll interval, not a wait for an effect
	}
}
