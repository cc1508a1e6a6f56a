package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeScenario(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodHead = "name: t\nduration: 1m\nnodePools:\n  - name: n\n    count: 1\n    capacity: {cpu: \"2\", memory: 4Gi, pods: 10}\n"

func TestSimJSONAndExitCodes(t *testing.T) {
	code, out, stderr := runCLI(t, "sim", "../../scenarios/quickstart.yaml", "--json", "--seed", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"scenario", "seed", "simulatedSeconds", "wallSeconds", "events", "traceHash", "expectations", "metrics"} {
		if _, ok := res[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if res["seed"].(float64) != 3 {
		t.Errorf("seed = %v", res["seed"])
	}

	failing := writeScenario(t, goodHead+"expectations:\n  - by: 30s\n    podsRunning: {count: 5}\n")
	if code, out, _ := runCLI(t, "sim", failing); code != 1 || !strings.Contains(out, "FAIL") {
		t.Errorf("failing expectation: exit %d\n%s", code, out)
	}
}

func TestSimBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"unknown field", goodHead + "bogus: 1\n", ":7: "},
		{"unknown action", goodHead + "timeline:\n  - at: 10s\n    action: explode\n", "unknown action"},
		{"unknown node", goodHead + "timeline:\n  - at: 10s\n    action: crashNode\n    node: nope\n", "nope"},
		{"wrong type", "name: t\nduration: soon\n", ":2: "},
		{"invalid manifest", goodHead + "objects:\n  - inline: |\n      apiVersion: apps/v1\n      kind: Deployment\n      metadata: {name: web}\n      spec:\n        selector: {matchLabels: {app: a}}\n        template:\n          metadata: {labels: {app: b}}\n          spec: {containers: [{name: c, image: i}]}\n", "selector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, "sim", writeScenario(t, tc.body))
			if code != 2 {
				t.Fatalf("exit %d, want 2\nstdout %s\nstderr %s", code, out, stderr)
			}
			if !strings.Contains(stderr, "s.yaml") || !strings.Contains(stderr, tc.want) {
				t.Errorf("error does not name the file and %q:\n%s", tc.want, stderr)
			}
			if out != "" {
				t.Errorf("something ran: %s", out)
			}
		})
	}
	if code, _, stderr := runCLI(t, "sim", "/no/such/file.yaml"); code != 2 || !strings.Contains(stderr, "file.yaml") {
		t.Errorf("missing file: exit %d %s", code, stderr)
	}
}

func TestBenchSchedulerSmall(t *testing.T) {
	code, out, stderr := runCLI(t, "bench", "scheduler", "--nodes", "50", "--placed", "10", "--pods", "100", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep["podsPerSecond"].(float64) <= 0 || rep["peakRSSBytes"].(float64) <= 0 {
		t.Errorf("report %v", rep)
	}
}
