// Package ocirepository reconciles OCIRepository objects: it resolves the ref
// to a manifest digest with a HEAD request, checks that digest's cosign
// signature when spec.verify asks (see package cosign), pulls only when the
// digest or the artifact's shape (layer selector, ignore rules) changed, and
// stores the selected layer extracted into a deterministic tar.gz or copied
// as is.
package ocirepository

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
)

// Reconciler reconciles OCIRepository objects.
type Reconciler struct {
	client.Client
	outcome.Finisher
	Storage *storage.Storage
	// Concurrent is how many OCIRepositories reconcile at once.
	Concurrent int
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// SetupWithManager registers the reconciler.
func (r *Reconciler) SetupWithManager(_ context.Context, mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&sourcev1.OCIRepository{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicates.ReconcileRequestedPredicate{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Concurrent}).
		Complete(r)
}

// Reconcile brings one OCIRepository's artifact up to date with its registry.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return outcome.Lifecycle[*sourcev1.OCIRepository]{
		Client:    r.Client,
		Finisher:  &r.Finisher,
		Finalizer: sourcev1.SourceFinalizer,
		Suspended: func(obj *sourcev1.OCIRepository) bool { return obj.Spec.Suspend },
		Cleanup:   r.removeArtifacts,
		Steps: func(ctx context.Context, obj *sourcev1.OCIRepository, _ *patch.SerialPatcher) error {
			return r.reconcile(ctx, obj)
		},
	}.Run(ctx, req.NamespacedName, &sourcev1.OCIRepository{})
}

// removeArtifacts deletes the object's artifacts from storage before its
// finalizer is removed.
func (r *Reconciler) removeArtifacts(_ context.Context, obj *sourcev1.OCIRepository) error {
	return r.Storage.RemoveAll(sourcev1.OCIRepositoryKind, obj.Namespace, obj.Name)
}
