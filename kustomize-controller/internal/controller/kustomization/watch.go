package kustomization

import (
	"context"
	"fmt"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
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
			ns := d.Namespace
			if ns == "" {
				ns = k.Namespace
			}
			keys = append(keys, ns+"/"+d.Name)
		}
		return keys
	})
}

func sourceKey(kind, namespace, name string) string {
	return fmt.Sprintf("%s/%s/%s", kind, namespace, name)
}

// forSource maps a source to the Kustomizations built from it.
func (r *Reconciler) forSource(kind string) func(context.Context, client.Object) []reconcile.Request {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		return r.list(ctx, sourceIndexKey, sourceKey(kind, o.GetNamespace(), o.GetName()))
	}
}

// dependents maps a Kustomization to those that depend on it.
func (r *Reconciler) dependents(ctx context.Context, o client.Object) []reconcile.Request {
	return r.list(ctx, dependencyIndexKey, o.GetNamespace()+"/"+o.GetName())
}

func (r *Reconciler) list(ctx context.Context, key, value string) []reconcile.Request {
	var list kustomizev1.KustomizationList
	if err := r.List(ctx, &list, client.MatchingFields{key: value}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "failed to list Kustomizations", "index", key, "value", value)
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}

// sourceRevisionChanged passes source updates that bring a new artifact.
type sourceRevisionChanged struct{ predicate.Funcs }

func (sourceRevisionChanged) Create(event.CreateEvent) bool   { return false }
func (sourceRevisionChanged) Delete(event.DeleteEvent) bool   { return false }
func (sourceRevisionChanged) Generic(event.GenericEvent) bool { return false }

func (sourceRevisionChanged) Update(e event.UpdateEvent) bool {
	oldA, newA := artifactOf(e.ObjectOld), artifactOf(e.ObjectNew)
	return newA != nil && (oldA == nil || oldA.Revision != newA.Revision || oldA.Digest != newA.Digest)
}

func artifactOf(o client.Object) *fluxmeta.Artifact {
	if src, ok := o.(interface{ GetArtifact() *fluxmeta.Artifact }); ok {
		return src.GetArtifact()
	}
	return nil
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
