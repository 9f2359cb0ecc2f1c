// Package controller registers the kustomize-controller's reconcilers.
package controller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/ferrycd/ferry/kustomize-controller/internal/controller/kustomization"
	"github.com/ferrycd/ferry/kustomize-controller/internal/controller/syncwindow"
	"github.com/ferrycd/ferry/pkg/artifact/fetch"
	"github.com/ferrycd/ferry/pkg/kubeclient"
	"github.com/ferrycd/ferry/pkg/manager"
)

// Options are the kustomize-controller's own flags, with Flux's names.
type Options struct {
	NoCrossNamespaceRefs   bool
	NoRemoteBases          bool
	DefaultServiceAccount  string
	InsecureKubeConfigExec bool
	// CacheDir holds extracted artifacts, keyed by digest.
	CacheDir string
	// Limits bound each build (--max-build-size, --max-build-objects).
	Limits kustomization.BuildLimits
}

// Default build limits. The object cap keeps status.inventory (about 100
// bytes an entry) well inside the 1.5 MiB etcd allows an object, so the
// status patch that records an apply cannot fail after the apply; the size
// cap is far above real manifest sets (the largest common CRD bundles are a
// few MiB) and below the size at which kustomize's in-memory model of the
// input needs a GiB (see docs/bounds.md).
const (
	DefaultMaxBuildSize    int64 = 32 << 20
	DefaultMaxBuildObjects       = 5000
)

// BindFlags registers the options.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.NoCrossNamespaceRefs, "no-cross-namespace-refs", false,
		"When set to true, references between custom resources are allowed only if the reference and the referee are in the same namespace.")
	fs.BoolVar(&o.NoRemoteBases, "no-remote-bases", false,
		"Disallow remote bases usage in Kustomize overlays. When this flag is enabled, all resources must refer to local files included in the source artifact.")
	fs.StringVar(&o.DefaultServiceAccount, "default-service-account", "",
		"Default service account used for impersonation.")
	fs.BoolVar(&o.InsecureKubeConfigExec, "insecure-kubeconfig-exec", false,
		"Allow use of the user.exec section in kubeconfigs provided for remote apply.")
	fs.Int64Var(&o.Limits.MaxReadBytes, "max-build-size", DefaultMaxBuildSize,
		"The most bytes of manifests one Kustomization's build may read from its artifact; a build over it is refused and nothing is applied or pruned. 0 means no limit.")
	fs.IntVar(&o.Limits.MaxObjects, "max-build-objects", DefaultMaxBuildObjects,
		"The most objects one Kustomization's build may produce; a build over it is refused and nothing is applied or pruned. 0 means no limit.")
	fs.StringVar(&o.CacheDir, "artifact-cache-path", filepath.Join(os.TempDir(), "kustomize-controller-artifacts"),
		"Where fetched source artifacts are extracted and cached by digest.")
}

// Setup registers the Kustomization and SyncWindow reconcilers.
func Setup(ctx context.Context, s *manager.Setup, opts Options, concurrent int) error {
	mgr := s.Manager
	fetcher, err := fetch.New(opts.CacheDir, fetch.WithMaxEntries(4*concurrent+64))
	if err != nil {
		return fmt.Errorf("unable to create the artifact cache at %s: %w", opts.CacheDir, err)
	}
	clients := kubeclient.NewFactory(mgr.GetConfig(), mgr.GetScheme(), mgr.GetRESTMapper())
	clients.DefaultServiceAccount = opts.DefaultServiceAccount
	clients.AllowExec = opts.InsecureKubeConfigExec

	r := &kustomization.Reconciler{
		Client:               mgr.GetClient(),
		Finisher:             s.Finisher(kustomization.OwnedConditions...),
		Fetcher:              fetcher,
		Clients:              clients,
		Concurrent:           concurrent,
		NoCrossNamespaceRefs: opts.NoCrossNamespaceRefs,
		NoRemoteBases:        opts.NoRemoteBases,
		Limits:               opts.Limits,
	}
	if err := r.SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	windows := &syncwindow.Reconciler{Client: mgr.GetClient(), Finisher: s.Finisher()}
	return windows.SetupWithManager(mgr)
}
