// Package helmchart reconciles HelmChart objects: it resolves the chart
// version from a HelmRepository's stored index or from an OCI registry, or
// loads the chart from a GitRepository's artifact with its dependencies,
// merges values files into it, and stores the packaged chart as the
// artifact. A chart is downloaded or rebuilt only when the version to serve
// changed; a new source artifact requeues the charts built from it at once.
//
// HelmCharts that ask for the same chart (one source object and artifact,
// one chart and version, the same values files: every HelmRelease of a
// fleet with the same chart.spec) share one build: it is downloaded and
// packaged once, and each HelmChart's artifact is a hard link to the one
// file, with one digest (see shared.go and package buildcache). Charts
// from OCI registries are not shared: a tag may be pushed again, and the key
// of a build must name its content.
package helmchart

import (
	"context"

	"github.com/fluxcd/pkg/runtime/patch"
	"github.com/fluxcd/pkg/runtime/predicates"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/storage"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/pkg/watch"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
)

// Reconciler reconciles HelmChart objects.
type Reconciler struct {
	client.Client
	outcome.Finisher
	Storage *storage.Storage
	// Indexes caches parsed repository indexes by artifact digest; shared
	// with the HelmRepository reconciler. May be nil.
	Indexes *helm.IndexCache
	// Charts shares identical chart builds between HelmCharts. May be nil:
	// each HelmChart then builds its own.
	Charts *ChartCache
	// Concurrent is how many HelmCharts reconcile at once.
	Concurrent int
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// sourceIndexKey indexes HelmCharts by "<kind>/<name>" of their source, so a
// new source artifact requeues the charts built from it.
const sourceIndexKey = ".spec.sourceRef"

// SetupWithManager registers the reconciler and its watches on sources.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &sourcev1.HelmChart{}, sourceIndexKey,
		func(o client.Object) []string {
			ref := o.(*sourcev1.HelmChart).Spec.SourceRef
			return []string{ref.Kind + "/" + ref.Name}
		}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&sourcev1.HelmChart{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicates.ReconcileRequestedPredicate{}))).
		Watches(&sourcev1.HelmRepository{}, handler.EnqueueRequestsFromMapFunc(r.chartsOf(sourcev1.HelmRepositoryKind)),
			builder.WithPredicates(watch.ArtifactChanged{})).
		Watches(&sourcev1.GitRepository{}, handler.EnqueueRequestsFromMapFunc(r.chartsOf(sourcev1.GitRepositoryKind)),
			builder.WithPredicates(watch.ArtifactChanged{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Concurrent}).
		Complete(r)
}

// Reconcile brings one HelmChart's artifact up to date with its source.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return outcome.Lifecycle[*sourcev1.HelmChart]{
		Client:    r.Client,
		Finisher:  &r.Finisher,
		Finalizer: sourcev1.SourceFinalizer,
		Suspended: func(obj *sourcev1.HelmChart) bool { return obj.Spec.Suspend },
		Cleanup:   r.removeArtifacts,
		Steps: func(ctx context.Context, obj *sourcev1.HelmChart, _ *patch.SerialPatcher) error {
			return r.reconcile(ctx, obj)
		},
	}.Run(ctx, req.NamespacedName, &sourcev1.HelmChart{})
}

// removeArtifacts deletes the object's artifacts from storage before its
// finalizer is removed, and the shared builds only they linked to.
func (r *Reconciler) removeArtifacts(ctx context.Context, obj *sourcev1.HelmChart) error {
	if err := r.Storage.RemoveAll(sourcev1.HelmChartKind, obj.Namespace, obj.Name); err != nil {
		return err
	}
	r.pruneCharts(ctx)
	return nil
}

// chartsOf maps a source of kind to the HelmCharts built from it.
func (r *Reconciler) chartsOf(kind string) handler.MapFunc {
	return watch.Referrers[sourcev1.HelmChartList](r.Client, sourceIndexKey,
		func(o client.Object) string { return kind + "/" + o.GetName() }, watch.SameNamespace)
}
