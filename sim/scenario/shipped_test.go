package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShippedScenarios loads every scenario in scenarios/ (files directly in
// it; manifests live in subfolders) so that a format change cannot leave a
// shipped scenario behind.
func TestShippedScenarios(t *testing.T) {
	dir := filepath.Join("..", "..", "scenarios")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) {
			sc, err := Load(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimSuffix(e.Name(), ".yaml"); sc.Name != want {
				t.Errorf("name %q, want the file's name %q", sc.Name, want)
			}
			if len(sc.Expectations) == 0 {
				t.Errorf("no expectations")
			}
		})
	}
	if n < 7 {
		t.Errorf("found %d scenarios, want at least 7", n)
	}
}
