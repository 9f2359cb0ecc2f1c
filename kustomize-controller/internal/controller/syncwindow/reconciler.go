// Package syncwindow reconciles SyncWindow objects: it checks that the
// schedule, duration and time zone parse, and keeps status.active and
// status.nextChange current, so `kubectl get syncwindows` shows which
// windows hold now. The kustomize-controller hosts it because every Ferry
// install runs one; the decision itself (pkg/syncwindow) is made by each
// controller that syncs, from the windows' specs, not from this status.
package syncwindow

import (
	"context"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	"github.com/fluxcd/pkg/runtime/predicates"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	policyv1 "github.com/ferrycd/ferry/pkg/apis/policy/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/pkg/syncwindow"
)

// +kubebuilder:rbac:groups=policy.ferrycd.io,resources=syncwindows,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=policy.ferrycd.io,resources=syncwindows/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=policy.ferrycd.io,resources=syncwindows/finalizers,verbs=get;create;update;patch;delete

// Reconciler keeps a SyncWindow's status current.
type Reconciler struct {
	Client   client.Client
	Finisher outcome.Finisher
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// SetupWithManager registers the reconciler.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&policyv1.SyncWindow{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicates.ReconcileRequestedPredicate{}))).
		Complete(r)
}

// Reconcile runs the window's one step through the shared lifecycle. A
// suspended window is still reconciled: its status says it blocks nothing.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return outcome.Lifecycle[*policyv1.SyncWindow]{
		Client:    r.Client,
		Finisher:  &r.Finisher,
		Finalizer: "finalizers.fluxcd.io",
		Suspended: func(*policyv1.SyncWindow) bool { return false },
		Steps: func(ctx context.Context, sw *policyv1.SyncWindow, _ *patch.SerialPatcher) error {
			return r.evaluate(sw)
		},
	}.Run(ctx, req.NamespacedName, &policyv1.SyncWindow{})
}

// evaluate sets Ready, active and nextChange. An invalid window stalls with
// the parse error (nothing but an edit can fix it) and blocks nothing else.
func (r *Reconciler) evaluate(sw *policyv1.SyncWindow) error {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	w, err := syncwindow.FromSpec(sw)
	if err != nil {
		sw.Status.Active, sw.Status.NextChange = false, nil
		return outcome.StallErr(policyv1.InvalidWindowReason, err)
	}
	if sw.Spec.Suspend {
		sw.Status.Active, sw.Status.NextChange = false, nil
		conditions.MarkTrue(sw, meta.ReadyCondition, policyv1.SuspendedReason, "window is suspended and blocks nothing")
		return nil
	}
	sw.Status.Active = w.ActiveAt(now)
	next := syncwindow.NextChange(w, now)
	if next.IsZero() {
		sw.Status.NextChange = nil
	} else {
		sw.Status.NextChange = &metav1.Time{Time: next}
	}
	reason, state := policyv1.InactiveReason, "inactive"
	if sw.Status.Active {
		reason, state = policyv1.ActiveReason, "active"
	}
	msg := sw.Spec.Kind + " window is " + state
	if !next.IsZero() {
		msg += " until " + next.UTC().Format(time.RFC3339)
	}
	conditions.MarkTrue(sw, meta.ReadyCondition, reason, "%s", msg)
	return nil
}
