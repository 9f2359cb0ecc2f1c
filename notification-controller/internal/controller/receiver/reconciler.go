// Package receiver reconciles Receiver objects: it reads the token from the
// Receiver's Secret and publishes the webhook path derived from it in
// status.webhookPath, which is what the webhook server routes on. It
// re-reconciles when that Secret changes, so a rotated token takes effect at
// once.
package receiver

import (
	"context"
	"time"

	"github.com/fluxcd/pkg/runtime/patch"
	"github.com/fluxcd/pkg/runtime/predicates"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// Reconciler reconciles Receiver objects.
type Reconciler struct {
	client.Client
	outcome.Finisher
	// NoCrossNamespaceRefs stalls Receivers that list resources in other
	// namespaces.
	NoCrossNamespaceRefs bool
	// Concurrent is how many Receivers reconcile at once.
	Concurrent int
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// secretRefIndex indexes Receivers by the name of their Secret, so a Secret
// change requeues only the Receivers that use it.
const secretRefIndex = ".spec.secretRef.name"

// SetupWithManager registers the reconciler, its index and its watches.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &notificationv1.Receiver{}, secretRefIndex,
		func(o client.Object) []string {
			return []string{o.(*notificationv1.Receiver).Spec.SecretRef.Name}
		}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&notificationv1.Receiver{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicates.ReconcileRequestedPredicate{}))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.receiversOf)).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Concurrent}).
		Complete(r)
}

// Reconcile publishes one Receiver's webhook path.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := time.Now()
	obj := &notificationv1.Receiver{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, obj)
	}
	if !controllerutil.ContainsFinalizer(obj, notificationv1.NotificationFinalizer) {
		base := obj.DeepCopy()
		controllerutil.AddFinalizer(obj, notificationv1.NotificationFinalizer)
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

// finalize forgets the Receiver's metrics, then removes its finalizer. The
// finalizer is Flux's, so Receivers created under Flux delete cleanly too.
func (r *Reconciler) finalize(ctx context.Context, obj *notificationv1.Receiver) error {
	if !controllerutil.ContainsFinalizer(obj, notificationv1.NotificationFinalizer) {
		return nil
	}
	if r.Metrics != nil {
		ref := corev1.ObjectReference{Kind: notificationv1.ReceiverKind, Namespace: obj.Namespace, Name: obj.Name}
		r.Metrics.DeleteCondition(ref, "Ready")
		r.Metrics.DeleteDuration(ref)
	}
	base := obj.DeepCopy()
	controllerutil.RemoveFinalizer(obj, notificationv1.NotificationFinalizer)
	if err := r.Patch(ctx, obj, client.MergeFrom(base)); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

// receiversOf maps a Secret to the Receivers in its namespace that use it.
func (r *Reconciler) receiversOf(ctx context.Context, o client.Object) []reconcile.Request {
	var list notificationv1.ReceiverList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()),
		client.MatchingFields{secretRefIndex: o.GetName()}); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, item := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&item)})
	}
	return reqs
}
