package kustomization

import (
	"context"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/syncwindow"
)

// checkSyncWindow holds the reconcile while a sync window blocks it: the
// last applied state stays, nothing is applied, pruned or healed, and the
// SyncWindow condition names the window and when it opens next. A window
// with manualSync lets a pending reconcile request through. Sets or
// removes SyncWindow (pkg/syncwindow's rule, which HelmReleases share).
func (r *Reconciler) checkSyncWindow(ctx context.Context, s *scope) error {
	return syncwindow.Check(ctx, r.Client, kustomizev1.KustomizationKind, s.obj, time.Now())
}

// forSyncWindow requeues the Kustomizations of a changed window's namespace
// that it selects, so a window suspended in an emergency, or edited, takes
// effect at once.
func (r *Reconciler) forSyncWindow(ctx context.Context, o client.Object) []reconcile.Request {
	return syncwindow.Requeue(r.Client, kustomizev1.KustomizationKind,
		func() client.ObjectList { return &kustomizev1.KustomizationList{} })(ctx, o)
}
