// Package gitrepository reconciles GitRepository objects: it asks the remote
// which commit the ref points to, clones only when that or the artifact's
// shape changed, verifies signatures, merges included repositories, and
// stores the tree as a deterministic tar.gz artifact served over HTTP.
package gitrepository

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
)

// Reconciler reconciles GitRepository objects.
type Reconciler struct {
	client.Client
	outcome.Finisher
	Storage *storage.Storage
	// Concurrent is how many GitRepositories reconcile at once.
	Concurrent int
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// includeIndexKey indexes GitRepositories by the repositories they include,
// so a new artifact of an included repository requeues its includers.
const includeIndexKey = ".metadata.includes"

// SetupWithManager registers the reconciler and its watches.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &sourcev1.GitRepository{}, includeIndexKey,
		func(o client.Object) []string {
			var names []string
			for _, inc := range o.(*sourcev1.GitRepository).Spec.Include {
				names = append(names, inc.GitRepositoryRef.Name)
			}
			return names
		}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&sourcev1.GitRepository{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicates.ReconcileRequestedPredicate{}))).
		Watches(&sourcev1.GitRepository{}, handler.EnqueueRequestsFromMapFunc(
			watch.Referrers[sourcev1.GitRepositoryList](r.Client, includeIndexKey, watch.Name, watch.SameNamespace)),
			builder.WithPredicates(watch.ArtifactChanged{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Concurrent}).
		Complete(r)
}

// Reconcile brings one GitRepository's artifact up to date with its remote.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return outcome.Lifecycle[*sourcev1.GitRepository]{
		Client:    r.Client,
		Finisher:  &r.Finisher,
		Finalizer: sourcev1.SourceFinalizer,
		Suspended: func(obj *sourcev1.GitRepository) bool { return obj.Spec.Suspend },
		Cleanup:   r.removeArtifacts,
		Steps: func(ctx context.Context, obj *sourcev1.GitRepository, _ *patch.SerialPatcher) error {
			return r.reconcile(ctx, obj)
		},
	}.Run(ctx, req.NamespacedName, &sourcev1.GitRepository{})
}

// removeArtifacts deletes the object's artifacts from storage before its
// finalizer is removed.
func (r *Reconciler) removeArtifacts(_ context.Context, obj *sourcev1.GitRepository) error {
	return r.Storage.RemoveAll(sourcev1.GitRepositoryKind, obj.Namespace, obj.Name)
}
