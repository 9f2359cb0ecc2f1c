package helmrelease

import (
	"context"
	"errors"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	policyv1 "github.com/ferrycd/ferry/pkg/apis/policy/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/pkg/syncwindow"
)

// checkSyncWindow holds the reconcile while a sync window blocks it. It
// runs first, so the release keeps its last state: no install, upgrade,
// test, rollback or drift correction, and no HelmChart written. The
// SyncWindow condition names the window and when it opens next. A window
// with manualSync lets a pending reconcile request through. Sets or
// removes SyncWindow.
func (r *Reconciler) checkSyncWindow(ctx context.Context, s *scope) error {
	obj := s.obj
	gate, err := syncwindow.Decide(ctx, r.Client, helmv2.HelmReleaseKind, obj, reconcileRequested(obj), time.Now())
	if err != nil {
		return outcome.RetryErr(policyv1.BlockedReason, err)
	}
	switch {
	case !gate.Blocked:
		conditions.Delete(obj, policyv1.SyncWindowConditionType)
		return nil
	case gate.Proceed:
		conditions.MarkTrue(obj, policyv1.SyncWindowConditionType, policyv1.ManualSyncReason,
			"%s; releasing the requested reconcile", gate.Message())
		return nil
	}
	conditions.MarkTrue(obj, policyv1.SyncWindowConditionType, policyv1.BlockedReason, "%s", gate.Message())
	after := obj.GetRequeueAfter()
	if !gate.NextOpen.IsZero() {
		after = min(after, time.Until(gate.NextOpen)+time.Second)
	}
	return outcome.HoldErr(policyv1.BlockedReason, after, errors.New(gate.Message()))
}

// reconcileRequested reports a reconcile.fluxcd.io/requestedAt the object
// has not handled yet: an explicit request, such as `flux reconcile hr`.
func reconcileRequested(obj *helmv2.HelmRelease) bool {
	v, ok := fluxmeta.ReconcileAnnotationValue(obj.GetAnnotations())
	return ok && v != obj.Status.LastHandledReconcileAt
}

// forSyncWindow requeues the HelmReleases of a changed window's namespace
// that it selects, so a window suspended in an emergency, or edited, takes
// effect at once.
func (r *Reconciler) forSyncWindow(ctx context.Context, o client.Object) []reconcile.Request {
	sw, ok := o.(*policyv1.SyncWindow)
	if !ok {
		return nil
	}
	var list helmv2.HelmReleaseList
	if err := r.List(ctx, &list, client.InNamespace(sw.Namespace)); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		if ok, _ := syncwindow.Selects(sw, helmv2.HelmReleaseKind, &list.Items[i]); ok {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return reqs
}
