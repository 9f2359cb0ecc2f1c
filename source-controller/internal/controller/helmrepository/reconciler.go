// Package helmrepository reconciles HelmRepository objects. For type default
// it fetches the repository's index.yaml every interval and, when its digest
// changed, checks that it parses and stores it byte for byte as the
// artifact, with the digest as revision. A HelmRepository of type oci only
// names a registry that HelmCharts pull from directly, so it stores nothing.
package helmrepository

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
	start := time.Now()
	obj := &sourcev1.HelmRepository{}
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
	if obj.Spec.Type == sourcev1.HelmRepositoryTypeOCI {
		res, err := r.Finish(ctx, patcher, obj, start, r.reconcileOCI(obj))
		res.RequeueAfter = 0 // a static object: only a spec change matters
		return res, err
	}
	err := r.reconcile(ctx, obj)
	return r.Finish(ctx, patcher, obj, start, err)
}

// finalize removes the object's artifacts from storage, then its finalizer.
func (r *Reconciler) finalize(ctx context.Context, obj *sourcev1.HelmRepository) error {
	if !controllerutil.ContainsFinalizer(obj, sourcev1.SourceFinalizer) {
		return nil
	}
	if err := r.Storage.RemoveAll(sourcev1.HelmRepositoryKind, obj.Namespace, obj.Name); err != nil {
		return err
	}
	base := obj.DeepCopy()
	controllerutil.RemoveFinalizer(obj, sourcev1.SourceFinalizer)
	if err := r.Patch(ctx, obj, client.MergeFrom(base)); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}
