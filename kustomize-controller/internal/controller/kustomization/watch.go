package kustomization

import (
	"context"
	"fmt"

	"github.com/fluxcd/pkg/runtime/conditions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/dependency"
	"github.com/ferrycd/ferry/pkg/watch"
)

const (
	// sourceIndexKey indexes Kustomizations by "<kind>/<namespace>/<name>"
	// of their source.
	sourceIndexKey = ".metadata.source"
	// dependencyIndexKey indexes Kustomizations by "<namespace>/<name>" of
	// each Kustomization they depend on.
	dependencyIndexKey = ".metadata.dependsOn"
)

func (r *Reconciler) setupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &kustomizev1.Kustomization{}, sourceIndexKey, func(o client.Object) []string {
		k := o.(*kustomizev1.Kustomization)
		return []string{sourceKey(k.Spec.SourceRef.Kind, sourceNamespace(k), k.Spec.SourceRef.Name)}
	}); err != nil {
		return err
	}
	return idx.IndexField(ctx, &kustomizev1.Kustomization{}, dependencyIndexKey, func(o client.Object) []string {
		k := o.(*kustomizev1.Kustomization)
		keys := make([]string, 0, len(k.Spec.DependsOn))
		for _, d := range k.GetDependsOn() {
			keys = append(keys, dependency.Key(k, d).String())
		}
		return keys
	})
}

func sourceKey(kind, namespace, name string) string {
	return fmt.Sprintf("%s/%s/%s", kind, namespace, name)
}

// forSource maps a source to the Kustomizations built from it.
func (r *Reconciler) forSource(kind string) handler.MapFunc {
	return watch.Referrers[kustomizev1.KustomizationList](r.Client, sourceIndexKey,
		func(o client.Object) string { return sourceKey(kind, o.GetNamespace(), o.GetName()) }, watch.AnyNamespace)
}

// dependents maps a Kustomization to those that depend on it.
func (r *Reconciler) dependents() handler.MapFunc {
	return watch.Referrers[kustomizev1.KustomizationList](r.Client, dependencyIndexKey,
		func(o client.Object) string { return o.GetNamespace() + "/" + o.GetName() }, watch.AnyNamespace)
}

// becameReady passes Kustomization updates where Ready turned True or the
// applied revision moved, which may unblock its dependents.
type becameReady struct{ predicate.Funcs }

func (becameReady) Create(event.CreateEvent) bool   { return false }
func (becameReady) Delete(event.DeleteEvent) bool   { return false }
func (becameReady) Generic(event.GenericEvent) bool { return false }

func (becameReady) Update(e event.UpdateEvent) bool {
	oldK, ok1 := e.ObjectOld.(*kustomizev1.Kustomization)
	newK, ok2 := e.ObjectNew.(*kustomizev1.Kustomization)
	if !ok1 || !ok2 || !conditions.IsReady(newK) {
		return false
	}
	return !conditions.IsReady(oldK) || oldK.Status.LastAppliedRevision != newK.Status.LastAppliedRevision
}
