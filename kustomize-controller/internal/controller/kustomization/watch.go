package kustomization

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/dependency"
	"github.com/ferrycd/ferry/pkg/watch"
)

const (
	// sourceIndexKey indexes Kustomizations by "<kind>/<namespace>/<name>"
	// of their source.
	sourceIndexKey = ".metadata.source"
)

func (r *Reconciler) setupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &kustomizev1.Kustomization{}, sourceIndexKey, func(o client.Object) []string {
		k := o.(*kustomizev1.Kustomization)
		return []string{sourceKey(k.Spec.SourceRef.Kind, sourceNamespace(k), k.Spec.SourceRef.Name)}
	}); err != nil {
		return err
	}
	return dependency.SetupIndexes(ctx, mgr)
}

func sourceKey(kind, namespace, name string) string {
	return fmt.Sprintf("%s/%s/%s", kind, namespace, name)
}

// forSource maps a source to the Kustomizations built from it.
func (r *Reconciler) forSource(kind string) handler.MapFunc {
	return watch.Referrers[kustomizev1.KustomizationList](r.Client, sourceIndexKey,
		func(o client.Object) string { return sourceKey(kind, o.GetNamespace(), o.GetName()) }, watch.AnyNamespace)
}
