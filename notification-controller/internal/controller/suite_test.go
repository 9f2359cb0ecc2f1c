package controller

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/harness"
	"github.com/ferrycd/ferry/test/suite"
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

// TestMain starts one API server and the whole notification-controller, as
// main wires it (Receiver reconciler, event endpoint, webhook receiver, all
// on the manager's cache), for every test and benchmark in the package.
func TestMain(m *testing.M) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(notificationv1.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(kustomizev1.AddToScheme(scheme))

	ctrl.SetLogger(logr.Discard())
	// The endpoints' addresses are picked once the cluster runs, so that it
	// cannot take them.
	var eventsAddr, receiverAddr string
	opts := suite.Options{
		Scheme:     scheme,
		Controller: "notification-controller",
		Ready: func(e *suite.Env) error {
			for _, addr := range []string{eventsAddr, receiverAddr} {
				if err := waitListening(addr, e.Stopped); err != nil {
					return err
				}
			}
			return nil
		},
	}
	os.Exit(suite.Run(m, opts, func(e *suite.Env) error {
		env = e.Cluster
		eventsAddr, receiverAddr = harness.FreeAddr(), harness.FreeAddr()
		eventsURL, receiverURL = "http://"+eventsAddr, "http://"+receiverAddr
		cached = e.Manager.GetClient()
		setup := &manager.Setup{Manager: e.Manager, Log: ctrl.Log, Recorder: e.Recorder}
		opts := Options{ReceiverAddr: receiverAddr, RateLimitInterval: time.Minute}
		return Setup(e.Ctx, setup, eventsAddr, opts, 4)
	}))
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
