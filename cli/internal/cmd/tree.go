package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/ferrycd/ferry/cli/internal/objects"
	"github.com/ferrycd/ferry/cli/internal/tree"
)

func init() { Register(newTree) }

func newTree(g *Globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "tree ks|hr NAME",
		Short: "Show what a Kustomization or HelmRelease manages, with each object's health",
		Long: `Show the inventory of a Kustomization (or the objects of a HelmRelease's current
release) as a tree that descends into the Kustomizations and HelmReleases it created, each
object with its kstatus health: Current, InProgress, Failed or NotFound.`,
		Example: `  ferry tree ks flux-system -n flux-system
  ferry tree hr podinfo -o json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := objects.Lookup(args[0])
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			if k.Kind != objects.Kustomization.Kind && k.Kind != objects.HelmRelease.Kind {
				return WithExitCode(ExitError, fmt.Errorf("tree takes ks or hr, not %s", args[0]))
			}
			cl, err := g.Clients()
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			cs, err := kubernetes.NewForConfig(cl.Config)
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			w := &tree.Walker{Client: cl.Client, Kube: cs}
			root, err := w.Walk(cmd.Context(), k, cl.Namespace, args[1])
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			if output == "" || output == "tree" {
				return tree.Print(g.IO.Out, root)
			}
			return printData(g.IO.Out, output, root)
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "tree", "output format: tree, json or yaml")
	return c
}
