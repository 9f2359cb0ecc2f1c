package gitrepository

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// clones counts git clones, so tests and benchmarks can prove an unchanged
// remote costs no clone.
var clones = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "ferry_gitrepository_clones_total",
	Help: "Number of git clones made by the GitRepository reconciler.",
})

func init() { metrics.Registry.MustRegister(clones) }
