// Package options holds the command-line options every Ferry controller
// shares. The flag names are Flux's, so deployment patches written for Flux
// keep working against Ferry.
package options

import (
	"os"

	"github.com/fluxcd/pkg/runtime/client"
	"github.com/fluxcd/pkg/runtime/leaderelection"
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/spf13/pflag"
)

// Options are the flags common to all controllers.
type Options struct {
	// MetricsAddr is where Prometheus metrics are served.
	MetricsAddr string
	// HealthAddr is where /healthz and /readyz are served.
	HealthAddr string
	// Concurrent is the number of objects of each kind reconciled at once;
	// set before BindFlags, it is the flag's default (4 when unset).
	Concurrent int
	// WatchAllNamespaces makes the controller watch every namespace instead of
	// only the one it runs in.
	WatchAllNamespaces bool
	// WatchLabelSelector limits the watched objects to those matching it.
	WatchLabelSelector string
	// EventsAddr is the notification-controller's event endpoint; empty sends
	// events to the Kubernetes API only.
	EventsAddr string
	// EnablePprof serves Go's /debug/pprof endpoints on the metrics address,
	// as Flux's controllers do, to profile a controller under load.
	EnablePprof bool

	Client         client.Options
	Logger         logger.Options
	LeaderElection leaderelection.Options
}

// BindFlags registers the options on fs with Flux's names and defaults.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	concurrent := o.Concurrent
	if concurrent <= 0 {
		concurrent = 4
	}
	fs.StringVar(&o.MetricsAddr, "metrics-addr", ":8080",
		"The address the metric endpoint binds to.")
	fs.StringVar(&o.HealthAddr, "health-addr", ":9440",
		"The address the health endpoint binds to.")
	fs.IntVar(&o.Concurrent, "concurrent", concurrent,
		"The number of concurrent reconciles per kind.")
	fs.BoolVar(&o.WatchAllNamespaces, "watch-all-namespaces", true,
		"Watch for custom resources in all namespaces, if set to false it will only watch the runtime namespace.")
	fs.StringVar(&o.WatchLabelSelector, "watch-label-selector", "",
		"Watch for resources with matching labels e.g. 'sharding.fluxcd.io/shard=shard1'.")
	fs.StringVar(&o.EventsAddr, "events-addr", "",
		"The address of the events receiver.")
	fs.BoolVar(&o.EnablePprof, "enable-pprof", false,
		"Serve the /debug/pprof endpoints on the metrics address.")
	o.Client.BindFlags(fs)
	o.Logger.BindFlags(fs)
	o.LeaderElection.BindFlags(fs)
}

// RuntimeNamespace is the namespace the controller runs in, taken from the
// RUNTIME_NAMESPACE environment variable the Deployment sets.
func RuntimeNamespace() string {
	return os.Getenv("RUNTIME_NAMESPACE")
}
