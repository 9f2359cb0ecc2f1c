// Package receiver reconciles Receiver objects: it reads the token from the
// Receiver's Secret and publishes the webhook path derived from it in
// status.webhookPath, which is what the webhook server routes on. It
// re-reconciles when that Secret changes, so a rotated token takes effect at
// once.
package receiver

import (
	"context"

	"github.com/fluxcd/pkg/runtime/patch"
	"github.com/fluxcd/pkg/runtime/predicates"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/pkg/watch"
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
		// Only the Secrets' metadata is watched: the token is read live when
		// the Receiver reconciles, and a full watch would hold every Secret
		// of the cluster in memory.
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(
			watch.Referrers[notificationv1.ReceiverList](r.Client, secretRefIndex, watch.Name, watch.SameNamespace)),
			builder.OnlyMetadata).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Concurrent}).
		Complete(r)
}

// Reconcile publishes one Receiver's webhook path.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return outcome.Lifecycle[*notificationv1.Receiver]{
		Client: r.Client,
		// The finalizer is Flux's, so Receivers created under Flux delete
		// cleanly too.
		Finalizer: notificationv1.NotificationFinalizer,
		Finisher:  &r.Finisher,
		Suspended: func(obj *notificationv1.Receiver) bool { return obj.Spec.Suspend },
		Steps: func(ctx context.Context, obj *notificationv1.Receiver, _ *patch.SerialPatcher) error {
			return r.reconcile(ctx, obj)
		},
	}.Run(ctx, req.NamespacedName, &notificationv1.Receiver{})
}
