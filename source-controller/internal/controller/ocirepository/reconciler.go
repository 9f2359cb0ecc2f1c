// Package ocirepository reconciles OCIRepository objects: it resolves the ref
// to a manifest digest with a HEAD request, pulls only when that digest or
// the artifact's shape (layer selector, ignore rules) changed, and stores the
// selected layer extracted into a deterministic tar.gz or copied as is.
package ocirepository

import (
	"context"
	"time"

	"github.com/fluxcd/pkg/runtime/patch"
	"github.com/fluxcd/pkg/runtime/predicates"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
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
	start := time.Now()
	obj := &sourcev1.OCIRepository{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, obj)
	}
	if !controllerutil.ContainsFinalizer(obj, sourcev1.SourceFinalizer) {
		base := obj.DeepCopy()
		controllerutil.AddFinalizer(obj, sourcev1.SourceFinalizer)
		if err := r.Patch(ctx, obj, client.MergeFrom(base)); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	if obj.Spec.Suspend {
		ctrl.LoggerFrom(ctx).V(1).Info("reconciliation is suspended")
		return ctrl.Result{}, nil
	}
	patcher := patch.NewSerialPatcher(obj, r.Client)
	err := r.reconcile(ctx, obj)
	return r.Finish(ctx, patcher, obj, start, err)
}

// finalize removes the object's artifacts from storage, then its finalizer.
func (r *Reconciler) finalize(ctx context.Context, obj *sourcev1.OCIRepository) error {
	if !controllerutil.ContainsFinalizer(obj, sourcev1.SourceFinalizer) {
		return nil
	}
	if err := r.Storage.RemoveAll(sourcev1.OCIRepositoryKind, obj.Namespace, obj.Name); err != nil {
		return err
	}
	base := obj.DeepCopy()
	controllerutil.RemoveFinalizer(obj, sourcev1.SourceFinalizer)
	if err := r.Patch(ctx, obj, client.MergeFrom(base)); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}
