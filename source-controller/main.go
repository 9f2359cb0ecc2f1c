// Command source-controller fetches GitRepository, HelmRepository, HelmChart
// and OCIRepository sources and serves each revision as an artifact.
package main

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/pkg/options"
	"github.com/ferrycd/ferry/source-controller/internal/controller"
)

func main() {
	var (
		opts    options.Options
		storage controller.StorageOptions
	)
	manager.ParseFlags(&opts, storage.BindFlags)

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))

	manager.Run("source-controller", opts, scheme, func(s *manager.Setup) error {
		return controller.Setup(context.Background(), s, storage, opts.Concurrent)
	})
}
