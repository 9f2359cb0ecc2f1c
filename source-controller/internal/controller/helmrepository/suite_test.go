package helmrepository

import (
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/storage"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/source-controller/internal/controller/storagetest"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/suite"
)

var (
	env     *cluster.Cluster
	store   *storage.Storage
	indexes *helm.IndexCache
)

// TestMain starts one API server and the reconciler with a real artifact
// store and file server for every test in the package.
func TestMain(m *testing.M) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	opts := suite.Options{Scheme: scheme, Controller: "source-controller"}
	os.Exit(suite.Run(m, opts, func(e *suite.Env) error {
		env = e.Cluster
		var err error
		if store, _, err = storagetest.Start(e, "helmrepository"); err != nil {
			return err
		}
		indexes = helm.NewIndexCache(4)
		r := &Reconciler{
			Client:     e.Manager.GetClient(),
			Finisher:   outcome.Finisher{Scheme: scheme, Recorder: e.Recorder},
			Storage:    store,
			Indexes:    indexes,
			Concurrent: 4,
		}
		return r.SetupWithManager(e.Ctx, e.Manager)
	}))
}
