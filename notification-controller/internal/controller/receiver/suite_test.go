package receiver

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/suite"
)

var env *cluster.Cluster

// TestMain starts one API server and the Receiver reconciler for every test
// in the package.
func TestMain(m *testing.M) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(notificationv1.AddToScheme(scheme))

	ctrl.SetLogger(logr.Discard())
	opts := suite.Options{Scheme: scheme, Controller: "notification-controller"}
	os.Exit(suite.Run(m, opts, func(e *suite.Env) error {
		env = e.Cluster
		r := &Reconciler{
			Client:     e.Manager.GetClient(),
			Finisher:   outcome.Finisher{Scheme: scheme, Recorder: e.Recorder},
			Concurrent: 4,
		}
		return r.SetupWithManager(e.Ctx, e.Manager)
	}))
}
