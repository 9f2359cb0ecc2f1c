package helmrelease

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"

	"github.com/ferrycd/ferry/helm-controller/internal/action"
)

// finalize uninstalls the release of a deleted HelmRelease (unless it is
// suspended), deletes the HelmChart it created, then drops the finalizer.
// A failed uninstall is retried; the finalizer stays until it succeeds.
func (r *Reconciler) finalize(ctx context.Context, obj *helmv2.HelmRelease) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(obj, helmv2.HelmReleaseFinalizer) {
		return ctrl.Result{}, nil
	}
	if !obj.Spec.Suspend && obj.Status.History.Latest() != nil {
		if err := r.uninstall(ctx, obj); err != nil {
			r.Event(obj, "", corev1.EventTypeWarning, helmv2.UninstallFailedReason, err.Error())
			return ctrl.Result{}, err
		}
	}
	if ns, name := obj.Status.GetHelmChart(); name != "" {
		if err := r.deleteHelmChart(ctx, ns, name); err != nil {
			return ctrl.Result{}, err
		}
	}
	base := obj.DeepCopy()
	controllerutil.RemoveFinalizer(obj, helmv2.HelmReleaseFinalizer)
	if err := r.Patch(ctx, obj, client.MergeFrom(base)); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}

// uninstall removes the release last recorded in history.
func (r *Reconciler) uninstall(ctx context.Context, obj *helmv2.HelmRelease) error {
	last := obj.Status.History.Latest()
	storageNs := obj.Status.StorageNamespace
	if storageNs == "" {
		storageNs = obj.GetStorageNamespace()
	}
	_, cfg, err := r.helmConfig(ctx, obj, last.Namespace, storageNs)
	if err != nil {
		return err
	}
	target := obj.DeepCopy()
	target.Spec.ReleaseName, target.Spec.TargetNamespace = last.Name, last.Namespace
	if _, err := action.Uninstall(cfg, target); err != nil {
		return fmt.Errorf("failed to uninstall release '%s/%s': %w", last.Namespace, last.Name, err)
	}
	r.Event(obj, "", corev1.EventTypeNormal, helmv2.UninstallSucceededReason,
		fmt.Sprintf("Helm uninstall succeeded for release %s/%s", last.Namespace, last.Name))
	return nil
}
