package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/cli/internal/check"
)

func init() { Register(newCheck) }

func newCheck(g *Globals) *cobra.Command {
	var namespace, output string
	c := &cobra.Command{
		Use:   "check",
		Short: "Check the CRDs are installed and the controllers are running and ready",
		Long: `Check the Flux CRDs and the versions they serve, and the controllers' Deployments
(in ferry-system, else flux-system, or --controllers-namespace). Exits 0 when all is well,
1 when something needs fixing, 2 when the check could not run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := g.Clients()
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			r, err := check.Run(cmd.Context(), cl.Client, namespace)
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			if output != "" && output != "table" {
				if err := printData(g.IO.Out, output, r); err != nil {
					return WithExitCode(ExitError, err)
				}
			} else {
				printCheck(g, r)
			}
			if len(r.Problems) > 0 {
				return WithExitCode(ExitChanges, fmt.Errorf("%d problem(s) found", len(r.Problems)))
			}
			return nil
		},
	}
	c.Flags().StringVar(&namespace, "controllers-namespace", "", "where the controllers run (default: ferry-system, else flux-system)")
	c.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or yaml")
	return c
}

func printCheck(g *Globals, r *check.Report) {
	mark := func(ok bool) string {
		if ok {
			return "✔"
		}
		return "✗"
	}
	fmt.Fprintln(g.IO.Out, "CRDs:")
	for _, c := range r.CRDs {
		fmt.Fprintf(g.IO.Out, "  %s %s (served %s, stored %s)\n", mark(c.OK), c.Name, strings.Join(c.Served, ","), c.Storage)
	}
	fmt.Fprintln(g.IO.Out, "controllers:")
	for _, c := range r.Controllers {
		if !c.Found {
			fmt.Fprintf(g.IO.Out, "  ✗ %s not found\n", c.Name)
			continue
		}
		fmt.Fprintf(g.IO.Out, "  %s %s/%s %d/%d ready %s\n", mark(c.OK), c.Namespace, c.Name, c.Ready, c.Desired, c.Image)
	}
	for _, p := range r.Problems {
		fmt.Fprintln(g.IO.Out, "problem:", p)
	}
}
