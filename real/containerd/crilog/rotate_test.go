package crilog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRotatingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	now := time.Date(2026, 12, 6, 4, 5, 6, 0, time.UTC)
	rf, err := OpenRotating(path, 10, 3, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		t.Helper()
		if _, err := rf.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p string) string {
		b, _ := os.ReadFile(p)
		return string(b)
	}
	write("aaaa\n")
	write("bbbb\n") // exactly 10: no rotation
	write("cc\n")   // would pass 10: rotates first
	if got := read(path); got != "cc\n" {
		t.Fatalf("current file %q after one rotation", got)
	}
	if r := Rotated(path); len(r) != 1 || read(r[0]) != "aaaa\nbbbb\n" || !strings.HasSuffix(r[0], ".20261206-040506") {
		t.Fatalf("rotated %v", r)
	}
	write("dddddddddd\n") // a record longer than the limit still goes whole into a new file
	write("e\n")
	write("ffffffffff\n")
	r := Rotated(path)
	if len(r) != 2 {
		t.Fatalf("rotated files %v, want the newest 2 (MaxFiles 3 with the current)", r)
	}
	if read(r[0]) != "dddddddddd\n" || read(r[1]) != "e\n" || read(path) != "ffffffffff\n" {
		t.Errorf("files %q %q %q", read(r[0]), read(r[1]), read(path))
	}
	rf.Close()
	// Reopening appends and counts what is there.
	rf, err = OpenRotating(path, 12, 3, func() time.Time { return now.Add(time.Hour) })
	if err != nil {
		t.Fatal(err)
	}
	write("g\n") // 11 bytes there: rotates
	write("h\n")
	if r := Rotated(path); read(path) != "g\nh\n" || len(r) != 2 || read(r[1]) != "ffffffffff\n" {
		t.Errorf("after reopen: current %q, rotated %v; want g and h after a rotation of f", read(path), r)
	}
	rf.Close()
}

// TestRotateFailureKeepsWriting: a rotation that fails (here: the folder
// is gone, so the rename and the reopen fail) fails that write only; once
// the folder is back, writes go on in a new file instead of every later
// write failing.
func TestRotateFailureKeepsWriting(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ctr")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "0.log")
	now := time.Date(2026, 12, 6, 4, 5, 6, 0, time.UTC)
	rf, err := OpenRotating(path, 10, 3, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	if _, err := rf.Write([]byte("aaaaaaaa\n")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := rf.Write([]byte("bb\n")); err == nil {
		t.Error("Write that could not rotate reported no error")
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := rf.Write([]byte("cc\n")); err != nil {
		t.Fatalf("Write after a failed rotation: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "cc\n" {
		t.Errorf("file %q, want the write after the failed rotation", b)
	}
	rf.Close()
	if _, err := rf.Write([]byte("dd\n")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close: %v, want os.ErrClosed", err)
	}
}
