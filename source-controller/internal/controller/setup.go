// Package controller registers the source-controller's reconcilers and its
// artifact server.
package controller

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"
	ctrl "sigs.k8s.io/controller-runtime"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/fetch"
	"github.com/ferrycd/ferry/pkg/artifact/server"
	"github.com/ferrycd/ferry/pkg/artifact/storage"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/source-controller/internal/controller/artifactgenerator"
	"github.com/ferrycd/ferry/source-controller/internal/controller/gitrepository"
	"github.com/ferrycd/ferry/source-controller/internal/controller/helmchart"
	"github.com/ferrycd/ferry/source-controller/internal/controller/helmrepository"
	"github.com/ferrycd/ferry/source-controller/internal/controller/ocirepository"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
)

// StorageOptions say where artifacts are kept and how they are served.
type StorageOptions struct {
	// Path is the directory artifacts are stored in.
	Path string
	// Addr is where the artifact file server listens.
	Addr string
	// AdvAddr is the host:port written into artifact URLs, for consumers.
	AdvAddr string
	// Retention is how many artifacts to keep per object.
	Retention int
	// NoCrossNamespaceRefs stalls ArtifactGenerators that name a source in
	// another namespace, the lockdown the other controllers' flag of the
	// same name gives their kinds.
	NoCrossNamespaceRefs bool
}

// BindFlags registers the storage flags with Flux's names and defaults.
func (o *StorageOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Path, "storage-path", "/data",
		"The local storage path.")
	fs.StringVar(&o.Addr, "storage-addr", ":9090",
		"The address the static file server binds to.")
	fs.StringVar(&o.AdvAddr, "storage-adv-addr", "",
		"The advertised address of the static file server.")
	fs.IntVar(&o.Retention, "artifact-retention-records", 2,
		"The maximum number of artifacts to be kept in storage per object.")
	fs.BoolVar(&o.NoCrossNamespaceRefs, "no-cross-namespace-refs", false,
		"When set to true, references between ArtifactGenerators and sources in different namespaces are refused.")
}

// advertisedAddr defaults the advertised address to the host name and the
// port the server listens on, as Flux does.
func (o StorageOptions) advertisedAddr() (string, error) {
	if o.AdvAddr != "" {
		return o.AdvAddr, nil
	}
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return "", fmt.Errorf("invalid --storage-addr: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		if host, err = os.Hostname(); err != nil {
			return "", err
		}
	}
	return net.JoinHostPort(host, port), nil
}

// indexCacheSize is how many parsed Helm repository indexes are kept in
// memory for HelmCharts. Parsing is fast (see internal/helm), so the cache
// only spares repeated work for charts of the same few repositories.
const indexCacheSize = 16

// Setup registers the artifact server and a reconciler for each source kind.
func Setup(ctx context.Context, s *manager.Setup, opts StorageOptions, concurrent int) error {
	adv, err := opts.advertisedAddr()
	if err != nil {
		return err
	}
	store, err := storage.New(opts.Path, adv, opts.Retention)
	if err != nil {
		return fmt.Errorf("unable to initialise storage at %s: %w", opts.Path, err)
	}
	mgr := s.Manager
	if err := mgr.Add(&server.Server{Addr: opts.Addr, BasePath: opts.Path}); err != nil {
		return err
	}
	finisher := s.Finisher(
		sourcev1.ArtifactInStorageCondition, sourcev1.ArtifactOutdatedCondition, sourcev1.FetchFailedCondition,
		sourcev1.IncludeUnavailableCondition, sourcev1.StorageOperationFailedCondition, sourcev1.SourceVerifiedCondition,
		sourcev1.BuildFailedCondition,
	)
	c := mgr.GetClient()
	indexes := helm.NewIndexCache(indexCacheSize)
	charts, err := helmchart.NewChartCache(store)
	if err != nil {
		return err
	}
	// The generator downloads its sources' artifacts like any consumer, so
	// it reads ExternalArtifacts of other producers too; the cache lives
	// outside the served storage.
	fetcher, err := fetch.New(filepath.Join(os.TempDir(), "artifactgenerator-cache"))
	if err != nil {
		return err
	}
	reconcilers := []interface {
		SetupWithManager(context.Context, ctrl.Manager) error
	}{
		&gitrepository.Reconciler{Client: c, Finisher: finisher, Storage: store, Concurrent: concurrent},
		&helmrepository.Reconciler{Client: c, Finisher: finisher, Storage: store, Indexes: indexes, Concurrent: concurrent},
		&helmchart.Reconciler{Client: c, Finisher: finisher, Storage: store, Indexes: indexes, Charts: charts, Concurrent: concurrent},
		&ocirepository.Reconciler{Client: c, Finisher: finisher, Storage: store, Concurrent: concurrent},
		&artifactgenerator.Reconciler{Client: c, Finisher: finisher, Storage: store, Fetcher: fetcher, Concurrent: concurrent,
			NoCrossNamespaceRefs: opts.NoCrossNamespaceRefs},
	}
	for _, r := range reconcilers {
		if err := r.SetupWithManager(ctx, mgr); err != nil {
			return err
		}
	}
	return nil
}
