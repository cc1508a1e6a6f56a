// Command drydock runs the simulator and its benchmarks.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes shared by every subcommand.
const (
	exitOK       = 0
	exitFailed   = 1 // an expectation did not hold
	exitBadInput = 2 // the input could not be used; nothing ran
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func badInput(err error) error { return &exitError{code: exitBadInput, err: err} }

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run executes the command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "drydock",
		Short:         "A simulation-first Kubernetes-architecture orchestrator",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newSimCommand(), newBenchCommand())
	root.AddCommand(newServerCommand(), newNodeCommand(), newImageCommand(), newTokenCommand())
	root.AddCommand(newTUICommand())
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "drydock:", ee.err)
		}
		return ee.code
	}
	// Flag and argument errors from cobra are bad input too.
	fmt.Fprintln(stderr, "drydock:", err)
	return exitBadInput
}
