// Package controller registers the rollout-controller's reconcilers.
package controller

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/rollout-controller/internal/controller/analysisrun"
	"github.com/ferrycd/ferry/rollout-controller/internal/controller/rollout"
	"github.com/ferrycd/ferry/rollout-controller/internal/trafficrouting/gatewayapi"
)

// Options are the rollout-controller's own flags.
type Options struct {
	// NoCrossNamespaceRefs refuses references into other namespaces (a
	// traffic router's HTTPRoute in another namespace).
	NoCrossNamespaceRefs bool
}

// BindFlags registers the options.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.NoCrossNamespaceRefs, "no-cross-namespace-refs", false,
		"When set to true, references between custom resources are allowed only if the reference and the referee are in the same namespace.")
}

// Setup registers the AnalysisRun and Rollout reconcilers, each running
// concurrent reconciles at once (--concurrent).
func Setup(ctx context.Context, s *manager.Setup, opts Options, concurrent int) error {
	ar := &analysisrun.Reconciler{Client: s.Manager.GetClient(), APIReader: s.Manager.GetAPIReader(),
		Finisher: s.Finisher(analysisrun.OwnedConditions...), Concurrent: concurrent}
	if err := ar.SetupWithManager(ctx, s.Manager); err != nil {
		return err
	}
	r := &rollout.Reconciler{
		Client:     s.Manager.GetClient(),
		APIReader:  s.Manager.GetAPIReader(),
		Finisher:   s.Finisher(rollout.OwnedConditions...),
		Concurrent: concurrent,
	}
	r.Analysis = &rollout.Analysis{Client: r.Client, APIReader: r.APIReader, Finisher: &r.Finisher}
	routes, err := gatewayapi.NewClient(s.Manager.GetConfig(), s.Manager.GetHTTPClient(), s.Manager.GetRESTMapper())
	if err != nil {
		return err
	}
	r.Traffic = &gatewayapi.Router{Client: routes, NoCrossNamespaceRefs: opts.NoCrossNamespaceRefs}
	return r.SetupWithManager(ctx, s.Manager)
}
