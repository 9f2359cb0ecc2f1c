package fetch

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// downloads counts artifact downloads, so benchmarks and tests can prove that
// an unchanged artifact is served from the cache.
var downloads = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "ferry_artifact_downloads_total",
	Help: "Number of source artifacts downloaded (cache misses).",
})

func init() { metrics.Registry.MustRegister(downloads) }
