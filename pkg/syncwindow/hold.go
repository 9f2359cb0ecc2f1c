package syncwindow

import (
	"context"
	"errors"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	policyv1 "github.com/ferrycd/ferry/pkg/apis/policy/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// Check is the sync-window step Kustomizations and HelmReleases run first:
// while the windows selecting obj block it, it returns a Hold, so the object
// keeps its last applied state and Ready as the last reconcile left it, and
// is requeued when the window opens next (or at its interval, if sooner).
// A window with manualSync lets a reconcile.fluxcd.io/requestedAt the object
// has not handled yet through. Sets the SyncWindow condition while a window
// blocks and removes it otherwise.
func Check(ctx context.Context, r client.Reader, kind string, obj outcome.Object, now time.Time) error {
	gate, err := Decide(ctx, r, kind, obj, reconcileRequested(obj), now)
	if err != nil {
		return outcome.RetryErr(policyv1.BlockedReason, err)
	}
	switch {
	case !gate.Blocked:
		conditions.Delete(obj, policyv1.SyncWindowConditionType)
		return nil
	case gate.Proceed:
		conditions.MarkTrue(obj, policyv1.SyncWindowConditionType, policyv1.ManualSyncReason,
			"%s; applying the requested reconcile", gate.Message())
		return nil
	}
	conditions.MarkTrue(obj, policyv1.SyncWindowConditionType, policyv1.BlockedReason, "%s", gate.Message())
	after := obj.GetRequeueAfter()
	if !gate.NextOpen.IsZero() {
		after = min(after, gate.NextOpen.Sub(now)+time.Second)
	}
	return outcome.HoldErr(policyv1.BlockedReason, after, errors.New(gate.Message()))
}

// reconcileRequested reports a reconcile.fluxcd.io/requestedAt the object
// has not handled yet: an explicit request, such as `flux reconcile`.
func reconcileRequested(obj outcome.Object) bool {
	v, ok := fluxmeta.ReconcileAnnotationValue(obj.GetAnnotations())
	return ok && v != obj.GetReconcileRequestStatus().LastHandledReconcileAt
}

// Requeue maps a changed SyncWindow to the objects of kind in its namespace
// that it selects, listed with newList, so a window suspended in an
// emergency, or edited, takes effect at once.
func Requeue(c client.Reader, kind string, newList func() client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		sw, ok := o.(*policyv1.SyncWindow)
		if !ok {
			return nil
		}
		list := newList()
		if err := c.List(ctx, list, client.InNamespace(sw.Namespace)); err != nil {
			return nil
		}
		items, err := apimeta.ExtractList(list)
		if err != nil {
			return nil
		}
		var reqs []reconcile.Request
		for _, item := range items {
			obj, ok := item.(metav1.Object)
			if !ok {
				continue
			}
			if selected, _ := Selects(sw, kind, obj); selected {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: obj.GetNamespace(), Name: obj.GetName()}})
			}
		}
		return reqs
	}
}
