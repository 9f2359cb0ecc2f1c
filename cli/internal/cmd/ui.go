package cmd

import (
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferrycd/ferry/cli/internal/ui"
)

func init() { Register(newUI) }

// uiOptions are the flags of `ferry ui`. --context is its own, repeatable
// flag here: each context given is one cluster of the UI.
type uiOptions struct {
	addr        string
	allowRemote bool
	contexts    []string
}

func newUI(g *Globals) *cobra.Command {
	o := &uiOptions{}
	c := &cobra.Command{
		Use:   "ui",
		Short: "Serve the web UI on loopback, acting with your kubeconfig",
		Long: `Serve the web UI: every source, Kustomization and HelmRelease you may see,
failing first, with a page per object (conditions, events, history, inventory
tree, dependsOn graph, diff against Git) and buttons to reconcile, suspend and
resume. It acts with your kubeconfig only, listens on loopback, and needs
nothing installed in the cluster. Give --context more than once to see several
clusters side by side.`,
		Example: "  ferry ui\n  ferry ui --context prod --context staging\n  ferry ui -n team-a",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := ui.CheckAddr(o.addr, o.allowRemote); err != nil {
				return err
			}
			targets, err := uiTargets(g, o.contexts)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return ui.Serve(ctx, ui.Options{Addr: o.addr, AllowRemote: o.allowRemote, Targets: targets}, func(addr string) {
				fmt.Fprintf(g.IO.Out, "Ferry UI on http://%s/ (Ctrl-C to stop)\n", addr)
			})
		},
	}
	c.Flags().StringVar(&o.addr, "addr", "127.0.0.1:9080", "address to listen on (loopback unless --allow-remote)")
	c.Flags().BoolVar(&o.allowRemote, "allow-remote", false, "allow a non-loopback --addr: anyone who reaches it acts with your credentials")
	c.Flags().StringArrayVar(&o.contexts, "context", nil, "kubeconfig context to show; repeat for several clusters (default: the current context)")
	return c
}

// uiTargets resolves each context to a REST config and the namespaces to
// fall back to when the user may not list across the cluster: the
// context's namespace and -n.
func uiTargets(g *Globals, contexts []string) ([]ui.Target, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if g.Kube.KubeConfig != nil && *g.Kube.KubeConfig != "" {
		rules.ExplicitPath = *g.Kube.KubeConfig
	}
	explicitNS := ""
	if g.Kube.Namespace != nil {
		explicitNS = *g.Kube.Namespace
	}
	if len(contexts) == 0 {
		contexts = []string{""}
	}
	var out []ui.Target
	for _, name := range contexts {
		cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: name})
		cfg, err := cc.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("context %q: %w", name, err)
		}
		if name == "" {
			raw, err := cc.RawConfig()
			if err != nil {
				return nil, err
			}
			name = raw.CurrentContext
		}
		ctxNS, _, err := cc.Namespace()
		if err != nil {
			return nil, err
		}
		nss := []string{ctxNS}
		if explicitNS != "" && explicitNS != ctxNS {
			nss = append([]string{explicitNS}, nss...)
		}
		out = append(out, ui.Target{Name: name, Config: cfg, Namespaces: nss})
	}
	return out, nil
}
