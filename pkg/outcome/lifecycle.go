package outcome

import (
	"context"
	"time"

	"github.com/fluxcd/pkg/runtime/patch"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// Lifecycle is the part of a reconcile that is the same for every kind: get
// the object, finalize it when deleted (forgetting its metrics), add the
// finalizer, honour spec.suspend (recorded as gotk_suspend_status), run the
// kind's steps and end through Finish with one status patch.
type Lifecycle[T Object] struct {
	Client    client.Client
	Finisher  *Finisher
	Finalizer string
	// Suspended reports spec.suspend.
	Suspended func(T) bool
	// Cleanup runs on a deleted object before its finalizer is removed;
	// nil for none. A Wait error keeps the finalizer, is shown on Ready and
	// is looked at again after its delay.
	Cleanup func(context.Context, T) error
	// Steps reconcile a live object; the patcher serves mid-reconcile
	// progress updates (Finisher.Progress).
	Steps func(context.Context, T, *patch.SerialPatcher) error
}

// Run reconciles the object at key; obj is an empty object of the kind.
func (l Lifecycle[T]) Run(ctx context.Context, key types.NamespacedName, obj T) (ctrl.Result, error) {
	start := time.Now()
	if err := l.Client.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			// Gone without this controller seeing its finalizer (removed by
			// hand, or never added): its series go too.
			obj.SetNamespace(key.Namespace)
			obj.SetName(key.Name)
			l.Finisher.Forget(obj)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		err := l.finalize(ctx, obj)
		if e := As(err, ""); err != nil && e.Kind == Wait {
			// Cleanup waits on something (dependents deleted first): say so
			// on Ready and look again later.
			return l.Finisher.Finish(ctx, patch.NewSerialPatcher(obj, l.Client), obj, start, err)
		}
		return ctrl.Result{}, err
	}
	if !controllerutil.ContainsFinalizer(obj, l.Finalizer) {
		base := obj.DeepCopyObject().(T)
		controllerutil.AddFinalizer(obj, l.Finalizer)
		if err := l.Client.Patch(ctx, obj, client.MergeFrom(base)); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	suspended := l.Suspended(obj)
	l.Finisher.recordSuspend(obj, suspended)
	if suspended {
		ctrl.LoggerFrom(ctx).V(1).Info("reconciliation is suspended")
		return ctrl.Result{}, nil
	}
	patcher := patch.NewSerialPatcher(obj, l.Client)
	ctx = withStatusBase(ctx, l.Client, obj)
	err := l.Steps(ctx, obj, patcher)
	return l.Finisher.Finish(ctx, patcher, obj, start, err)
}

// finalize runs Cleanup, removes the finalizer and forgets the object's
// metrics.
func (l Lifecycle[T]) finalize(ctx context.Context, obj T) error {
	if !controllerutil.ContainsFinalizer(obj, l.Finalizer) {
		return nil
	}
	if l.Cleanup != nil {
		if err := l.Cleanup(ctx, obj); err != nil {
			return err
		}
	}
	base := obj.DeepCopyObject().(T)
	controllerutil.RemoveFinalizer(obj, l.Finalizer)
	if err := l.Client.Patch(ctx, obj, client.MergeFrom(base)); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	l.Finisher.Forget(obj)
	return nil
}
