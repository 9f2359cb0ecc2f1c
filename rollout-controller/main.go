// Command rollout-controller rolls Rollouts out by canary steps or
// blue-green and runs the AnalysisRuns that gate them.
package main

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/pkg/options"
	"github.com/ferrycd/ferry/rollout-controller/internal/controller"
)

func main() {
	var (
		opts  options.Options
		extra controller.Options
	)
	manager.ParseFlags(&opts, extra.BindFlags)

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	manager.Run(manager.Controller{
		Name:       "rollout-controller",
		Scheme:     scheme,
		Reconciled: []client.Object{&v1alpha1.Rollout{}, &v1alpha1.AnalysisRun{}},
	}, opts, func(s *manager.Setup) error {
		return controller.Setup(context.Background(), s, extra, opts.Concurrent)
	})
}
