// Package helmrepository reconciles HelmRepository objects. For type default
// it fetches the repository's index.yaml every interval and, when its digest
// changed, checks that it parses and stores it byte for byte as the
// artifact, with the digest as revision. A HelmRepository of type oci only
// names a registry that HelmCharts pull from directly, so it stores nothing.
package helmrepository

import (
	"context"

	"github.com/fluxcd/pkg/runtime/patch"
	"github.com/fluxcd/pkg/runtime/predicates"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/storage"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
)

// Reconciler reconciles HelmRepository objects.
type Reconciler struct {
	client.Client
	outcome.Finisher
	Storage *storage.Storage
	// Indexes receives every index parsed here, keyed by artifact digest, so
	// the HelmChart reconciler need not parse it again. May be nil.
	Indexes *helm.IndexCache
	// Concurrent is how many HelmRepositories reconcile at once.
	Concurrent int
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// SetupWithManager registers the reconciler.
func (r *Reconciler) SetupWithManager(_ context.Context, mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&sourcev1.HelmRepository{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicates.ReconcileRequestedPredicate{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Concurrent}).
		Complete(r)
}

// Reconcile brings one HelmRepository's index artifact up to date.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return outcome.Lifecycle[*sourcev1.HelmRepository]{
		Client:    r.Client,
		Finisher:  &r.Finisher,
		Finalizer: sourcev1.SourceFinalizer,
		Suspended: func(obj *sourcev1.HelmRepository) bool { return obj.Spec.Suspend },
		Cleanup:   r.removeArtifacts,
		Steps: func(ctx context.Context, obj *sourcev1.HelmRepository, _ *patch.SerialPatcher) error {
			if obj.Spec.Type == sourcev1.HelmRepositoryTypeOCI {
				return r.reconcileOCI(obj)
			}
			return r.reconcile(ctx, obj)
		},
	}.Run(ctx, req.NamespacedName, &sourcev1.HelmRepository{})
}

// removeArtifacts deletes the object's artifacts from storage before its
// finalizer is removed.
func (r *Reconciler) removeArtifacts(_ context.Context, obj *sourcev1.HelmRepository) error {
	return r.Storage.RemoveAll(sourcev1.HelmRepositoryKind, obj.Namespace, obj.Name)
}
