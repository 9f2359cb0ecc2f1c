package cmd

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/cli/internal/actions"
	"github.com/ferrycd/ferry/cli/internal/objects"
)

func init() {
	Register(newReconcile)
	Register(func(g *Globals) *cobra.Command { return newSuspend(g, true) })
	Register(func(g *Globals) *cobra.Command { return newSuspend(g, false) })
}

// actionResult turns the outcome of a wait into the exit code: 0 when the
// object ended Ready, 1 when it ended not Ready, 2 when the request or the
// wait failed.
func (g *Globals) actionResult(s objects.Summary, err error) error {
	if err == nil {
		fmt.Fprintf(g.IO.Out, "✔ %s/%s ready: %s\n", s.Kind, s.Name, s.Message)
		if s.Revision != "" {
			fmt.Fprintf(g.IO.Out, "  revision %s\n", s.Revision)
		}
		return nil
	}
	if errors.Is(err, actions.ErrNotReady) {
		return WithExitCode(ExitChanges, fmt.Errorf("✗ %s/%s ended not ready (%s): %s; see `ferry events %s %s`",
			s.Kind, s.Name, s.Reason, s.Message, s.Kind, s.Name))
	}
	return WithExitCode(ExitError, err)
}

func newReconcile(g *Globals) *cobra.Command {
	var withSource, force bool
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "reconcile ks|hr|source <kind> NAME",
		Short: "Request a reconcile now and wait for its outcome",
		Long: `Request a reconcile (reconcile.fluxcd.io/requestedAt) and wait until the controller
has handled it (status.lastHandledReconcileAt). Exits 0 when the object ends Ready, 1 when
it ends not Ready, 2 when the request could not be made or was not handled in time.

--force on a HelmRelease sets Flux's reconcile.fluxcd.io/forceAt (an upgrade even without
a change); on a Kustomization it makes Ferry's kustomize-controller apply once with force
(objects whose immutable fields changed are recreated), as argocd app sync --force does.`,
		Example: `  ferry reconcile ks apps --with-source
  ferry reconcile hr web --force
  ferry reconcile source git fleet`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ref, err := g.target(args)
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			if force && ref.Kind.Source {
				return WithExitCode(ExitError, fmt.Errorf("--force applies to ks and hr only"))
			}
			if withSource && ref.Kind.Source {
				return WithExitCode(ExitError, fmt.Errorf("--with-source applies to ks and hr only"))
			}
			return g.actionResult(actions.Reconcile(cmd.Context(), cl.Client, ref, actions.Options{
				WithSource: withSource, Force: force, Timeout: timeout, Progress: g.progress,
			}))
		},
	}
	c.Flags().BoolVar(&withSource, "with-source", false, "reconcile the source first and wait for it")
	c.Flags().BoolVar(&force, "force", false, "hr: force an upgrade (forceAt); ks: apply once recreating objects on immutable-field conflicts")
	c.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for each reconcile")
	return c
}

func newSuspend(g *Globals, suspend bool) *cobra.Command {
	verb, short := "suspend", "Stop reconciling an object until it is resumed"
	if !suspend {
		verb, short = "resume", "Resume reconciling an object and wait for the reconcile"
	}
	var timeout time.Duration
	c := &cobra.Command{
		Use:   verb + " <kind> NAME",
		Short: short,
		Example: fmt.Sprintf(`  ferry %s ks apps
  ferry %s source git fleet`, verb, verb),
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ref, err := g.target(args)
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			if !suspend {
				return g.actionResult(actions.Resume(cmd.Context(), cl.Client, ref, actions.Options{
					Timeout: timeout, Progress: g.progress,
				}))
			}
			if err := actions.SetSuspend(cmd.Context(), cl.Client, ref, true); err != nil {
				return WithExitCode(ExitError, err)
			}
			fmt.Fprintf(g.IO.Out, "✔ %s/%s suspended\n", ref.Kind.Kind, ref.Name)
			return nil
		},
	}
	if !suspend {
		c.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the reconcile")
	}
	return c
}
