package artifactgenerator

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	sourceextv1 "github.com/ferrycd/ferry/pkg/apis/sourceext/v1beta1"
	"github.com/ferrycd/ferry/pkg/artifact/fetch"
	"github.com/ferrycd/ferry/pkg/artifact/storage"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/source-controller/internal/controller/gitrepository"
	"github.com/ferrycd/ferry/source-controller/internal/controller/storagetest"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/gitserver"
	"github.com/ferrycd/ferry/test/suite"
)

var (
	env    *cluster.Cluster
	gitSrv *gitserver.Server
	store  *storage.Storage
)

// TestMain starts one API server, one git server, the GitRepository
// reconciler (the real producer of the generators' sources) and the
// generator, sharing one artifact store and file server as in the binary.
func TestMain(m *testing.M) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(sourceextv1.AddToScheme(scheme))
	opts := suite.Options{Scheme: scheme, Controller: "source-controller"}
	os.Exit(suite.Run(m, opts, func(e *suite.Env) error {
		env = e.Cluster
		var err error
		if gitSrv, err = gitserver.Start(); err != nil {
			return err
		}
		e.Cleanup(gitSrv.Close)
		var dir string
		if store, dir, err = storagetest.Start(e, "artifactgenerator"); err != nil {
			return err
		}
		fetcher, err := fetch.New(filepath.Join(dir, "cache"))
		if err != nil {
			return err
		}
		finisher := outcome.Finisher{Scheme: scheme, Recorder: e.Recorder}
		c := e.Manager.GetClient()
		git := &gitrepository.Reconciler{Client: c, Finisher: finisher, Storage: store, Concurrent: 2}
		if err := git.SetupWithManager(e.Ctx, e.Manager); err != nil {
			return err
		}
		r := &Reconciler{Client: c, Finisher: finisher, Storage: store, Fetcher: fetcher, Concurrent: 2}
		return r.SetupWithManager(e.Ctx, e.Manager)
	}))
}
