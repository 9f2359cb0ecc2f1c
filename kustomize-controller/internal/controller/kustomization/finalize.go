package kustomization

import (
	"context"
	"fmt"

	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/dependency"
)

// finalize tears a deleted Kustomization down in reverse dependency order:
// while a Kustomization or HelmRelease that depends on it is being deleted
// too, it waits (Ready=False, DependentsDeleting), so what it installed
// (CRDs, namespaces, operators) outlives the objects that need them. Then it
// deletes what it applied.
func (r *Reconciler) finalize(ctx context.Context, obj *kustomizev1.Kustomization) error {
	if err := dependency.Finalize(ctx, r.Client, kustomizev1.KustomizationKind, obj, obj.GetRetryInterval()); err != nil {
		return err
	}
	return r.deleteApplied(ctx, obj)
}

// deleteApplied deletes what the Kustomization applied when its deletion
// policy says so (MirrorPrune: when spec.prune is set; Delete: always;
// Orphan: never), before the finalizer is removed. A suspended
// Kustomization deletes nothing, whatever its policy, as in Flux: suspend
// is how a user hands objects over (to another Kustomization, or to
// nobody) before deleting the one that applied them.
func (r *Reconciler) deleteApplied(ctx context.Context, obj *kustomizev1.Kustomization) error {
	if !deletes(obj) || obj.Status.Inventory == nil || len(obj.Status.Inventory.Entries) == 0 {
		return nil
	}
	if err := r.deleteInventory(ctx, obj); err != nil {
		r.Event(obj, "", corev1.EventTypeWarning, kustomizev1.PruneFailedReason, err.Error())
		return err
	}
	return nil
}

func deletes(obj *kustomizev1.Kustomization) bool {
	if obj.Spec.Suspend {
		return false
	}
	switch obj.GetDeletionPolicy() {
	case kustomizev1.DeletionPolicyDelete:
		return true
	case kustomizev1.DeletionPolicyOrphan:
		return false
	default:
		return obj.Spec.Prune
	}
}

func (r *Reconciler) deleteInventory(ctx context.Context, obj *kustomizev1.Kustomization) error {
	target, err := r.target(ctx, obj)
	if err != nil {
		return err
	}
	objects, err := staleObjects(obj.Status.Inventory, nil)
	if err != nil {
		return err
	}
	rm := ssa.NewResourceManager(target.Client, target.Poller, ssa.Owner{Field: fieldManager, Group: kustomizev1.GroupVersion.Group})
	cs, err := deleteInOrder(ctx, target.Client, rm, objects, deleteOptions(rm, obj))
	if err != nil {
		return fmt.Errorf("failed to delete the objects of Kustomization '%s/%s': %w", obj.Namespace, obj.Name, err)
	}
	if changes := changed(cs); changes != "" {
		r.Event(obj, obj.Status.LastAppliedRevision, corev1.EventTypeNormal, "Progressing", changes)
	}
	return nil
}
