package kustomization

import (
	"testing"
	"time"

	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

func TestDecideStep(t *testing.T) {
	t0 := metav1.NewTime(time.Unix(1000, 0))
	t1 := metav1.NewTime(time.Unix(2000, 0))
	ours := func(at metav1.Time) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: fieldManager, Operation: metav1.ManagedFieldsOperationApply, Time: &at}
	}
	other := func(name string, op metav1.ManagedFieldsOperationType, at metav1.Time) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: name, Operation: op, Time: &at}
	}
	live := func(mutate ...func(*metav1.PartialObjectMetadata)) *metav1.PartialObjectMetadata {
		m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
			Name: "cm", Namespace: "ns", UID: "u1", ResourceVersion: "5",
			ManagedFields: []metav1.ManagedFieldsEntry{ours(t1)},
		}}
		for _, f := range mutate {
			f(m)
		}
		return m
	}
	desired := func(annotations map[string]string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("ConfigMap")
		u.SetName("cm")
		u.SetNamespace("ns")
		u.SetAnnotations(annotations)
		return u
	}
	opts := ssa.DefaultApplyOptions()
	opts.ExclusionSelector = exclusions()
	opts.IfNotPresentSelector = map[string]string{kustomizev1.SSAAnnotation: kustomizev1.IfNotPresentValue}
	opts.Cleanup = ssa.ApplyCleanupOptions{
		Annotations:   []string{corev1.LastAppliedConfigAnnotation},
		FieldManagers: []ssa.FieldManager{{Name: "kubectl", OperationType: metav1.ManagedFieldsOperationUpdate}},
		Exclusions:    map[string]string{kustomizev1.SSAAnnotation: kustomizev1.MergeValue},
	}
	last := objectApplied{hash: 7, uid: "u1"}
	tests := []struct {
		name    string
		desired *unstructured.Unstructured
		live    *metav1.PartialObjectMetadata
		last    objectApplied
		known   bool
		hash    uint64
		want    applyStep
	}{
		{"absent: created by the apply alone", desired(nil), nil, objectApplied{}, false, 7, stepCreate},
		{"absent though applied before (deleted): created again", desired(nil), nil, last, true, 7, stepCreate},
		{"excluded in Git: skipped", desired(map[string]string{kustomizev1.ReconcileAnnotation: "Disabled"}), nil, objectApplied{}, false, 7, stepSkip},
		{"excluded on the live object: skipped", desired(nil),
			live(func(m *metav1.PartialObjectMetadata) {
				m.Annotations = map[string]string{kustomizev1.SSAAnnotation: kustomizev1.IgnoreValue}
			}), last, true, 7, stepSkip},
		{"IfNotPresent: only a read can tell", desired(map[string]string{kustomizev1.SSAAnnotation: kustomizev1.IfNotPresentValue}), nil, objectApplied{}, false, 7, stepLibrary},
		{"as applied, nobody wrote since: no request", desired(nil), live(), last, true, 7, stepUnchanged},
		{"as applied, but a status writer only: no request", desired(nil),
			live(func(m *metav1.PartialObjectMetadata) {
				m.ManagedFields = append(m.ManagedFields, metav1.ManagedFieldsEntry{Manager: "kubelet", Subresource: "status", Time: &t1})
			}), last, true, 7, stepUnchanged},
		{"as applied, edited since: dry-run and apply", desired(nil),
			live(func(m *metav1.PartialObjectMetadata) {
				m.ManagedFields = append(m.ManagedFields, other("an-operator", metav1.ManagedFieldsOperationUpdate, t1))
			}), last, true, 7, stepUpdate},
		{"an older write by another manager is not drift", desired(nil),
			live(func(m *metav1.PartialObjectMetadata) {
				m.ManagedFields = append(m.ManagedFields, other("a-labeller", metav1.ManagedFieldsOperationUpdate, t0))
			}), last, true, 7, stepUnchanged},
		{"build changed: dry-run and apply", desired(nil), live(), last, true, 8, stepUpdate},
		{"nothing remembered (a restart): dry-run and apply", desired(nil), live(), objectApplied{}, false, 7, stepUpdate},
		{"recreated by someone else (new UID)", desired(nil),
			live(func(m *metav1.PartialObjectMetadata) { m.UID = "u2" }), last, true, 7, stepUpdate},
		{"kubectl's metadata to clean up: the library", desired(nil),
			live(func(m *metav1.PartialObjectMetadata) {
				m.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: ""}
			}), last, true, 7, stepLibrary},
		{"kubectl as a field manager: the library", desired(nil),
			live(func(m *metav1.PartialObjectMetadata) {
				m.ManagedFields = append(m.ManagedFields, other("kubectl-client-side-apply", metav1.ManagedFieldsOperationUpdate, t0))
			}), last, true, 7, stepLibrary},
		{"kubectl metadata kept under ssa: Merge", desired(map[string]string{kustomizev1.SSAAnnotation: kustomizev1.MergeValue}),
			live(func(m *metav1.PartialObjectMetadata) {
				m.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: ""}
			}), last, true, 7, stepUnchanged},
		{"being deleted: the library", desired(nil),
			live(func(m *metav1.PartialObjectMetadata) { m.DeletionTimestamp = &t1 }), last, true, 7, stepLibrary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decideStep(tt.desired, tt.live, tt.last, tt.known, tt.hash, opts); got != tt.want {
				t.Errorf("decideStep = %d, want %d", got, tt.want)
			}
		})
	}
}
