package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/drydock-sim/drydock/real/auth"
	"github.com/drydock-sim/drydock/real/server"
)

func newTokenCommand() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage bootstrap tokens nodes join with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return badInput(fmt.Errorf("token: a subcommand is required (create, list, delete)"))
		},
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", server.DefaultDataDir, "the server's data directory")

	var ttl time.Duration
	var description string
	var printJoin bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a bootstrap token (run on the server machine)",
		Long: `Create a bootstrap token "<id>.<secret>" and store it in the server's data
directory; a running server accepts it at once. With --print-join-command it
prints the whole 'drydock node' command, with the server URL from the admin
kubeconfig and the CA pin.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ttl < 0 {
				return badInput(fmt.Errorf("--ttl %s is negative", ttl))
			}
			if _, err := os.Stat(dataDir); err != nil {
				return badInput(fmt.Errorf("--data-dir: %w", err))
			}
			var join string
			if printJoin {
				j, err := joinCommand(dataDir)
				if err != nil {
					return badInput(err)
				}
				join = j
			}
			t, err := auth.NewTokenStore(dataDir).Create(ttl, description)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if printJoin {
				fmt.Fprintln(cmd.OutOrStdout(), strings.Replace(join, tokenPlaceholder, t.String(), 1))
				return nil
			}
			fmt.Fprintln(cmd.OutOrStdout(), t.String())
			return nil
		},
	}
	create.Flags().DurationVar(&ttl, "ttl", auth.DefaultTokenTTL, "how long the token is valid (0: forever)")
	create.Flags().StringVar(&description, "description", "", "a note kept with the token")
	create.Flags().BoolVar(&printJoin, "print-join-command", false, "print the drydock node command that uses the token")

	list := &cobra.Command{
		Use:   "list",
		Short: "List bootstrap tokens (ids and expiry; secrets are not shown)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tokens, err := auth.NewTokenStore(dataDir).List()
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tEXPIRES\tDESCRIPTION")
			for _, t := range tokens {
				exp := "<forever>"
				if !t.Expires.IsZero() {
					exp = t.Expires.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\n", t.ID, exp, t.Description)
			}
			return w.Flush()
		},
	}
	del := &cobra.Command{
		Use:   "delete ID|TOKEN",
		Short: "Delete a bootstrap token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := auth.NewTokenStore(dataDir).Delete(args[0]); err != nil {
				return badInput(err)
			}
			return nil
		},
	}
	cmd.AddCommand(create, list, del)
	return cmd
}

// tokenPlaceholder stands for the token in joinCommand's result.
const tokenPlaceholder = "<token>"

// joinCommand is the drydock node command line for the server in dataDir,
// with tokenPlaceholder where the token goes (not a format verb: the server
// URL may hold a '%').
func joinCommand(dataDir string) (string, error) {
	kc, err := clientcmd.LoadFromFile(filepath.Join(dataDir, server.AdminKubeconfigFile))
	if err != nil {
		return "", fmt.Errorf("--print-join-command needs the admin kubeconfig: %w", err)
	}
	ctx, ok := kc.Contexts[kc.CurrentContext]
	if !ok {
		return "", fmt.Errorf("admin kubeconfig has no current context")
	}
	cl, ok := kc.Clusters[ctx.Cluster]
	if !ok {
		return "", fmt.Errorf("admin kubeconfig has no cluster %q", ctx.Cluster)
	}
	ca, _, err := auth.ReadCertFile(filepath.Join(dataDir, server.PKIDir, auth.CACertFile))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("drydock-node --server %s --token %s --ca-cert-hash %s --name NODE", cl.Server, tokenPlaceholder, auth.CertHash(ca)), nil
}
