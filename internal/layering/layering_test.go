// Package layering checks the architecture contract's import rules
// (../shared/DESIGN.md): imports point down (cmd -> tui, sim, real -> core),
// sim and real never import each other, tui knows core and a feed but not
// sim's or real's insides, core imports none of them, and the real driver
// runs the very control-plane and node-agent packages the simulator runs
// instead of forks of them; the node agent has one command line for its two
// binaries, and drydock-node links no part of the server side.
package layering

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/drydock-sim/drydock/"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// list lists the module's packages with their direct imports and all dependencies.
func list(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &strings.Builder{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v\n%s", err, cmd.Stderr)
	}
	return pkgs
}

// layer names the top-level folder of one of the module's packages.
func layer(path string) string {
	rest, ok := strings.CutPrefix(path, module)
	if !ok {
		return ""
	}
	top, _, _ := strings.Cut(rest, "/")
	return top
}

func TestImportsPointDown(t *testing.T) {
	// forbidden[a] lists the layers a package in layer a must not import.
	forbidden := map[string][]string{
		"core": {"sim", "real", "tui", "cmd"},
		"sim":  {"real", "tui", "cmd"},
		"real": {"sim", "tui", "cmd"},
		"tui":  {"sim", "real", "cmd"},
	}
	for _, p := range list(t) {
		from := layer(p.ImportPath)
		for _, imp := range p.Imports {
			if to := layer(imp); slices.Contains(forbidden[from], to) {
				t.Errorf("%s imports %s: %s must not import %s", p.ImportPath, imp, from, to)
			}
		}
	}
}

// The real driver wires the core's components; it does not carry its own.
func TestRealRunsTheCore(t *testing.T) {
	want := map[string][]string{
		module + "real/server": {"core/apiserver", "core/controlplane", "core/scheduler",
			"core/controllers/replicaset", "core/controllers/deployment", "core/controllers/nodelifecycle",
			"core/controllers/endpoints", "core/controllers/gc", "core/controllers/nodeipam"},
		module + "real/node": {"core/kubelet", "core/proxy"},
	}
	seen := map[string]bool{}
	for _, p := range list(t) {
		needs, ok := want[p.ImportPath]
		if !ok {
			continue
		}
		seen[p.ImportPath] = true
		for _, n := range needs {
			if !slices.Contains(p.Deps, module+n) {
				t.Errorf("%s does not run %s", p.ImportPath, n)
			}
		}
	}
	for p := range want {
		if !seen[p] {
			t.Errorf("package %s not found", p)
		}
	}
}

// The node agent has one command line (real/node/nodecmd) under two names,
// `drydock node` and drydock-node, and drydock-node links the node side
// only: none of the control plane, etcd server, simulator or dashboard.
func TestNodeBinaryIsNodeOnly(t *testing.T) {
	// Each entry and the packages below it.
	forbidden := []string{module + "real/server", module + "real/apihttp", module + "real/etcdstore",
		module + "core/controlplane", module + "core/scheduler", module + "core/controllers",
		module + "sim", module + "tui", module + "cmd/drydock",
		"go.etcd.io/etcd/server", "github.com/charmbracelet", "gonum.org"}
	seen := 0
	for _, p := range list(t) {
		switch p.ImportPath {
		case module + "cmd/drydock", module + "cmd/drydock-node":
			seen++
			if !slices.Contains(p.Imports, module+"real/node/nodecmd") {
				t.Errorf("%s does not run the node command of real/node/nodecmd", p.ImportPath)
			}
		}
		if p.ImportPath != module+"cmd/drydock-node" {
			continue
		}
		for _, d := range p.Deps {
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("cmd/drydock-node links %s", d)
				}
			}
		}
	}
	if seen != 2 {
		t.Errorf("found %d of cmd/drydock and cmd/drydock-node", seen)
	}
}
