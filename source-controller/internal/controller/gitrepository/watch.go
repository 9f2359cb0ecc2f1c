package gitrepository

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// clones counts git clones, so tests and benchmarks can prove an unchanged
// remote costs no clone.
var clones = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "ferry_gitrepository_clones_total",
	Help: "Number of git clones made by the GitRepository reconciler.",
})

func init() { metrics.Registry.MustRegister(clones) }

// artifactChanged passes updates that change a GitRepository's artifact.
type artifactChanged struct{ predicate.Funcs }

func (artifactChanged) Create(event.CreateEvent) bool   { return false }
func (artifactChanged) Delete(event.DeleteEvent) bool   { return false }
func (artifactChanged) Generic(event.GenericEvent) bool { return false }

func (artifactChanged) Update(e event.UpdateEvent) bool {
	oldObj, ok1 := e.ObjectOld.(*sourcev1.GitRepository)
	newObj, ok2 := e.ObjectNew.(*sourcev1.GitRepository)
	if !ok1 || !ok2 || newObj.Status.Artifact == nil {
		return false
	}
	return oldObj.Status.Artifact == nil || oldObj.Status.Artifact.Digest != newObj.Status.Artifact.Digest
}
