package determinism

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// repoRoot is two directories above this file (internal/determinism).
func repoRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// TestCoreAndSimAreDeterministic walks every non-test Go file under core/
// and sim/ and fails on each forbidden construct, naming file:line.
func TestCoreAndSimAreDeterministic(t *testing.T) {
	root := repoRoot(t)
	var violations []string
	files := map[string]int{}
	for _, top := range []string{"core", "sim"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() {
				// The go tool ignores these directories too.
				if name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				return nil
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, rel, src, 0)
			if err != nil {
				violations = append(violations, rel+": does not parse: "+err.Error())
				return nil
			}
			files[top]++
			for _, v := range CheckFile(fset, f, filepath.ToSlash(filepath.Dir(rel))) {
				violations = append(violations, v.String())
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", top, err)
		}
	}
	sort.Strings(violations)
	// Guard against a wrong root making the walk pass vacuously.
	if files["core"] == 0 || files["sim"] == 0 {
		t.Errorf("checked %d files under core/ and %d under sim/: wrong repository root %s?", files["core"], files["sim"], root)
	}
	for _, v := range violations {
		t.Error(v)
	}
	t.Logf("checked %d files under core/, %d under sim/", files["core"], files["sim"])
}
