// Command helm-controller installs, upgrades, tests, rolls back and uninstalls HelmReleases.
package main

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/ferrycd/ferry/helm-controller/internal/controller"
	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/pkg/options"
)

func main() {
	var (
		opts  options.Options
		extra controller.Options
	)
	manager.ParseFlags(&opts, extra.BindFlags)

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(helmv2.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	manager.Run("helm-controller", opts, scheme, func(s *manager.Setup) error {
		return controller.Setup(context.Background(), s, extra, opts.Concurrent)
	})
}
