package kustomization

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestEditedByOthers(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Second))
	entry := func(manager, subresource string, at metav1.Time) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Subresource: subresource, Time: &at}
	}
	meta := func(rv string, fields ...metav1.ManagedFieldsEntry) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{ResourceVersion: rv, ManagedFields: fields}}
	}
	for _, tt := range []struct {
		name     string
		old, cur *metav1.PartialObjectMetadata
		want     bool
	}{
		{"same resourceVersion", meta("1", entry("kubectl-edit", "", t1)), meta("1", entry("kubectl-edit", "", t1)), false},
		{"the controller's own apply", meta("1", entry(fieldManager, "", t0)), meta("2", entry(fieldManager, "", t1)), false},
		{"an older edit the apply took over", meta("1"), meta("2", entry("kubectl-edit", "", t0), entry(fieldManager, "", t1)), false},
		{"a status update by the object's controller", meta("1"), meta("2", entry(fieldManager, "", t0), entry("kube-controller-manager", "status", t1)), false},
		{"a hand edit after the apply", meta("1"), meta("2", entry(fieldManager, "", t0), entry("kubectl-edit", "", t1)), true},
		{"a hand edit in the same second as the apply", meta("1"), meta("2", entry(fieldManager, "", t0), entry("kubectl-edit", "", t0)), true},
		{"the controller's fields all taken", meta("1"), meta("2", entry("kubectl", "", t0)), true},
		{"an object being deleted", meta("1"), func() *metav1.PartialObjectMetadata {
			m := meta("2", entry(fieldManager, "", t0), entry("kubectl-edit", "", t1))
			m.DeletionTimestamp = &t1
			return m
		}(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(editedByOthers(tt.old, tt.cur, fieldManager)).To(Equal(tt.want))
		})
	}
}

func TestDriftedFields(t *testing.T) {
	g := NewWithT(t)
	obj := func(o map[string]any) *unstructured.Unstructured { return &unstructured.Unstructured{Object: o} }
	desired := obj(map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "labels": map[string]any{"app": "web"}},
		"spec":     map[string]any{"replicas": int64(2), "template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": "web:1"}}}}},
	})
	live := obj(map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "resourceVersion": "7", "labels": map[string]any{"app": "other"}},
		"spec":     map[string]any{"replicas": int64(5), "strategy": "RollingUpdate", "template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": "web:1", "imagePullPolicy": "IfNotPresent"}}}}},
	})
	merged := obj(map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "resourceVersion": "7", "labels": map[string]any{"app": "web"}},
		"spec":     map[string]any{"replicas": int64(2), "strategy": "RollingUpdate", "template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": "web:1", "imagePullPolicy": "IfNotPresent"}}}}},
	})
	g.Expect(driftedFields(desired, live, merged)).To(Equal([]string{".metadata.labels.app", ".spec.replicas"}),
		"defaulted and unmanaged fields are not drift")
	g.Expect(driftedFields(desired, merged, merged)).To(BeEmpty())
	g.Expect(driftedFields(desired, nil, merged)).To(BeEmpty())
}
