package kustomization

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	ssautils "github.com/fluxcd/pkg/ssa/utils"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/kubeclient"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// fieldManager is the server-side apply field manager, Flux's name.
const fieldManager = "kustomize-controller"

// apply applies the objects in stages (CRDs and Namespaces first, waiting
// until they are established) with server-side apply, writing only objects
// that differ from the cluster, and records the inventory. An object the API
// server rejects fails before any existing object is written; applyObjects
// says how few requests that takes. An unchanged
// build whose objects nobody edited is not applied at all, and in drift
// detection's warn mode a build already applied is only compared
// (skipOrReport).
func (r *Reconciler) apply(ctx context.Context, s *scope) error {
	obj := s.obj
	target, err := r.Clients.Get(ctx, r.Client, kubeclient.Options{
		Namespace: obj.Namespace, ServiceAccountName: obj.Spec.ServiceAccountName, KubeConfig: obj.Spec.KubeConfig,
	})
	if err != nil {
		return outcome.RetryErr(kustomizev1.ReconciliationFailedReason, err)
	}
	s.target = target
	s.previous = obj.Status.Inventory.DeepCopy()
	poller, err := healthPoller(obj, target)
	if err != nil {
		return outcome.StallErr(kustomizev1.ReconciliationFailedReason, err)
	}
	s.manager = ssa.NewResourceManager(target.Client, poller, ssa.Owner{
		Field: fieldManager, Group: kustomizev1.GroupVersion.Group,
	})
	s.manager.SetOwnerLabels(s.objects, obj.Name, obj.Namespace)
	if err := r.checkKinds(s); err != nil {
		return outcome.RetryErr(kustomizev1.ReconciliationFailedReason, err)
	}
	if err := r.keepRolloutSelectors(ctx, s); err != nil {
		return outcome.RetryErr(kustomizev1.ReconciliationFailedReason, err)
	}

	opts := ssa.DefaultApplyOptions()
	// A pending `ferry reconcile ks --force` request forces this one apply.
	opts.Force = obj.Spec.Force || obj.ForceRequested()
	opts.ForceSelector = map[string]string{kustomizev1.ForceAnnotation: kustomizev1.EnabledValue}
	opts.ExclusionSelector = exclusions()
	opts.IfNotPresentSelector = map[string]string{kustomizev1.SSAAnnotation: kustomizev1.IfNotPresentValue}
	opts.Cleanup = ssa.ApplyCleanupOptions{
		Annotations:   []string{corev1.LastAppliedConfigAnnotation},
		FieldManagers: []ssa.FieldManager{{Name: "kubectl", OperationType: "Apply"}, {Name: "kubectl", OperationType: "Update"}, {Name: "before-first-apply", OperationType: "Update"}},
		Exclusions:    map[string]string{kustomizev1.SSAAnnotation: kustomizev1.MergeValue},
	}
	opts.WaitTimeout = obj.GetTimeout()

	hash, skip, err := r.skipOrReport(ctx, s, opts)
	if skip || err != nil {
		return err
	}
	cs, objects, err := r.applyObjects(ctx, s, opts)
	if cs != nil {
		s.applied = cs
		// Keep every object still owned in the inventory, even when the apply
		// stopped half way, so nothing applied is forgotten or pruned wrongly.
		obj.Status.Inventory = mergeInventory(obj.Status.Inventory, inventoryOf(cs), err != nil)
	}
	if err != nil {
		return outcome.RetryErr(kustomizev1.ReconciliationFailedReason, fmt.Errorf("apply failed: %w", err))
	}
	r.recordApplied(s, hash, cs, objects)
	if changes := changed(cs); changes != "" {
		r.Event(obj, s.artifact.Revision, corev1.EventTypeNormal, "Progressing", changes)
	}
	return nil
}

// checkKinds fails when an object's kind is unknown to the cluster and no
// CRD in the same set defines it, naming every such object.
func (r *Reconciler) checkKinds(s *scope) error {
	defined := map[schema.GroupKind]bool{}
	for _, o := range s.objects {
		if ssautils.IsCRD(o) {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &crd); err == nil {
				defined[schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}] = true
			}
		}
	}
	var missing []string
	for _, o := range s.objects {
		gvk := o.GroupVersionKind()
		if defined[gvk.GroupKind()] {
			continue
		}
		if _, err := s.target.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			// Only a kind the cluster does not serve is a missing CRD; a
			// discovery that failed (a refused kubeconfig token, an
			// unreachable cluster) is said as it is.
			if !apimeta.IsNoMatchError(err) {
				return fmt.Errorf("failed to look up kind '%s' in '%s' on the target cluster: %w", gvk.Kind, gvk.GroupVersion(), err)
			}
			missing = append(missing, fmt.Sprintf("%s: no kind '%s' in '%s' is served by the cluster (is its CRD installed?)",
				ssautils.FmtUnstructured(o), gvk.Kind, gvk.GroupVersion()))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s", strings.Join(missing, "\n"))
	}
	return nil
}

