package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/cli/internal/objects"
	"github.com/ferrycd/ferry/cli/internal/rollouts"
)

func init() { Register(newRollout) }

func newRollout(g *Globals) *cobra.Command {
	c := &cobra.Command{
		Use:     "rollout",
		Aliases: []string{"rollouts", "ro"},
		Short:   "Show and drive Rollouts as kubectl argo rollouts does",
		Long: `Show a Rollout with its steps, ReplicaSets and analysis, and promote, abort, retry,
pause or resume it with the same writes as Argo Rollouts' kubectl plugin, so either
tool works on the same objects. Every write is made with your own kubeconfig: promote,
abort and retry patch rollouts/status, pause and resume patch rollouts.`,
		Example: `  ferry rollout get web
  ferry rollout promote web
  ferry rollout promote web --full
  ferry rollout abort web
  ferry rollout retry rollout web`,
	}
	var output string
	var watch bool
	var timeout time.Duration
	get := &cobra.Command{
		Use:   "get [rollout] NAME",
		Short: "Show a rollout: status, step N/M, weights, images, ReplicaSets and AnalysisRuns",
		Long: `Show a rollout as kubectl argo rollouts get rollout does. With -w it is shown again
on every change (the screen is redrawn on a terminal) until interrupted or --timeout passes.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := rolloutName(args)
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			cl, err := g.Clients()
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			show := func(info rollouts.Info) error {
				if output == "" || output == "table" {
					now := time.Now()
					return rollouts.Print(g.IO.Out, info, func(t time.Time) string { return objects.Age(t, now) })
				}
				return printData(g.IO.Out, output, info)
			}
			if !watch {
				info, err := rollouts.Get(cmd.Context(), cl.Client, cl.Namespace, name)
				if err == nil {
					err = show(info)
				}
				if err != nil {
					return WithExitCode(ExitError, err)
				}
				return nil
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			first := true
			err = rollouts.Watch(ctx, cl.Client, cl.Namespace, name, time.Second, func(info rollouts.Info) error {
				switch {
				case g.color():
					fmt.Fprint(g.IO.Out, "\033[H\033[2J")
				case !first:
					fmt.Fprintln(g.IO.Out, "---")
				}
				first = false
				return show(info)
			})
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			return nil
		},
	}
	get.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or yaml")
	get.Flags().BoolVarP(&watch, "watch", "w", false, "show the rollout again on every change")
	get.Flags().DurationVar(&timeout, "timeout", 0, "with -w, stop watching after this long (0: until interrupted)")
	var full bool
	promote := g.rolloutWrite("promote", "Promote a rollout paused at a step or before blue-green promotion; --full skips every remaining step",
		func(ctx context.Context, c client.Client, ns, name string) (rollouts.Result, error) {
			return rollouts.Promote(ctx, c, ns, name, full)
		})
	promote.Flags().BoolVar(&full, "full", false, "skip the remaining steps, pauses and analyses (status.promoteFull)")
	c.AddCommand(get, promote,
		g.rolloutWrite("abort", "Abort a rollout: the canary is scaled down and all traffic goes back to stable (status.abort)", rollouts.Abort),
		g.rolloutWrite("retry", "Retry an aborted rollout from its first step (clears status.abort)", rollouts.Retry),
		g.rolloutWrite("pause", "Pause a rollout where it is (spec.paused)", rollouts.Pause),
		g.rolloutWrite("resume", "Resume a paused rollout (clears spec.paused)", rollouts.Resume))
	return c
}

// rolloutWrite is a verb that makes one write to the named rollout and
// prints the plugin's line ("rollout 'web' aborted").
func (g *Globals) rolloutWrite(verb, short string, write func(context.Context, client.Client, string, string) (rollouts.Result, error)) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " [rollout] NAME",
		Short: short,
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := rolloutName(args)
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			cl, err := g.Clients()
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			res, err := write(cmd.Context(), cl.Client, cl.Namespace, name)
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			fmt.Fprintf(g.IO.Out, "✔ %s\n", res)
			return nil
		},
	}
}

// rolloutName reads NAME or "rollout NAME" (the plugin's `get rollout
// NAME` and `retry rollout NAME`).
func rolloutName(args []string) (string, error) {
	if len(args) == 2 {
		k, err := objects.Lookup(args[0])
		if err != nil || k.Kind != objects.Rollout.Kind {
			return "", fmt.Errorf("want [rollout] NAME, got %s", strings.Join(args, " "))
		}
		return args[1], nil
	}
	return args[0], nil
}
