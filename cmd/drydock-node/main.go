// Command drydock-node is drydock's node agent alone: the same command as
// `drydock node` (real/node/nodecmd: same flags, behaviour and exit codes)
// in a binary that links only the node side, without the embedded etcd,
// API server, controllers, simulator or terminal UI, so that it needs less
// memory. Build both with `go build ./cmd/drydock ./cmd/drydock-node`.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/drydock-sim/drydock/real/node/nodecmd"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run executes the command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := nodecmd.New("drydock-node")
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.Execute()
	if err != nil {
		fmt.Fprintln(stderr, "drydock-node:", err)
	}
	return nodecmd.ExitCode(err)
}
