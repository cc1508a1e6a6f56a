package main

import (
	"errors"
	"fmt"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"

	"github.com/drydock-sim/drydock/core/feed"
	"github.com/drydock-sim/drydock/sim"
	"github.com/drydock-sim/drydock/sim/scenario"
	"github.com/drydock-sim/drydock/tui"
	"github.com/drydock-sim/drydock/tui/live"
)

func newTUICommand() *cobra.Command {
	var (
		seed       uint64
		speed      float64
		paused     bool
		kubeconfig string
	)
	cmd := &cobra.Command{
		Use:   "tui [SCENARIO]",
		Short: "Terminal dashboard of a simulated scenario or a live cluster",
		Long: "Watch scheduling and pod recovery in a terminal dashboard: a scenario run by the\n" +
			"simulator (play/pause, step, speed 1x-10000x, jump, restart with another seed), or a\n" +
			"live cluster with --kubeconfig. Press ? for the keys. NO_COLOR turns colours off.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var src feed.Source
			switch {
			case kubeconfig != "" && len(args) > 0:
				return badInput(errors.New("give a scenario file or --kubeconfig, not both"))
			case kubeconfig != "":
				for _, f := range []string{"seed", "speed", "paused"} {
					if cmd.Flags().Changed(f) {
						return badInput(fmt.Errorf("--%s is for a scenario: a live cluster (--kubeconfig) cannot be seeded, sped up or paused", f))
					}
				}
				s, err := live.FromKubeconfig(kubeconfig)
				if err != nil {
					return badInput(err)
				}
				src = s
			case len(args) == 1:
				sc, err := scenario.Load(args[0])
				if err != nil {
					return badInput(err)
				}
				if speed < feed.MinSpeed || speed > feed.MaxSpeed {
					return badInput(fmt.Errorf("--speed %g: must be between %d and %d", speed, feed.MinSpeed, feed.MaxSpeed))
				}
				s, err := sim.NewFeed(sc, sim.FeedOptions{Seed: seed, HasSeed: cmd.Flags().Changed("seed"), Speed: speed, Paused: paused})
				if err != nil {
					return badInput(err)
				}
				src = s
			default:
				return badInput(errors.New("give a scenario file (drydock tui scenarios/node-failure-recovery.yaml) or --kubeconfig FILE"))
			}
			color := os.Getenv("NO_COLOR") == "" && termenv.NewOutput(os.Stdout).EnvColorProfile() != termenv.Ascii
			m := tui.New(src, tui.Options{Color: color})
			defer m.Close()
			p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithInput(cmd.InOrStdin()), tea.WithOutput(cmd.OutOrStdout()))
			if _, err := p.Run(); err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("tui: %w", err)}
			}
			return nil
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", 0, "random seed (default: the scenario's)")
	cmd.Flags().Float64Var(&speed, "speed", 10, "simulated seconds per wall second (1 to 10000)")
	cmd.Flags().BoolVar(&paused, "paused", false, "start paused")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "watch the live cluster of this kubeconfig instead of a scenario")
	return cmd
}
