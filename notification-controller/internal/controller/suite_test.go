package controller

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/events"
	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	notificationv1beta3 "github.com/ferrycd/ferry/pkg/apis/notification/v1beta3"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/harness"
)

var (
	env *cluster.Cluster
	// eventsURL and receiverURL are where the controller's two endpoints
	// listen.
	eventsURL, receiverURL string
	// cached reads through the controller's cache, to wait until it has seen
	// the objects a test created.
	cached client.Client
)

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

// runSuite starts one API server and the whole notification-controller, as
// main wires it (Receiver reconciler, event endpoint, webhook receiver, all
// on the manager's cache), for every test and benchmark in the package.
func runSuite(m *testing.M) (int, error) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(notificationv1.AddToScheme(scheme))
	utilruntime.Must(notificationv1beta3.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(kustomizev1.AddToScheme(scheme))

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
	eventsAddr, receiverAddr := harness.FreeAddr(), harness.FreeAddr()
	eventsURL, receiverURL = "http://"+eventsAddr, "http://"+receiverAddr
	cached = mgr.GetClient()
	setup := &manager.Setup{Manager: mgr, Log: ctrl.Log, Recorder: recorder}
	opts := Options{ReceiverAddr: receiverAddr, RateLimitInterval: time.Minute}
	if err := Setup(ctx, setup, eventsAddr, opts, 4); err != nil {
		return 0, err
	}
	errc := make(chan error, 1)
	go func() { errc <- mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return 0, fmt.Errorf("cache did not sync")
	}
	for _, addr := range []string{eventsAddr, receiverAddr} {
		if err := waitListening(addr, errc); err != nil {
			return 0, err
		}
	}
	return m.Run(), nil
}

// waitListening returns once addr accepts connections, or the manager's
// error if it stopped first.
func waitListening(addr string, errc <-chan error) error {
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			return c.Close()
		}
		select {
		case err := <-errc:
			return fmt.Errorf("manager stopped: %w", err)
		case <-deadline:
			return fmt.Errorf("nothing listens on %s", addr)
		case <-tick.C:
		}
	}
}
