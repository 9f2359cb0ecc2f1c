// Package kustomization reconciles Kustomization objects: it waits for
// dependencies, fetches the source artifact, builds the path with kustomize,
// substitutes variables, decrypts SOPS secrets, applies the result with
// server-side apply in stages, prunes what left Git, and waits for health.
package kustomization

import (
	"context"

	"github.com/fluxcd/pkg/runtime/predicates"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	policyv1 "github.com/ferrycd/ferry/pkg/apis/policy/v1alpha1"
	"github.com/ferrycd/ferry/pkg/artifact/fetch"
	"github.com/ferrycd/ferry/pkg/dependency"
	"github.com/ferrycd/ferry/pkg/kubeclient"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/pkg/watch"
)

// Reconciler reconciles Kustomization objects.
type Reconciler struct {
	client.Client
	outcome.Finisher
	// Fetcher downloads and caches source artifacts by digest.
	Fetcher *fetch.Fetcher
	// Clients hands out the client each Kustomization applies with.
	Clients *kubeclient.Factory
	// Concurrent is how many Kustomizations reconcile at once.
	Concurrent int
	// NoCrossNamespaceRefs refuses sourceRefs and dependsOn entries in
	// other namespaces (--no-cross-namespace-refs).
	NoCrossNamespaceRefs bool
	// NoRemoteBases refuses kustomize remote bases (--no-remote-bases).
	NoRemoteBases bool
	// Limits bound each build.
	Limits BuildLimits

	// drift watches applied objects and remembers the last applies.
	drift *driftWatcher
	// builds remembers the last build of each Kustomization.
	builds buildCache
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// OwnedConditions are the conditions the reconciler writes.
var OwnedConditions = []string{"Ready", "Reconciling", "Stalled", kustomizev1.HealthyCondition, policyv1.SyncWindowConditionType, kustomizev1.DriftedCondition}

// SetupWithManager registers the reconciler, its indexes and watches: a new
// source artifact and a dependency (Kustomization or HelmRelease) becoming
// ready both requeue the Kustomizations that wait on them at once, and a
// dependent deleted for good requeues what it depended on.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := r.setupIndexes(ctx, mgr); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&kustomizev1.Kustomization{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicates.ReconcileRequestedPredicate{})))
	for kind, newSource := range sourceKinds {
		b = b.Watches(newSource(), handler.EnqueueRequestsFromMapFunc(r.forSource(kind)),
			builder.WithPredicates(watch.ArtifactChanged{}))
	}
	b = b.Watches(&policyv1.SyncWindow{}, handler.EnqueueRequestsFromMapFunc(r.forSyncWindow))
	b, err := r.setupDrift(mgr, b)
	if err != nil {
		return err
	}
	return dependency.Watch(b, r.Client, kustomizev1.KustomizationKind).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Concurrent}).
		Complete(r)
}

// Reconcile makes the cluster hold what one Kustomization's source says.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return outcome.Lifecycle[*kustomizev1.Kustomization]{
		Client:    r.Client,
		Finisher:  &r.Finisher,
		Finalizer: kustomizev1.KustomizationFinalizer,
		Suspended: func(obj *kustomizev1.Kustomization) bool { return obj.Spec.Suspend },
		Cleanup:   r.finalize,
		Steps:     r.reconcile,
	}.Run(ctx, req.NamespacedName, &kustomizev1.Kustomization{})
}
