// Package controller registers the helm-controller's reconcilers.
package controller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/ferrycd/ferry/pkg/artifact/fetch"
	"github.com/ferrycd/ferry/pkg/kubeclient"
	"github.com/ferrycd/ferry/pkg/manager"

	"github.com/ferrycd/ferry/helm-controller/internal/action"
	"github.com/ferrycd/ferry/helm-controller/internal/controller/helmrelease"
)

// Options are the helm-controller's own flags, with Flux's names.
type Options struct {
	NoCrossNamespaceRefs   bool
	DefaultServiceAccount  string
	InsecureKubeConfigExec bool
	// CacheDir holds fetched chart artifacts, keyed by digest.
	CacheDir string
}

// BindFlags registers the options.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.NoCrossNamespaceRefs, "no-cross-namespace-refs", false,
		"When set to true, references between custom resources are allowed only if the reference and the referee are in the same namespace.")
	fs.StringVar(&o.DefaultServiceAccount, "default-service-account", "",
		"Default service account used for impersonation.")
	fs.BoolVar(&o.InsecureKubeConfigExec, "insecure-kubeconfig-exec", false,
		"Allow use of the user.exec section in kubeconfigs provided for remote apply.")
	fs.StringVar(&o.CacheDir, "artifact-cache-path", filepath.Join(os.TempDir(), "helm-controller-artifacts"),
		"Where fetched chart artifacts are cached by digest.")
}

// Setup registers the HelmRelease reconciler.
func Setup(ctx context.Context, s *manager.Setup, opts Options, concurrent int) error {
	mgr := s.Manager
	fetcher, err := fetch.New(opts.CacheDir, fetch.WithMaxEntries(4*concurrent+64))
	if err != nil {
		return fmt.Errorf("unable to create the artifact cache at %s: %w", opts.CacheDir, err)
	}
	clients := kubeclient.NewFactory(mgr.GetConfig(), mgr.GetScheme(), mgr.GetRESTMapper())
	clients.DefaultServiceAccount = opts.DefaultServiceAccount
	clients.AllowExec = opts.InsecureKubeConfigExec
	configs, err := action.NewLocalConfigs(ctx, mgr)
	if err != nil {
		return err
	}
	clients.OnEvict = configs.Forget

	r := &helmrelease.Reconciler{
		Client:               mgr.GetClient(),
		Finisher:             s.Finisher(helmrelease.OwnedConditions...),
		Fetcher:              fetcher,
		Clients:              clients,
		Configs:              configs,
		Concurrent:           concurrent,
		NoCrossNamespaceRefs: opts.NoCrossNamespaceRefs,
	}
	return r.SetupWithManager(ctx, mgr)
}
