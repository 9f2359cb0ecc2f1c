package cmd

import (
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ferrycd/ferry/cli/internal/events"
)

func init() { Register(newEvents) }

func newEvents(g *Globals) *cobra.Command {
	var watch bool
	c := &cobra.Command{
		Use:   "events [<kind> NAME]",
		Short: "Show the events of Flux objects, oldest first",
		Example: `  ferry events -A
  ferry events ks apps --watch
  ferry events source git fleet`,
		Args: cobra.MaximumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := g.Clients()
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			f := events.Filter{Namespace: g.ListNamespace(cl)}
			if len(args) > 0 {
				if f.Kind, f.Name, err = kindAndName(args); err != nil {
					return WithExitCode(ExitError, err)
				}
			}
			cs, err := kubernetes.NewForConfig(cl.Config)
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			list, rv, err := events.List(cmd.Context(), cs, f)
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			p := events.NewPrinter(g.IO.Out, g.AllNamespaces)
			for i := range list {
				p.Print(&list[i], time.Now())
			}
			if err := p.Flush(); err != nil {
				return WithExitCode(ExitError, err)
			}
			if !watch {
				return nil
			}
			err = events.Watch(cmd.Context(), cs, f, rv, func(e *corev1.Event) error {
				p.Print(e, time.Now())
				return p.Flush()
			})
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&watch, "watch", "w", false, "keep printing new events")
	return c
}
