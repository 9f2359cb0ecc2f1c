package helmrelease

import (
	"context"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	"github.com/ferrycd/ferry/pkg/syncwindow"
)

// checkSyncWindow holds the reconcile while a sync window blocks it. It
// runs first, so the release keeps its last state: no install, upgrade,
// test, rollback or drift correction, and no HelmChart written. The
// SyncWindow condition names the window and when it opens next. A window
// with manualSync lets a pending reconcile request through. Sets or
// removes SyncWindow (pkg/syncwindow's rule, which Kustomizations share).
func (r *Reconciler) checkSyncWindow(ctx context.Context, s *scope) error {
	return syncwindow.Check(ctx, r.Client, helmv2.HelmReleaseKind, s.obj, time.Now())
}

// forSyncWindow requeues the HelmReleases of a changed window's namespace
// that it selects, so a window suspended in an emergency, or edited, takes
// effect at once.
func (r *Reconciler) forSyncWindow(ctx context.Context, o client.Object) []reconcile.Request {
	return syncwindow.Requeue(r.Client, helmv2.HelmReleaseKind,
		func() client.ObjectList { return &helmv2.HelmReleaseList{} })(ctx, o)
}
