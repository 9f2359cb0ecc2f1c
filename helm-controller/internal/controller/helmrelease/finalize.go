package helmrelease

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/dependency"

	"github.com/ferrycd/ferry/helm-controller/internal/action"
)

// cleanup uninstalls the release of a deleted HelmRelease (unless it is
// suspended) and deletes the HelmChart it created, before the finalizer is
// removed. A failed uninstall is retried; the finalizer stays until it
// succeeds. While a HelmRelease or Kustomization that depends on it is being
// deleted too, it waits (Ready=False, DependentsDeleting): dependents are
// torn down first.
func (r *Reconciler) cleanup(ctx context.Context, obj *helmv2.HelmRelease) error {
	if err := dependency.Finalize(ctx, r.Client, helmv2.HelmReleaseKind, obj, r.dependencyRequeue()); err != nil {
		return err
	}
	if !obj.Spec.Suspend && obj.Status.History.Latest() != nil {
		if err := r.uninstall(ctx, obj); err != nil {
			r.Event(obj, "", corev1.EventTypeWarning, helmv2.UninstallFailedReason, err.Error())
			return err
		}
	}
	if ns, name := obj.Status.GetHelmChart(); name != "" {
		return r.deleteHelmChart(ctx, ns, name)
	}
	if obj.HasChartTemplate() {
		// Deleted before any status recorded its HelmChart (a first wait
		// goes unwritten for a moment, outcome.Finisher.Quiet): the
		// chart its template names, if this release made it.
		return r.deleteOwnHelmChart(ctx, obj)
	}
	return nil
}

// deleteOwnHelmChart deletes the HelmChart obj's template names when its
// labels say obj made it: names are "<namespace>-<name>", which two
// releases of other namespaces can share.
func (r *Reconciler) deleteOwnHelmChart(ctx context.Context, obj *helmv2.HelmRelease) error {
	hc := &sourcev1.HelmChart{}
	key := types.NamespacedName{Namespace: obj.Spec.Chart.GetNamespace(obj.Namespace), Name: obj.GetHelmChartName()}
	if err := r.Get(ctx, key, hc); err != nil {
		return client.IgnoreNotFound(err)
	}
	if hc.Labels[helmv2.NameLabel] != obj.Name || hc.Labels[helmv2.NamespaceLabel] != obj.Namespace {
		return nil
	}
	return r.deleteHelmChart(ctx, key.Namespace, key.Name)
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
