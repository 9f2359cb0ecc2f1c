// Package manager builds the controller-runtime manager each Ferry controller
// runs, so the four binaries start, log, elect a leader and report health the
// same way.
package manager

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/fluxcd/pkg/runtime/client"
	"github.com/fluxcd/pkg/runtime/events"
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/fluxcd/pkg/runtime/probes"
	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	ctrlmanager "sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/ferrycd/ferry/pkg/options"
)

// ParseFlags binds the common options and the --kubeconfig flag to the
// process's flag set, lets extra bind controller-specific flags, and parses
// the command line.
func ParseFlags(opts *options.Options, extra func(fs *pflag.FlagSet)) {
	opts.BindFlags(pflag.CommandLine)
	if extra != nil {
		extra(pflag.CommandLine)
	}
	config.RegisterFlags(flag.CommandLine)
	pflag.CommandLine.AddGoFlagSet(flag.CommandLine)
	pflag.Parse()
}

// Setup holds what a controller's main needs after the manager is built.
type Setup struct {
	Manager  ctrl.Manager
	Log      logr.Logger
	Recorder events.Recorder
}

// New sets up logging and builds a manager for the controller named name
// (e.g. "source-controller") from opts. The kubeconfig comes from
// --kubeconfig, KUBECONFIG or the in-cluster config, as controller-runtime
// resolves it.
func New(name string, opts options.Options, scheme *runtime.Scheme) (*Setup, error) {
	log := logger.NewLogger(opts.Logger)
	ctrl.SetLogger(log)

	restConfig := client.GetConfigOrDie(opts.Client)

	cacheOpts := cache.Options{}
	if !opts.WatchAllNamespaces {
		ns := options.RuntimeNamespace()
		if ns == "" {
			return nil, fmt.Errorf("--watch-all-namespaces=false needs the RUNTIME_NAMESPACE environment variable")
		}
		cacheOpts.DefaultNamespaces = map[string]cache.Config{ns: {}}
	}
	if opts.WatchLabelSelector != "" {
		sel, err := labels.Parse(opts.WatchLabelSelector)
		if err != nil {
			return nil, fmt.Errorf("invalid --watch-label-selector: %w", err)
		}
		cacheOpts.DefaultLabelSelector = sel
	}

	leaseDuration := opts.LeaderElection.LeaseDuration
	renewDeadline := opts.LeaderElection.RenewDeadline
	retryPeriod := opts.LeaderElection.RetryPeriod
	mgr, err := ctrl.NewManager(restConfig, ctrlmanager.Options{
		Scheme:                        scheme,
		Cache:                         cacheOpts,
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:        opts.HealthAddr,
		LeaderElection:                opts.LeaderElection.Enable,
		LeaderElectionID:              name + "-leader-election",
		LeaderElectionNamespace:       options.RuntimeNamespace(),
		LeaderElectionReleaseOnCancel: opts.LeaderElection.ReleaseOnCancel,
		LeaseDuration:                 &leaseDuration,
		RenewDeadline:                 &renewDeadline,
		RetryPeriod:                   &retryPeriod,
		GracefulShutdownTimeout:       durationPtr(30 * time.Second),
	})
	if err != nil {
		return nil, fmt.Errorf("unable to create the manager: %w", err)
	}
	probes.SetupChecks(mgr, log)

	recorder, err := events.NewRecorder(log, opts.EventsAddr, name, events.WithManager(mgr), events.WithRetryMax(2))
	if err != nil {
		return nil, fmt.Errorf("unable to create the event recorder: %w", err)
	}
	return &Setup{Manager: mgr, Log: log, Recorder: newAsyncRecorder(recorder, 2)}, nil
}

// Run builds the manager for the controller named name, lets register add
// the controller's reconcilers, and runs until a termination signal. Any
// failure to start ends the process with a logged error.
func Run(name string, opts options.Options, scheme *runtime.Scheme, register func(*Setup) error) {
	setup, err := New(name, opts, scheme)
	if err != nil {
		ctrl.Log.Error(err, "unable to start "+name)
		os.Exit(1)
	}
	if err := register(setup); err != nil {
		setup.Log.Error(err, "unable to register the reconcilers")
		os.Exit(1)
	}
	setup.Log.Info("starting manager")
	if err := setup.Manager.Start(ctrl.SetupSignalHandler()); err != nil {
		setup.Log.Error(err, "manager stopped with an error")
		os.Exit(1)
	}
}

func durationPtr(d time.Duration) *time.Duration { return &d }
