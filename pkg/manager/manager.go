// Package manager builds the controller-runtime manager each Ferry controller
// runs, so the four binaries start, log, elect a leader and report health the
// same way.
//
// With --enable-leader-election, two replicas of a controller are a leader
// and a hot standby: only the lease holder reconciles. Shards split by
// --watch-label-selector take a lease each. A controller whose Service must
// reach the leader (the source-controller, whose artifacts live on the
// leader's disk) sets Controller.LabelLeaderPod: the leader labels its Pod
// with LeaderLabel and its Service selects that label.
package manager

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	fluxclient "github.com/fluxcd/pkg/runtime/client"
	"github.com/fluxcd/pkg/runtime/events"
	"github.com/fluxcd/pkg/runtime/leaderelection"
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/fluxcd/pkg/runtime/metrics"
	"github.com/fluxcd/pkg/runtime/pprof"
	"github.com/fluxcd/pkg/runtime/probes"
	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	ctrlmanager "sigs.k8s.io/controller-runtime/pkg/manager"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/ferrycd/ferry/pkg/options"
	"github.com/ferrycd/ferry/pkg/outcome"
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

// Controller says which controller a manager is built for and which kinds
// it serves.
type Controller struct {
	// Name is the controller's name ("source-controller"): the prefix of the
	// leader election ID, the events' reporting controller and the field
	// owner of status patches.
	Name   string
	Scheme *runtime.Scheme
	// Reconciled are the kinds the controller reconciles. Only these are
	// filtered by --watch-label-selector: a shard must still see the
	// sources, Secrets and ConfigMaps its objects refer to, whatever their
	// labels (filtering every kind made an unlabelled source look missing).
	Reconciled []client.Object
	// Watched are kinds, other than the reconciled ones, of which the
	// controller caches only the objects matching a label selector, because
	// it watches them: helm-controller's valuesFrom ConfigMaps and Secrets
	// labelled reconcile.fluxcd.io/watch=Enabled. A watch on Secrets without
	// an entry here caches every Secret of the cluster.
	Watched map[client.Object]labels.Selector
	// LabelLeaderPod makes the leader keep LeaderLabel on its own Pod (named
	// by POD_NAME and POD_NAMESPACE) and off every other, for a controller
	// whose Service must reach the leader: the source-controller, whose
	// artifacts only the leader's storage holds.
	LabelLeaderPod bool
	// RESTConfig, when set, replaces --kubeconfig, KUBECONFIG and the
	// in-cluster config; tests pass their cluster's.
	RESTConfig *rest.Config
}

// Setup holds what a controller's registration needs after the manager is
// built.
type Setup struct {
	Manager  ctrl.Manager
	Log      logr.Logger
	Recorder events.Recorder
	// Metrics records the gotk_* reconcile metrics of every kind the
	// controller reconciles; it is registered once, with the manager's
	// metrics endpoint.
	Metrics *metrics.Recorder

	name string
}

// Finisher returns the outcome.Finisher of a reconciler of this controller,
// owning the given condition types (Ready, Reconciling and Stalled are
// always owned): every reconciler of the controller shares one recorder,
// one metrics recorder and one field owner.
func (s *Setup) Finisher(ownedConditions ...string) outcome.Finisher {
	owned := []string{fluxmeta.ReadyCondition, fluxmeta.ReconcilingCondition, fluxmeta.StalledCondition}
	for _, c := range ownedConditions {
		if !slices.Contains(owned, c) {
			owned = append(owned, c)
		}
	}
	return outcome.Finisher{
		Scheme:          s.Manager.GetScheme(),
		Recorder:        s.Recorder,
		Metrics:         s.Metrics,
		OwnedConditions: owned,
		FieldOwner:      s.name,
		Quiet:           outcome.NewQuietWaits(outcome.DefaultQuietWait),
	}
}

// uncached are read straight from the API server, as Flux does: a
// controller reads only the few Secrets and ConfigMaps its objects name, and
// caching them would hold every Secret of the cluster (Helm's release
// Secrets among them) in every controller's memory.
var uncached = []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}

// ClientOptions are the client options of every controller's manager.
// Test suites build their managers with them too, so that tests read
// Secrets and ConfigMaps the way the binaries do.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: uncached}}
}

// cacheOptions scopes the cache: the runtime namespace unless
// --watch-all-namespaces, --watch-label-selector on the reconciled kinds
// only, and the label selectors of c.Watched.
func cacheOptions(c Controller, opts options.Options) (cache.Options, error) {
	// No controller reads the managedFields of what it caches, and they are
	// the largest part of a Kustomization's or HelmRelease's metadata:
	// dropped, 10,000 cached objects take tens of MiB less.
	cacheOpts := cache.Options{ByObject: map[client.Object]cache.ByObject{}, DefaultTransform: cache.TransformStripManagedFields()}
	if !opts.WatchAllNamespaces {
		ns := options.RuntimeNamespace()
		if ns == "" {
			return cacheOpts, fmt.Errorf("--watch-all-namespaces=false needs the RUNTIME_NAMESPACE environment variable")
		}
		cacheOpts.DefaultNamespaces = map[string]cache.Config{ns: {}}
	}
	for obj, sel := range c.Watched {
		cacheOpts.ByObject[obj] = cache.ByObject{Label: sel}
	}
	if opts.WatchLabelSelector != "" {
		sel, err := labels.Parse(opts.WatchLabelSelector)
		if err != nil {
			return cacheOpts, fmt.Errorf("invalid --watch-label-selector: %w", err)
		}
		for _, obj := range c.Reconciled {
			cacheOpts.ByObject[obj] = cache.ByObject{Label: sel}
		}
	}
	return cacheOpts, nil
}

