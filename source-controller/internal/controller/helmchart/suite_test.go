package helmchart

import (
	"context"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/storage"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/source-controller/internal/controller/gitrepository"
	"github.com/ferrycd/ferry/source-controller/internal/controller/helmrepository"
	"github.com/ferrycd/ferry/source-controller/internal/controller/storagetest"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/gitserver"
	"github.com/ferrycd/ferry/test/suite"
)

var (
	env     *cluster.Cluster
	gitSrv  *gitserver.Server
	store   *storage.Storage
	indexes *helm.IndexCache
	charts  *ChartCache
	// mgr is the manager the reconcilers run in, for benchmarks that watch
	// its cache.
	mgr ctrl.Manager
	// requests counts what the reconcilers send to the API server, for
	// request budgets.
	requests = suite.NewRequests()
)

// TestMain starts one API server, one git server, and the GitRepository,
// HelmRepository and HelmChart reconcilers sharing a real artifact store and
// file server, as they do in the source-controller, for every test in the
// package.
func TestMain(m *testing.M) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	opts := suite.Options{Scheme: scheme, Controller: "source-controller", NoRateLimit: true, WrapTransport: requests.Wrap}
	os.Exit(suite.Run(m, opts, func(e *suite.Env) error {
		env, mgr = e.Cluster, e.Manager
		var err error
		if gitSrv, err = gitserver.Start(); err != nil {
			return err
		}
		e.Cleanup(gitSrv.Close)
		if store, _, err = storagetest.Start(e, "helmchart"); err != nil {
			return err
		}
		indexes = helm.NewIndexCache(4)
		if charts, err = NewChartCache(store); err != nil {
			return err
		}
		// The conditions the binary's finisher owns, so a status write that
		// meets a stale read resolves as it does there.
		finisher := outcome.Finisher{Scheme: scheme, Recorder: e.Recorder, FieldOwner: "source-controller",
			OwnedConditions: []string{fluxmeta.ReadyCondition, fluxmeta.ReconcilingCondition, fluxmeta.StalledCondition,
				sourcev1.ArtifactInStorageCondition, sourcev1.ArtifactOutdatedCondition, sourcev1.FetchFailedCondition,
				sourcev1.IncludeUnavailableCondition, sourcev1.StorageOperationFailedCondition,
				sourcev1.SourceVerifiedCondition, sourcev1.BuildFailedCondition}}
		c := e.Manager.GetClient()
		for _, r := range []interface {
			SetupWithManager(context.Context, ctrl.Manager) error
		}{
			&gitrepository.Reconciler{Client: c, Finisher: finisher, Storage: store, Concurrent: 2},
			&helmrepository.Reconciler{Client: c, Finisher: finisher, Storage: store, Indexes: indexes, Concurrent: 2},
			&Reconciler{Client: c, Finisher: finisher, Storage: store, Indexes: indexes, Charts: charts, Concurrent: 4},
		} {
			if err := r.SetupWithManager(e.Ctx, e.Manager); err != nil {
				return err
			}
		}
		return nil
	}))
}
