package helmchart

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/fluxcd/pkg/runtime/events"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/server"
	"github.com/ferrycd/ferry/pkg/artifact/storage"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/source-controller/internal/controller/gitrepository"
	"github.com/ferrycd/ferry/source-controller/internal/controller/helmrepository"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/gitserver"
	"github.com/ferrycd/ferry/test/harness"
)

var (
	env     *cluster.Cluster
	gitSrv  *gitserver.Server
	store   *storage.Storage
	indexes *helm.IndexCache
)

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

// runSuite starts one API server, one git server, and the GitRepository,
// HelmRepository and HelmChart reconcilers sharing a real artifact store and
// file server, as they do in the source-controller, for every test in the
// package.
func runSuite(m *testing.M) (int, error) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	if os.Getenv("TEST_LOG") != "" {
		ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	}
	var err error
	if env, err = cluster.Start(cluster.Options{Scheme: scheme}); err != nil {
		return 0, err
	}
	defer func() { _ = env.Stop() }()
	if gitSrv, err = gitserver.Start(); err != nil {
		return 0, err
	}
	defer gitSrv.Close()

	dir, err := os.MkdirTemp("", "helmchart-storage-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	addr := harness.FreeAddr()
	if store, err = storage.New(filepath.Join(dir, "data"), addr, 2); err != nil {
		return 0, err
	}
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		return 0, err
	}
	if err := mgr.Add(&server.Server{Addr: addr, BasePath: store.BasePath()}); err != nil {
		return 0, err
	}
	recorder, err := events.NewRecorder(ctrl.Log, "", "source-controller", events.WithManager(mgr))
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	indexes = helm.NewIndexCache(4)
	finisher := outcome.Finisher{Scheme: scheme, Recorder: recorder}
	c := mgr.GetClient()
	for _, r := range []interface {
		SetupWithManager(context.Context, ctrl.Manager) error
	}{
		&gitrepository.Reconciler{Client: c, Finisher: finisher, Storage: store, Concurrent: 2},
		&helmrepository.Reconciler{Client: c, Finisher: finisher, Storage: store, Indexes: indexes, Concurrent: 2},
		&Reconciler{Client: c, Finisher: finisher, Storage: store, Indexes: indexes, Concurrent: 4},
	} {
		if err := r.SetupWithManager(ctx, mgr); err != nil {
			return 0, err
		}
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return 0, fmt.Errorf("cache did not sync")
	}
	return m.Run(), nil
}
