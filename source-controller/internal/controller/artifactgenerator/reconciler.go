// Package artifactgenerator reconciles ArtifactGenerator objects: it fetches
// the artifacts of the named sources (verified against their digests),
// runs each output artifact's copy operations, archives the result
// deterministically, stores and serves it, and publishes it as an
// ExternalArtifact the generator owns. Because the archive of unchanged
// content has the same bytes, an output whose files did not change keeps its
// digest and revision, so the Kustomizations and HelmReleases consuming it do
// nothing when another part of a monorepo changes.
package artifactgenerator

import (
	"context"

	"github.com/fluxcd/pkg/runtime/patch"
	"github.com/fluxcd/pkg/runtime/predicates"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	sourceextv1 "github.com/ferrycd/ferry/pkg/apis/sourceext/v1beta1"
	"github.com/ferrycd/ferry/pkg/artifact/fetch"
	"github.com/ferrycd/ferry/pkg/artifact/storage"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/pkg/watch"
)

// The generator reads its sources, owns the ExternalArtifacts it generates and
// keeps its own status and finalizer.
// +kubebuilder:rbac:groups=source.extensions.fluxcd.io,resources=artifactgenerators,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=source.extensions.fluxcd.io,resources=artifactgenerators/status;artifactgenerators/finalizers,verbs=get;update;patch
// +kubebuilder:rbac:groups=source.toolkit.fluxcd.io,resources=externalartifacts,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=source.toolkit.fluxcd.io,resources=externalartifacts/status,verbs=get;update;patch

// Reconciler reconciles ArtifactGenerator objects.
type Reconciler struct {
	client.Client
	outcome.Finisher
	Storage *storage.Storage
	// Fetcher downloads and caches source artifacts by digest, so a source
	// that did not change is not downloaded again.
	Fetcher *fetch.Fetcher
	// NoCrossNamespaceRefs stalls generators that name a source in another
	// namespace (--no-cross-namespace-refs).
	NoCrossNamespaceRefs bool
	// Concurrent is how many ArtifactGenerators reconcile at once.
	Concurrent int
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// sourceIndexKey indexes generators by "<kind>/<namespace>/<name>" of each
// source, so a new source artifact requeues the generators that read it.
const sourceIndexKey = ".spec.sources"

// sourceKinds are the kinds a generator reads, each with an empty object to
// watch.
var sourceKinds = map[string]func() client.Object{
	sourcev1.GitRepositoryKind:    func() client.Object { return &sourcev1.GitRepository{} },
	sourcev1.OCIRepositoryKind:    func() client.Object { return &sourcev1.OCIRepository{} },
	sourcev1.HelmChartKind:        func() client.Object { return &sourcev1.HelmChart{} },
	sourcev1.ExternalArtifactKind: func() client.Object { return &sourcev1.ExternalArtifact{} },
}

// SetupWithManager registers the reconciler, a watch on each source kind and
// one on the ExternalArtifacts it owns, so one deleted by hand comes back.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &sourceextv1.ArtifactGenerator{}, sourceIndexKey,
		func(o client.Object) []string {
			obj := o.(*sourceextv1.ArtifactGenerator)
			var keys []string
			for _, src := range obj.Spec.Sources {
				keys = append(keys, src.Kind+"/"+sourceNamespace(obj, src)+"/"+src.Name)
			}
			return keys
		}); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&sourceextv1.ArtifactGenerator{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicates.ReconcileRequestedPredicate{},
			predicate.AnnotationChangedPredicate{}))).
		Owns(&sourcev1.ExternalArtifact{}, builder.WithPredicates(deleted{}))
	for kind, newObj := range sourceKinds {
		b = b.Watches(newObj(), handler.EnqueueRequestsFromMapFunc(r.generatorsOf(kind)),
			builder.WithPredicates(watch.ArtifactChanged{}))
	}
	return b.WithOptions(controller.Options{MaxConcurrentReconciles: r.Concurrent}).
		Named("artifactgenerator").
		Complete(r)
}

// Reconcile brings one generator's ExternalArtifacts up to date with its
// sources.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return outcome.Lifecycle[*sourceextv1.ArtifactGenerator]{
		Client:    r.Client,
		Finisher:  &r.Finisher,
		Finalizer: sourceextv1.Finalizer,
		Suspended: (*sourceextv1.ArtifactGenerator).IsDisabled,
		Cleanup:   r.cleanup,
		Steps: func(ctx context.Context, obj *sourceextv1.ArtifactGenerator, _ *patch.SerialPatcher) error {
			return r.reconcile(ctx, obj)
		},
	}.Run(ctx, req.NamespacedName, &sourceextv1.ArtifactGenerator{})
}

// generatorsOf maps a source of kind to the generators that read it.
func (r *Reconciler) generatorsOf(kind string) handler.MapFunc {
	return watch.Referrers[sourceextv1.ArtifactGeneratorList](r.Client, sourceIndexKey,
		func(o client.Object) string { return kind + "/" + o.GetNamespace() + "/" + o.GetName() }, watch.AnyNamespace)
}

// deleted passes only deletions: the generator's own status updates of its
// ExternalArtifacts must not requeue it.
type deleted struct{ predicate.Funcs }

// Create is ignored: the generator created the object itself.
func (deleted) Create(event.CreateEvent) bool { return false }

// Update is ignored: the generator wrote the update itself.
func (deleted) Update(event.UpdateEvent) bool { return false }

// Generic is ignored.
func (deleted) Generic(event.GenericEvent) bool { return false }

// Delete passes, so an ExternalArtifact deleted by hand is recreated.
func (deleted) Delete(event.DeleteEvent) bool { return true }

// sourceNamespace is the namespace of src: its own, or the generator's.
func sourceNamespace(obj *sourceextv1.ArtifactGenerator, src sourceextv1.SourceReference) string {
	if src.Namespace != "" {
		return src.Namespace
	}
	return obj.Namespace
}
