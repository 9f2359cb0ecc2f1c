package cmd

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/cli/internal/objects"
)

func init() { Register(newGet) }

func newGet(g *Globals) *cobra.Command {
	var output, selector string
	c := &cobra.Command{
		Use:   "get [all|sources|ks|hr|<kind>] [NAME]",
		Short: "List sources, Kustomizations and HelmReleases with their status, failing first",
		Long: `List Flux objects as one table: failing objects first, then those in progress,
then the ready ones. "sources <kind>" narrows to one source kind, as in flux get.`,
		Example: `  ferry get
  ferry get ks -A --status-selector ready=false
  ferry get sources git podinfo -o yaml`,
		Args: cobra.MaximumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			sel, err := objects.ParseSelector(selector)
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			kinds, name, err := getArgs(args)
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			cl, err := g.Clients()
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			res := objects.List(cmd.Context(), cl.Client, g.ListNamespace(cl), kinds)
			for _, e := range res.Errors {
				fmt.Fprintln(g.IO.ErrOut, "warning:", e.Error())
			}
			items := sel.Filter(res.Items)
			if name != "" {
				items = filterName(items, name)
				if len(items) == 0 && len(res.Errors) == 0 {
					return WithExitCode(ExitError, fmt.Errorf("no %s named %q in %s", kindWord(args), name, nsWord(g.ListNamespace(cl))))
				}
			}
			if len(res.Errors) > 0 && len(res.Items) == 0 {
				return WithExitCode(ExitError, fmt.Errorf("nothing could be listed: %w", res.Errors[0]))
			}
			if output == "" || output == "table" {
				if len(items) == 0 {
					fmt.Fprintf(g.IO.ErrOut, "no objects found in %s\n", nsWord(g.ListNamespace(cl)))
					return nil
				}
				return objects.PrintTable(g.IO.Out, items, g.AllNamespaces, time.Now())
			}
			if items == nil {
				items = []objects.Summary{}
			}
			return printData(g.IO.Out, output, items)
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or yaml")
	c.Flags().StringVar(&selector, "status-selector", "", "show only objects in this state, e.g. ready=false or suspended=true")
	return c
}

// getArgs reads [group-or-kind] [kind] [NAME].
func getArgs(args []string) ([]objects.Kind, string, error) {
	if len(args) == 0 {
		return objects.Kinds, "", nil
	}
	kinds, err := objects.Resolve(args[0])
	if err != nil {
		return nil, "", err
	}
	rest := args[1:]
	if strings.EqualFold(args[0], objects.GroupSources) || strings.EqualFold(args[0], "source") {
		if len(rest) > 0 {
			if k, err := objects.Lookup(rest[0]); err == nil && k.Source {
				kinds, rest = []objects.Kind{k}, rest[1:]
			}
		}
	}
	switch len(rest) {
	case 0:
		return kinds, "", nil
	case 1:
		return kinds, rest[0], nil
	}
	return nil, "", fmt.Errorf("too many arguments: want [all|sources|ks|hr|<kind>] [NAME]")
}

func filterName(items []objects.Summary, name string) []objects.Summary {
	var out []objects.Summary
	for _, s := range items {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func kindWord(args []string) string {
	if len(args) > 1 {
		return strings.Join(args[:len(args)-1], " ")
	}
	return "object"
}

func nsWord(ns string) string {
	if ns == "" {
		return "any namespace"
	}
	return "namespace " + ns
}
