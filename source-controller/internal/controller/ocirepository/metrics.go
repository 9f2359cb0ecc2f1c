package ocirepository

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// pulls counts layer downloads, so tests and benchmarks can prove an
// unchanged digest costs no pull.
var pulls = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "ferry_ocirepository_pulls_total",
	Help: "Number of layer pulls made by the OCIRepository reconciler.",
})

func init() { metrics.Registry.MustRegister(pulls) }
