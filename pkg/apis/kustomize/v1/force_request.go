package v1

import fluxmeta "github.com/fluxcd/pkg/apis/meta"

// ForceRequestAnnotation, set to the same value as
// reconcile.fluxcd.io/requestedAt, asks for one apply with spec.force
// behaviour (objects whose immutable fields changed are deleted and
// created again), as `ferry reconcile ks NAME --force` and `argocd app sync
// --force` do, without changing the spec. It is HelmRelease's forceAt
// annotation, with the same meaning.
const ForceRequestAnnotation = "reconcile.fluxcd.io/forceAt"

// ForceRequested is true while a force request is pending: forceAt equals
// requestedAt and the controller has not handled that request yet. Once
// the reconcile ends, status.lastHandledReconcileAt records the value and
// later reconciles apply without force again.
func (in *Kustomization) ForceRequested() bool {
	v := in.GetAnnotations()[ForceRequestAnnotation]
	requested, ok := fluxmeta.ReconcileAnnotationValue(in.GetAnnotations())
	return v != "" && ok && v == requested && v != in.Status.LastHandledReconcileAt
}
