package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/spf13/cobra"

	"github.com/drydock-sim/drydock/real/images"
	"github.com/drydock-sim/drydock/real/node"
)

func newImageCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage the container images of a node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return badInput(fmt.Errorf("image: a subcommand is required (import)"))
		},
	}
	var address, namespace string
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Load an OCI or Docker image tarball into the node's containerd namespace",
		Long: `Load the images of an OCI image layout tarball (or a 'docker save' tarball) into
containerd, in the namespace the node agent runs pods in, and unpack them, so
that pods can use them without a registry. Image names are normalised as
Kubernetes does: "nginx:1.27" is docker.io/library/nginx:1.27.`,
		Example: `  drydock image import nginx.tar
  drydock image import --containerd-namespace drydock-n1 app.tar`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return badInput(err)
			}
			defer f.Close()
			c, err := client.New(address)
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("containerd at %s: %w", address, err)}
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			imgs, err := images.Import(ctx, c, namespace, f)
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("%s: %w", args[0], err)}
			}
			for _, img := range imgs {
				fmt.Fprintf(cmd.OutOrStdout(), "imported %s %s\n", img.Name, img.Digest)
			}
			return nil
		},
	}
	imp.Flags().StringVar(&address, "containerd-address", node.DefaultContainerdAddress, "containerd socket")
	imp.Flags().StringVar(&namespace, "containerd-namespace", "drydock", "containerd namespace (the node agent's --containerd-namespace)")
	cmd.AddCommand(imp)
	return cmd
}
