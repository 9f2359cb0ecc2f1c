package kustomization

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/kubeclient"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// Argo CD's sync options on the Kustomization spec: createNamespace,
// pruneLast (in the step order, see steps) and the empty-build guard.

// steps is the reconcile's step list. pruneLast moves prune after the
// health check, so nothing is deleted before what replaces it is serving.
func (r *Reconciler) steps(obj *kustomizev1.Kustomization) []func(context.Context, *scope) error {
	steps := []func(context.Context, *scope) error{
		r.checkSyncWindow,
		r.checkDependencies,
		r.getSource,
		r.fetchArtifact,
		r.build,
		r.guardEmptyBuild,
		r.createNamespace,
		r.apply,
	}
	if obj.Spec.PruneLast {
		return append(steps, r.checkHealth, r.prune)
	}
	return append(steps, r.prune, r.checkHealth)
}

// guardEmptyBuild refuses a build with no objects when the Kustomization
// owns some and would prune them all: that is far more often a wrong path
// or a branch emptied by mistake than a wish to delete an application.
// spec.allowEmpty lets it through. Sets Ready=False with EmptyBuild; the
// Kustomization stalls until its spec or source changes.
func (r *Reconciler) guardEmptyBuild(_ context.Context, s *scope) error {
	obj := s.obj
	if len(s.objects) > 0 || obj.Spec.AllowEmpty || obj.Status.Inventory == nil || len(obj.Status.Inventory.Entries) == 0 {
		return nil
	}
	return outcome.StallErr(kustomizev1.EmptyBuildReason, fmt.Errorf(
		"the build of revision '%s' at path '%s' produced no objects, which would prune all %d applied before: "+
			"nothing was pruned; check spec.path and the source, or set spec.allowEmpty to prune them",
		s.artifact.Revision, obj.Spec.Path, len(obj.Status.Inventory.Entries)))
}

// createNamespace creates spec.targetNamespace when it is missing and
// spec.createNamespace asks for it, labelled with this Kustomization's owner
// labels so users can tell who made it. The namespace is not in the
// inventory: it is never pruned nor deleted with the Kustomization, as Argo
// CD's CreateNamespace leaves it too. It is created with the
// Kustomization's own identity (serviceAccountName, kubeConfig).
func (r *Reconciler) createNamespace(ctx context.Context, s *scope) error {
	obj := s.obj
	if !obj.Spec.CreateNamespace || obj.Spec.TargetNamespace == "" {
		return nil
	}
	target, err := r.target(ctx, obj)
	if err != nil {
		return outcome.RetryErr(kustomizev1.ReconciliationFailedReason, err)
	}
	name := obj.Spec.TargetNamespace
	err = target.Client.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{})
	if !apierrors.IsNotFound(err) {
		return namespaceErr(name, err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		kustomizev1.NameLabel: obj.Name, kustomizev1.NamespaceLabel: obj.Namespace,
	}}}
	if err := target.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return namespaceErr(name, err)
	}
	r.Event(obj, s.artifact.Revision, corev1.EventTypeNormal, "Progressing", "Namespace/"+name+" created")
	return nil
}

func namespaceErr(name string, err error) error {
	if err == nil {
		return nil
	}
	return outcome.RetryErr(kustomizev1.ReconciliationFailedReason,
		errors.Join(fmt.Errorf("failed to create the target namespace '%s' (spec.createNamespace)", name), err))
}

// target is the client the Kustomization applies with.
func (r *Reconciler) target(ctx context.Context, obj *kustomizev1.Kustomization) (*kubeclient.Target, error) {
	return r.Clients.Get(ctx, r.Client, kubeclient.Options{
		Namespace: obj.Namespace, ServiceAccountName: obj.Spec.ServiceAccountName, KubeConfig: obj.Spec.KubeConfig,
	})
}