// exclusions select the objects a user took out of the controller's hands
// with a label or an annotation, reconcile: disabled or ssa: Ignore: they
// are skipped by apply, yet listed in the inventory while they are in Git,
// and never pruned nor deleted on finalize. This is Flux's exclusion
// selector; the ssa library matches labels as well as annotations and
// compares values case-insensitively, as Flux does.
func exclusions() map[string]string {
	return map[string]string{
		kustomizev1.ReconcileAnnotation: kustomizev1.DisabledValue,
		kustomizev1.SSAAnnotation:       kustomizev1.IgnoreValue,
	}
}

// deleteOptions are the rules of prune and of finalize alike: delete in the
// background only what still carries this Kustomization's owner labels, and
// nothing excluded or marked prune: disabled.
func deleteOptions(rm *ssa.ResourceManager, obj *kustomizev1.Kustomization) ssa.DeleteOptions {
	excluded := exclusions()
	excluded[kustomizev1.PruneAnnotation] = kustomizev1.DisabledValue
	return ssa.DeleteOptions{
		PropagationPolicy: "Background",
		Inclusions:        rm.GetOwnerLabels(obj.Name, obj.Namespace),
		Exclusions:        excluded,
	}
}

// changed summarises the entries that were written, one per line, as
// "Deployment/apps/web configured".
func changed(cs *ssa.ChangeSet) string {
	var lines []string
	for _, e := range cs.Entries {
		if e.Action == ssa.CreatedAction || e.Action == ssa.ConfiguredAction || e.Action == ssa.DeletedAction {
			lines = append(lines, e.String())
		}
	}
	return strings.Join(lines, "\n")
}

// inventoryOf lists a change set's objects in Flux's inventory format.
// Skipped objects (ssa: IfNotPresent objects that exist, reconcile:
// disabled and ssa: Ignore ones) are listed too, as in Flux: they are still in Git, and
// leaving them out would prune them.
func inventoryOf(cs *ssa.ChangeSet) *kustomizev1.ResourceInventory {
	inv := &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{}}
	for _, e := range cs.Entries {
		version := e.GroupVersion
		if i := strings.LastIndex(version, "/"); i >= 0 {
			version = version[i+1:]
		}
		inv.Entries = append(inv.Entries, kustomizev1.ResourceRef{ID: e.ObjMetadata.String(), Version: version})
	}
	sort.Slice(inv.Entries, func(i, j int) bool { return inv.Entries[i].ID < inv.Entries[j].ID })
	return inv
}

// mergeInventory returns next, plus, when partial, the entries of prev that
// next lacks: after a failed apply everything previously owned stays owned.
func mergeInventory(prev, next *kustomizev1.ResourceInventory, partial bool) *kustomizev1.ResourceInventory {
	if !partial || prev == nil {
		return next
	}
	seen := map[string]bool{}
	for _, e := range next.Entries {
		seen[e.ID] = true
	}
	for _, e := range prev.Entries {
		if !seen[e.ID] {
			next.Entries = append(next.Entries, e)
		}
	}
	sort.Slice(next.Entries, func(i, j int) bool { return next.Entries[i].ID < next.Entries[j].ID })
	return next
}

// staleObjects returns the objects of prev that next no longer holds.
func staleObjects(prev, next *kustomizev1.ResourceInventory) ([]*unstructured.Unstructured, error) {
	if prev == nil {
		return nil, nil
	}
	keep := map[string]bool{}
	if next != nil {
		for _, e := range next.Entries {
			keep[e.ID] = true
		}
	}
	var out []*unstructured.Unstructured
	for _, e := range prev.Entries {
		if keep[e.ID] {
			continue
		}
		u, err := objectFor(e)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// objectFor turns an inventory entry back into an object reference.
func objectFor(e kustomizev1.ResourceRef) (*unstructured.Unstructured, error) {
	m, err := object.ParseObjMetadata(e.ID)
	if err != nil {
		return nil, fmt.Errorf("invalid inventory entry '%s': %w", e.ID, err)
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(m.GroupKind.WithVersion(e.Version))
	u.SetNamespace(m.Namespace)
	u.SetName(m.Name)
	return u, nil
}

// prune deletes what left Git: objects in the previous inventory and not in
// the new one, and only those still carrying this Kustomization's owner
// labels and not excluded (prune: disabled, reconcile: disabled, ssa:
// Ignore, on the live object). Sets Ready=False with
// PruneFailed on error.
func (r *Reconciler) prune(ctx context.Context, s *scope) error {
	obj := s.obj
	if !obj.Spec.Prune {
		return nil
	}
	stale, err := staleObjects(s.previous, obj.Status.Inventory)
	if err != nil || len(stale) == 0 {
		return err
	}
	cs, err := deleteInOrder(ctx, s.target.Client, s.manager, stale, deleteOptions(s.manager, obj))
	if err != nil {
		return outcome.RetryErr(kustomizev1.PruneFailedReason, fmt.Errorf("prune failed: %w", err))
	}
	if changes := changed(cs); changes != "" {
		r.Event(obj, s.artifact.Revision, corev1.EventTypeNormal, "Progressing", changes)
	}
	return nil
}
