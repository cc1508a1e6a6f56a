package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder keeps what Check reports instead of failing this test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); panic(r) }

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "testdata", "x.golden")
	r := &recorder{TB: t}
	Check(r, path, []byte("one\n"), true)
	if data, err := os.ReadFile(path); err != nil || string(data) != "one\n" {
		t.Fatalf("update wrote %q, %v", data, err)
	}
	Check(r, path, []byte("one\n"), false)
	if len(r.errs) != 0 {
		t.Fatalf("equal output reported: %v", r.errs)
	}
	Check(r, path, []byte("two\n"), false)
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "--- got\ntwo\n") || !strings.Contains(r.errs[0], "--- want\none\n") {
		t.Fatalf("difference reported as %q", r.errs)
	}
	func() {
		defer func() { recover() }()
		Check(r, filepath.Join(t.TempDir(), "missing"), nil, false)
	}()
	if len(r.errs) != 2 || !strings.Contains(r.errs[1], "-update") {
		t.Fatalf("missing file reported as %q", r.errs)
	}
}
