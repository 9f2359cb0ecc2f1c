package receiver

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/fluxcd/pkg/runtime/events"
	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/test/cluster"
)

var env *cluster.Cluster

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

// runSuite starts one API server and the Receiver reconciler for every test
// in the package.
func runSuite(m *testing.M) (int, error) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(notificationv1.AddToScheme(scheme))

	ctrl.SetLogger(logr.Discard())
	if os.Getenv("TEST_LOG") != "" {
		ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	}
	var err error
	env, err = cluster.Start(cluster.Options{Scheme: scheme})
	if err != nil {
		return 0, err
	}
	defer func() { _ = env.Stop() }()

	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		return 0, err
	}
	recorder, err := events.NewRecorder(ctrl.Log, "", "notification-controller", events.WithManager(mgr))
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &Reconciler{
		Client:     mgr.GetClient(),
		Finisher:   outcome.Finisher{Scheme: scheme, Recorder: recorder},
		Concurrent: 4,
	}
	if err := r.SetupWithManager(ctx, mgr); err != nil {
		return 0, err
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
