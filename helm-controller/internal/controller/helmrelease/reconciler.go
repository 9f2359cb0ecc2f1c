// Package helmrelease reconciles HelmRelease objects: it makes sure the
// chart's source exists (creating the HelmChart of spec.chart), fetches and
// loads the chart, composes the values, then runs the Helm actions the
// release state machine asks for (install, upgrade, test, remediate) until
// the release is in sync, stalls or an action fails.
package helmrelease

import (
	"context"
	"time"

	"github.com/fluxcd/pkg/runtime/predicates"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	policyv1 "github.com/ferrycd/ferry/pkg/apis/policy/v1alpha1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/fetch"
	"github.com/ferrycd/ferry/pkg/dependency"
	"github.com/ferrycd/ferry/pkg/kubeclient"
	"github.com/ferrycd/ferry/pkg/outcome"

	"github.com/ferrycd/ferry/helm-controller/internal/action"
)

// Reconciler reconciles HelmRelease objects.
type Reconciler struct {
	client.Client
	outcome.Finisher
	// Fetcher downloads and caches chart artifacts by digest.
	Fetcher *fetch.Fetcher
	// Clients hands out the client each HelmRelease acts with.
	Clients *kubeclient.Factory
	// Configs builds Helm configurations, sharing discovery per target.
	Configs *action.Configs
	// Concurrent is how many HelmReleases reconcile at once.
	Concurrent int
	// NoCrossNamespaceRefs refuses chart sources in other namespaces
	// (--no-cross-namespace-refs).
	NoCrossNamespaceRefs bool
	// DependencyRequeue is how long to wait for a dependsOn entry to
	// become ready; zero means 10s.
	DependencyRequeue time.Duration
	// ArtifactRequeue is how long a HelmRelease waiting for its chart's
	// artifact waits for the watch to wake it before it looks again;
	// zero means 30s.
	ArtifactRequeue time.Duration
	// ProgressDelay is how long a Helm action runs before Reconciling
	// shows it; zero means 2s.
	ProgressDelay time.Duration
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// OwnedConditions are the conditions the reconciler writes.
var OwnedConditions = []string{"Ready", "Reconciling", "Stalled",
	helmv2.ReleasedCondition, helmv2.TestSuccessCondition, helmv2.RemediatedCondition, helmv2.DriftedCondition,
	policyv1.SyncWindowConditionType}

// SetupWithManager registers the reconciler, its indexes and watches: a
// chart source with a new artifact or one for its latest spec (the HelmChart
// of spec.chart included), or a change to a watched ConfigMap or Secret named in
// valuesFrom, requeues the HelmReleases using it at once, and so does a
// change to a SyncWindow that selects them.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := r.setupIndexes(ctx, mgr); err != nil {
		return err
	}
	watched := builder.WithPredicates(watchLabelled{})
	return dependency.Watch(ctrl.NewControllerManagedBy(mgr), r.Client, helmv2.HelmReleaseKind).
		For(&helmv2.HelmRelease{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicates.ReconcileRequestedPredicate{},
				annotationChanged{}))).
		Watches(&sourcev1.HelmChart{}, handler.EnqueueRequestsFromMapFunc(r.forSource(sourcev1.HelmChartKind)),
			builder.WithPredicates(chartArtifactReady{})).
		Watches(&sourcev1.OCIRepository{}, handler.EnqueueRequestsFromMapFunc(r.forSource(sourcev1.OCIRepositoryKind)),
			builder.WithPredicates(chartArtifactReady{})).
		Watches(&sourcev1.ExternalArtifact{}, handler.EnqueueRequestsFromMapFunc(r.forSource(sourcev1.ExternalArtifactKind)),
			builder.WithPredicates(chartArtifactReady{})).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.forValues("ConfigMap")), watched).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.forValues("Secret")), watched).
		Watches(&policyv1.SyncWindow{}, handler.EnqueueRequestsFromMapFunc(r.forSyncWindow)).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Concurrent}).
		Complete(r)
}

// Reconcile makes one HelmRelease's Helm release match its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return outcome.Lifecycle[*helmv2.HelmRelease]{
		Client:    r.Client,
		Finisher:  &r.Finisher,
		Finalizer: helmv2.HelmReleaseFinalizer,
		Suspended: func(obj *helmv2.HelmRelease) bool { return obj.Spec.Suspend },
		Cleanup:   r.cleanup,
		Steps:     r.reconcile,
	}.Run(ctx, req.NamespacedName, &helmv2.HelmRelease{})
}

func (r *Reconciler) progressDelay() time.Duration {
	if r.ProgressDelay > 0 {
		return r.ProgressDelay
	}
	return 2 * time.Second
}

func (r *Reconciler) dependencyRequeue() time.Duration {
	if r.DependencyRequeue > 0 {
		return r.DependencyRequeue
	}
	return 10 * time.Second
}
