// Package suite runs the one shared test API server and controller manager
// that a controller test package starts in TestMain.
//
// Every controller package did the same dance (start a cluster, build a
// manager with metrics off, make an events recorder on it, register the
// reconcilers, start the manager, wait for its cache, run the tests, stop
// everything) in its own copy, and the copies drifted: one had the TEST_LOG
// switch, another the binaries' rate limits. Run does it once; a package
// keeps only what is its own (artifact storage, git server, fetcher) in the
// register callback.
package suite

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/fluxcd/pkg/runtime/events"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/test/cluster"
)

// Options configure the suite's cluster and manager.
type Options struct {
	// Mode is the cluster mode; Full when a test needs Deployments to become
	// Available.
	Mode cluster.Mode
	// CRDs are CRD files or directories installed besides Ferry's own
	// (cluster.GatewayAPICRDs for a package that routes traffic).
	CRDs []string
	// Scheme is used by the cluster's client and the manager.
	Scheme *runtime.Scheme
	// Controller is the reporting controller of the events recorder, as the
	// binary names it ("source-controller").
	Controller string
	// NoRateLimit turns off client-side rate limits (QPS and Burst -1), as the
	// controller binaries do: the API server has priority and fairness, and a
	// throttled client makes timeouts in tests report the wrong thing.
	NoRateLimit bool
	// WrapTransport, when set, wraps the manager's transport, so a test can
	// see every request the reconcilers make (a counting RoundTripper).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Ready, when set, runs after the manager's cache has synced and before
	// the tests, to wait for what the manager serves besides its cache.
	Ready func(*Env) error
}

// Env is what a suite's register callback and Ready hook build on.
type Env struct {
	Cluster  *cluster.Cluster
	Manager  ctrl.Manager
	Recorder events.Recorder
	// Ctx is cancelled when the tests are done; it is the context the
	// manager runs with.
	Ctx context.Context
	// Stopped receives the manager's error when it stops.
	Stopped <-chan error

	cleanups []func()
}

// Cleanup registers f to run after the tests, once the manager's context is
// cancelled and before the cluster stops; the last registered runs first.
func (e *Env) Cleanup(f func()) {
	e.cleanups = append(e.cleanups, f)
}

// Run starts the cluster and manager, calls register to add the package's
// reconcilers and runnables, starts the manager, runs the tests and stops
// everything. It returns the exit code for os.Exit; a failed setup is
// printed and gives 1.
//
// TEST_LOG=1 sends the controllers' logs to stderr.
func Run(m *testing.M, opts Options, register func(*Env) error) int {
	code, err := run(m, opts, register)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}

func run(m *testing.M, opts Options, register func(*Env) error) (int, error) {
	if os.Getenv("TEST_LOG") != "" {
		ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	}
	c, err := cluster.Start(cluster.Options{Mode: opts.Mode, Scheme: opts.Scheme, ExtraCRDs: opts.CRDs})
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Stop() }()
	e := &Env{Cluster: c}
	defer func() {
		for i := len(e.cleanups) - 1; i >= 0; i-- {
			e.cleanups[i]()
		}
	}()

	cfg := c.Config
	if opts.NoRateLimit {
		cfg = rest.CopyConfig(cfg)
		cfg.QPS, cfg.Burst = -1, -1
	}
	if opts.WrapTransport != nil {
		cfg = rest.CopyConfig(cfg)
		cfg.Wrap(opts.WrapTransport)
	}
	if e.Manager, err = ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  opts.Scheme,
		Client:  manager.ClientOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"},
	}); err != nil {
		return 0, err
	}
	if e.Recorder, err = events.NewRecorder(ctrl.Log, "", opts.Controller, events.WithManager(e.Manager)); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.Ctx = ctx
	if err := register(e); err != nil {
		return 0, err
	}
	stopped := make(chan error, 1)
	e.Stopped = stopped
	go func() {
		err := e.Manager.Start(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
		stopped <- err
	}()
	if !e.Manager.GetCache().WaitForCacheSync(ctx) {
		return 0, fmt.Errorf("cache did not sync")
	}
	if opts.Ready != nil {
		if err := opts.Ready(e); err != nil {
			return 0, err
		}
	}
	return m.Run(), nil
}
