package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/drydock-sim/drydock/real/node/nodecmd"
)

// newNodeCommand is `drydock node`: real/node/nodecmd's command, the same
// one cmd/drydock-node runs alone, with its exit codes carried to run.
func newNodeCommand() *cobra.Command {
	cmd := nodecmd.New("drydock node")
	runE := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		err := runE(c, args)
		var ee *nodecmd.ExitError
		if errors.As(err, &ee) {
			return &exitError{code: ee.Code, err: ee.Err}
		}
		return err
	}
	return cmd
}
