// Package golden compares test output with a file kept under testdata/ and
// rewrites the file instead when the test runs with its package's -update
// flag. The flag stays in each test package (a flag registered here would
// collide with theirs); callers pass its value.
package golden

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Check compares got with the file at path, or writes got there when
// update is set. A missing file or a difference fails the test with both
// texts and how to rewrite the file.
func Check(tb testing.TB, path string, got []byte, update bool) {
	tb.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from %s (go test -run '%s' -update rewrites it)\n--- got\n%s\n--- want\n%s",
			tb.Name(), path, tb.Name(), got, want)
	}
}
