// Package pending is the reconciler for kinds whose CRD Ferry already serves
// but whose controller logic has not landed yet. It tells the user so on the
// object (Ready=Unknown, reason NotImplemented) and claims nothing more: it
// sets no observedGeneration and no artifact, so no tool mistakes the object
// for reconciled.
package pending

import (
	"context"
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// ReasonNotImplemented says the kind is served but not yet reconciled.
const ReasonNotImplemented = "NotImplemented"

// Object is an API object with status conditions.
type Object interface {
	client.Object
	conditions.Setter
}

// Reconciler marks objects of one kind as not reconciled yet.
type Reconciler[T Object] struct {
	Client client.Client
	// Kind is the kind's name, used in the condition message.
	Kind string
	// New returns an empty object of the kind.
	New func() T
}

var _ reconcile.Reconciler = (*Reconciler[Object])(nil)

// SetupWithManager registers the reconciler for the kind.
func (r *Reconciler[T]) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named(r.Kind).
		For(r.New(), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Complete(r)
}

// Reconcile sets Ready=Unknown with a message naming the kind, once.
func (r *Reconciler[T]) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := r.New()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if c := conditions.Get(obj, meta.ReadyCondition); c != nil && c.Reason == ReasonNotImplemented {
		return ctrl.Result{}, nil
	}
	before := obj.DeepCopyObject().(T)
	conditions.MarkUnknown(obj, meta.ReadyCondition, ReasonNotImplemented,
		"%s objects are not reconciled yet by this version of Ferry", r.Kind)
	if err := r.Client.Status().Patch(ctx, obj, client.MergeFrom(before)); err != nil {
		return ctrl.Result{}, fmt.Errorf("failed to update the status of %s %s: %w", r.Kind, req, err)
	}
	return ctrl.Result{}, nil
}

// Registrar is anything that registers itself with a manager.
type Registrar interface {
	SetupWithManager(ctrl.Manager) error
}

// SetupAll registers each reconciler with mgr, stopping at the first error.
func SetupAll(mgr ctrl.Manager, rs ...Registrar) error {
	for _, r := range rs {
		if err := r.SetupWithManager(mgr); err != nil {
			return err
		}
	}
	return nil
}

// For returns a Reconciler for the kind whose empty object newObj returns.
func For[T Object](c client.Client, kind string, newObj func() T) *Reconciler[T] {
	return &Reconciler[T]{Client: c, Kind: kind, New: newObj}
}
