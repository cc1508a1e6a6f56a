package determinism

import (
	"go/parser"
	"go/token"
	"slices"
	"testing"
)

// The checker itself, on small sources: each forbidden construct is caught
// (so the repository walk cannot pass vacuously) and the allowed ones pass.
func TestCheckFile(t *testing.T) {
	tests := []struct {
		name string
		pkg  string // default "core/x"
		src  string
		want []Rule
	}{
		{name: "clean", src: `import "time"
			func f(c interface{ Now() time.Time }) time.Duration { return c.Now().Sub(time.Unix(0, 0)) + time.Second }`},
		{name: "go statement", src: `func f() { go f() }`, want: []Rule{RuleGo}},
		{name: "channel type in signature", src: `func f(c chan int) {}`, want: []Rule{RuleChan}},
		{name: "receive-only channel type", src: `var c <-chan int`, want: []Rule{RuleChan}},
		{name: "make(chan)", src: `func f() { _ = make(chan struct{}, 1) }`, want: []Rule{RuleChan}},
		{name: "send", src: `import "example.com/p"
			func f(x p.T) { x.C <- 1 }`, want: []Rule{RuleSend}},
		{name: "receive", src: `import "context"
			func f(ctx context.Context) { <-ctx.Done() }`, want: []Rule{RuleRecv}},
		{name: "select", src: `func f() { select {} }`, want: []Rule{RuleSelect}},
		{name: "time.Now", src: `import "time"
			var t0 = time.Now()`, want: []Rule{RuleTime}},
		{name: "time.Now as a value", src: `import "time"
			var now = time.Now`, want: []Rule{RuleTime}},
		{name: "every wall-clock function", src: `import "time"
			func f() { time.Sleep(1); time.After(1); time.Tick(1); time.NewTimer(1); time.NewTicker(1)
				time.AfterFunc(1, nil); time.Since(time.Time{}); time.Until(time.Time{}) }`,
			want: []Rule{RuleTime, RuleTime, RuleTime, RuleTime, RuleTime, RuleTime, RuleTime, RuleTime}},
		{name: "aliased time import", src: `import t "time"
			func f() { t.Sleep(t.Second) }`, want: []Rule{RuleTime}},
		{name: "local variable shadowing time", src: `import "time"
			type clk struct{}
			func (clk) Now() time.Time { return time.Time{} }
			func f() time.Time { time := clk{}; return time.Now() }`},
		{name: "parameter shadowing rand", src: `import "math/rand/v2"
			func f(rand *rand.Rand) int { return rand.IntN(3) }`},
		{name: "another package's Now", src: `import "example.com/clock"
			var x = clock.Now()`},
		{name: "dot import of time", src: `import . "time"
			var d Duration`, want: []Rule{RuleDotImport}},
		{name: "math/rand v1", src: `import "math/rand"
			var r = rand.New(rand.NewSource(1))`, want: []Rule{RuleRandV1}},
		{name: "math/rand v1 aliased", src: `import mr "math/rand"
			var _ = mr.Intn`, want: []Rule{RuleRandV1}},
		{name: "rand/v2 seeded generators allowed", src: `import "math/rand/v2"
			func f(seed uint64) (*rand.Rand, rand.Source, *rand.Zipf) {
				r := rand.New(rand.NewPCG(seed, 1)); _ = rand.NewChaCha8([32]byte{})
				return r, nil, rand.NewZipf(r, 2, 1, 10) }`},
		{name: "rand/v2 global functions", src: `import "math/rand/v2"
			func f(s []int) int { rand.Shuffle(len(s), nil); _ = rand.Float64(); return rand.IntN(3) + rand.N(2) }`,
			want: []Rule{RuleRandGlob, RuleRandGlob, RuleRandGlob, RuleRandGlob}},
		{name: "rand/v2 aliased global", src: `import r2 "math/rand/v2"
			var x = r2.Uint64()`, want: []Rule{RuleRandGlob}},
		{name: "os", src: `import "os"
			var _ = os.Args`, want: []Rule{RuleImport}},
		{name: "net, net/http, os/exec, io/ioutil, syscall, crypto/rand", src: `import (
				_ "net"; _ "net/http"; _ "net/http/httptest"; _ "os/exec"; _ "io/ioutil"; _ "syscall"; _ "crypto/rand")`,
			want: []Rule{RuleImport, RuleImport, RuleImport, RuleImport, RuleImport, RuleImport, RuleImport}},
		{name: "pure net and io packages allowed", src: `import (_ "net/netip"; _ "net/url"; _ "io"; _ "io/fs")`},
		{name: "os allowed in sim/scenario", pkg: "sim/scenario", src: `import "os"
			var _ = os.ReadFile`},
		{name: "allowlist is exact per package", pkg: "sim/scenario/sub", src: `import "os"
			var _ = os.ReadFile`, want: []Rule{RuleImport}},
		{name: "allowlist is per import", pkg: "sim/scenario", src: `import "net"
			var _ net.IP`, want: []Rule{RuleImport}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "x.go", "package x\n"+tc.src, 0)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			pkg := tc.pkg
			if pkg == "" {
				pkg = "core/x"
			}
			var got []Rule
			for _, v := range CheckFile(fset, f, pkg) {
				got = append(got, v.Rule)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("rules = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestViolationNamesFileAndLine(t *testing.T) {
	fset := token.NewFileSet()
	src := "package x\n\nfunc f() {\n\tgo f()\n}\n"
	f, err := parser.ParseFile(fset, "core/x/x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	vs := CheckFile(fset, f, "core/x")
	if len(vs) != 1 || vs[0].String() != "core/x/x.go:4:2: go statement: core and sim run on one control loop (go-statement)" {
		t.Fatalf("got %v", vs)
	}
}
