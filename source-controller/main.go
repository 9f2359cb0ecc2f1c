// Command source-controller fetches GitRepository, HelmRepository, HelmChart
// and OCIRepository sources and serves each revision as an artifact, and
// generates ExternalArtifacts from them with ArtifactGenerators.
package main

import (
	"context"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	sourceextv1 "github.com/ferrycd/ferry/pkg/apis/sourceext/v1beta1"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/pkg/options"
	"github.com/ferrycd/ferry/source-controller/internal/controller"
)

func main() {
	var (
		opts    options.Options
		storage controller.StorageOptions
		limits  controller.HelmLimits
	)
	manager.ParseFlags(&opts, func(fs *pflag.FlagSet) { storage.BindFlags(fs); limits.BindFlags(fs) })
	limits.Apply()

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(sourceextv1.AddToScheme(scheme))

	manager.Run(manager.Controller{
		Name:   "source-controller",
		Scheme: scheme,
		Reconciled: []client.Object{
			&sourcev1.GitRepository{}, &sourcev1.HelmRepository{}, &sourcev1.HelmChart{}, &sourcev1.OCIRepository{},
			&sourceextv1.ArtifactGenerator{},
		},
		// Artifacts live on the leader's disk only; its Service selects the
		// Pod this label marks (see config/manager/source-controller).
		LabelLeaderPod: true,
	}, opts, func(s *manager.Setup) error {
		return controller.Setup(context.Background(), s, storage, opts.Concurrent)
	})
}
