// Package determinism checks the source of core/ and sim/ for constructs
// that would make a simulation depend on something other than its scenario
// and seed: goroutines and channels (scheduling order), the wall clock,
// global or crypto randomness, and operating-system I/O. The check is
// syntactic (go/ast, no type information), run by determinism_test.go over
// the repository. See DESIGN.md, "Determinism rules".
package determinism

import (
	"fmt"
	"go/ast"
	"go/token"
	"strconv"
	"strings"
)

// Rule names a class of violation.
type Rule string

const (
	RuleGo        Rule = "go-statement"
	RuleChan      Rule = "channel-type"
	RuleSend      Rule = "channel-send"
	RuleRecv      Rule = "channel-receive"
	RuleSelect    Rule = "select"
	RuleTime      Rule = "wall-clock"
	RuleRandV1    Rule = "math/rand"
	RuleRandGlob  Rule = "global-rand"
	RuleImport    Rule = "forbidden-import"
	RuleDotImport Rule = "dot-import"
)

// Violation is one forbidden construct.
type Violation struct {
	Pos     token.Position
	Rule    Rule
	Message string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s: %s (%s)", v.Pos, v.Message, v.Rule)
}

// wallClock are the functions of package time that read or wait on the
// wall clock. Everything else in time (Duration, Time arithmetic, Unix,
// Date, Parse) is pure and allowed.
var wallClock = map[string]bool{
	"Now": true, "Sleep": true, "After": true, "Tick": true, "NewTimer": true,
	"NewTicker": true, "AfterFunc": true, "Since": true, "Until": true,
}

// randV2Allowed are the math/rand/v2 names that do not touch the global
// generator: constructors of explicitly seeded generators, and types.
var randV2Allowed = map[string]bool{
	"New": true, "NewPCG": true, "NewChaCha8": true, "NewZipf": true,
	"Rand": true, "Source": true, "PCG": true, "ChaCha8": true, "Zipf": true,
}

// forbiddenImports do I/O outside the simulation or draw entropy from the
// operating system.
var forbiddenImports = map[string]string{
	"os":                    "operating-system I/O",
	"os/exec":               "runs processes",
	"os/signal":             "operating-system signals",
	"os/user":               "operating-system I/O",
	"net":                   "network I/O",
	"net/http":              "network I/O",
	"net/rpc":               "network I/O",
	"io/ioutil":             "file I/O",
	"syscall":               "system calls",
	"golang.org/x/sys/unix": "system calls",
	"crypto/rand":           "operating-system entropy (use the seeded stream from core/rng)",
}

// AllowedImports lets a package (path relative to the repository root)
// import otherwise forbidden packages, each with the reason. Keep it tiny:
// every entry is a place where the outside world can leak in.
var AllowedImports = map[string]map[string]string{
	// Scenario files and the manifests they name are read once, before a
	// simulation starts (sim/scenario/load.go); nothing reads files while it runs.
	"sim/scenario": {"os": "reads scenario and manifest files before the simulation starts"},
}

func forbiddenImport(path string) (string, bool) {
	if why, ok := forbiddenImports[path]; ok {
		return why, true
	}
	if strings.HasPrefix(path, "net/http/") {
		return "network I/O", true
	}
	return "", false
}

// CheckFile reports the violations in f, a file of package pkg (its
// directory relative to the repository root, with slashes). f must have been
// parsed with object resolution (the go/parser default), which lets the
// check tell a package name from a local variable that shadows it.
func CheckFile(fset *token.FileSet, f *ast.File, pkg string) []Violation {
	c := &checker{fset: fset, names: map[string]string{}}
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		local := path[strings.LastIndex(path, "/")+1:]
		if path == "math/rand/v2" {
			local = "rand"
		}
		if imp.Name != nil {
			local = imp.Name.Name
		}
		switch {
		case path == "math/rand":
			c.report(imp.Pos(), RuleRandV1, `import of "math/rand": use a *rand.Rand from math/rand/v2 made by core/rng`)
			continue
		case local == "." && (path == "time" || path == "math/rand/v2"):
			c.report(imp.Pos(), RuleDotImport, fmt.Sprintf("dot import of %q hides which of its functions are used", path))
			continue
		}
		if why, bad := forbiddenImport(path); bad {
			if _, ok := AllowedImports[pkg][path]; !ok {
				c.report(imp.Pos(), RuleImport, fmt.Sprintf("import of %q: %s", path, why))
			}
		}
		if path == "time" || path == "math/rand/v2" {
			c.names[local] = path
		}
	}
	ast.Inspect(f, c.visit)
	return c.out
}

type checker struct {
	fset  *token.FileSet
	names map[string]string // local name -> "time" or "math/rand/v2"
	out   []Violation
}

func (c *checker) report(pos token.Pos, r Rule, msg string) {
	c.out = append(c.out, Violation{Pos: c.fset.Position(pos), Rule: r, Message: msg})
}

func (c *checker) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.GoStmt:
		c.report(n.Pos(), RuleGo, "go statement: core and sim run on one control loop")
	case *ast.ChanType:
		c.report(n.Pos(), RuleChan, "channel type: use callbacks through the clock instead")
	case *ast.SendStmt:
		c.report(n.Pos(), RuleSend, "channel send")
	case *ast.UnaryExpr:
		if n.Op == token.ARROW {
			c.report(n.Pos(), RuleRecv, "channel receive")
		}
	case *ast.SelectStmt:
		c.report(n.Pos(), RuleSelect, "select statement")
	case *ast.SelectorExpr:
		id, ok := n.X.(*ast.Ident)
		// A resolved identifier (Obj set) is a local declaration shadowing
		// the import, not the package.
		if !ok || id.Obj != nil {
			break
		}
		switch c.names[id.Name] {
		case "time":
			if wallClock[n.Sel.Name] {
				c.report(n.Pos(), RuleTime, fmt.Sprintf("time.%s reads the wall clock: use the clock.Clock port", n.Sel.Name))
			}
		case "math/rand/v2":
			if !randV2Allowed[n.Sel.Name] {
				c.report(n.Pos(), RuleRandGlob, fmt.Sprintf("rand.%s uses the global generator: use a seeded *rand.Rand", n.Sel.Name))
			}
		}
	}
	return true
}