// leaderElectionID names the lease of controller name. Shards (replicas
// split by --watch-label-selector) each need a lease of their own, or only
// one shard would ever run; the ID carries a hash of the selector, as
// Flux's controllers do, so a shard's replicas share one lease and
// different shards never do.
func leaderElectionID(name, watchLabelSelector string) string {
	base := name + "-leader-election"
	if watchLabelSelector == "" {
		return base
	}
	return leaderelection.GenerateID(base, watchLabelSelector)
}

// New sets up logging and builds a manager for controller c from opts. The
// kubeconfig comes from c.RESTConfig or else from --kubeconfig, KUBECONFIG
// or the in-cluster config, as controller-runtime resolves it.
func New(c Controller, opts options.Options) (*Setup, error) {
	log := logger.NewLogger(opts.Logger)
	ctrl.SetLogger(log)

	restConfig := c.RESTConfig
	if restConfig == nil {
		restConfig = fluxclient.GetConfigOrDie(opts.Client)
	}
	cacheOpts, err := cacheOptions(c, opts)
	if err != nil {
		return nil, err
	}

	leaseDuration := opts.LeaderElection.LeaseDuration
	renewDeadline := opts.LeaderElection.RenewDeadline
	retryPeriod := opts.LeaderElection.RetryPeriod
	mgr, err := ctrl.NewManager(restConfig, ctrlmanager.Options{
		Scheme:                        c.Scheme,
		Cache:                         cacheOpts,
		Client:                        ClientOptions(),
		Metrics:                       metricsOptions(opts),
		HealthProbeBindAddress:        opts.HealthAddr,
		LeaderElection:                opts.LeaderElection.Enable,
		LeaderElectionID:              leaderElectionID(c.Name, opts.WatchLabelSelector),
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
	if c.LabelLeaderPod {
		if l := newLeaderLabeler(mgr.GetAPIReader(), mgr.GetClient(), log, c.Name); l != nil {
			if err := mgr.Add(l); err != nil {
				return nil, err
			}
		}
	}

	recorder, err := events.NewRecorder(log, opts.EventsAddr, c.Name, events.WithManager(mgr), events.WithRetryMax(2))
	if err != nil {
		return nil, fmt.Errorf("unable to create the event recorder: %w", err)
	}
	return &Setup{Manager: mgr, Log: log, Recorder: newAsyncRecorder(recorder, 2), Metrics: reconcileMetrics(), name: c.Name}, nil
}

// Run builds the manager for controller c, lets register add the
// controller's reconcilers, and runs until a termination signal. Any
// failure to start ends the process with a logged error.
func Run(c Controller, opts options.Options, register func(*Setup) error) {
	if os.Getenv("GOGC") == "" {
		// The heap of a controller is mostly its caches, live for its whole
		// life; at Go's default target the heap grew to twice them between
		// collections and the process's peak RSS with it (kustomize-
		// controller: 420 MiB with 10,000 Kustomizations). Half that growth
		// costs some CPU in the collector, which the controllers have to
		// spare: the API server is the limit.
		debug.SetGCPercent(50)
	}
	setup, err := New(c, opts)
	if err != nil {
		ctrl.Log.Error(err, "unable to start "+c.Name)
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

// reconcileMetrics returns the process's one gotk_* metrics recorder,
// registered with controller-runtime's registry on first use: registering
// a second would panic, and a test builds more than one manager.
var reconcileMetrics = sync.OnceValue(func() *metrics.Recorder {
	rec := metrics.NewRecorder()
	crmetrics.Registry.MustRegister(rec.Collectors()...)
	return rec
})

// metricsOptions serves the metrics on opts.MetricsAddr, and the pprof
// endpoints with --enable-pprof. The client-side rate limiter's wait is
// recorded too (rest_client_rate_limiter_duration_seconds): a controller
// whose requests queue behind its own QPS limit shows it there, not in the
// API server's latency.
func metricsOptions(opts options.Options) metricsserver.Options {
	crmetrics.RegisterRESTClientMetrics(crmetrics.MetricRateLimiterLatency)
	m := metricsserver.Options{BindAddress: opts.MetricsAddr}
	if opts.EnablePprof {
		m.ExtraHandlers = pprof.GetHandlers()
	}
	return m
}

func durationPtr(d time.Duration) *time.Duration { return &d }
