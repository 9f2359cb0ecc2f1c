package watch

import (
	"context"
	"testing"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

func gitRepo(a *fluxmeta.Artifact) *sourcev1.GitRepository {
	return &sourcev1.GitRepository{Status: sourcev1.GitRepositoryStatus{Artifact: a}}
}

func TestArtifactChanged(t *testing.T) {
	first := &fluxmeta.Artifact{Revision: "main@sha1:aaa", Digest: "sha256:111"}
	sameContent := &fluxmeta.Artifact{Revision: "main@sha1:bbb", Digest: "sha256:111"}
	newContent := &fluxmeta.Artifact{Revision: "main@sha1:aaa", Digest: "sha256:222"}
	tests := []struct {
		name     string
		old, new client.Object
		want     bool
	}{
		{name: "first artifact", old: gitRepo(nil), new: gitRepo(first), want: true},
		{name: "still none", old: gitRepo(nil), new: gitRepo(nil)},
		{name: "unchanged", old: gitRepo(first), new: gitRepo(first.DeepCopy())},
		{name: "new revision, same digest", old: gitRepo(first), new: gitRepo(sameContent), want: true},
		{name: "same revision, new digest", old: gitRepo(first), new: gitRepo(newContent), want: true},
		{name: "artifact dropped", old: gitRepo(first), new: gitRepo(nil)},
		{name: "another source kind", old: &sourcev1.HelmChart{},
			new: &sourcev1.HelmChart{Status: sourcev1.HelmChartStatus{Artifact: first}}, want: true},
		{name: "not a source", old: &corev1.ConfigMap{}, new: &corev1.ConfigMap{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(ArtifactChanged{}.Update(event.UpdateEvent{ObjectOld: tt.old, ObjectNew: tt.new})).To(Equal(tt.want))
		})
	}
	t.Run("create, delete and generic pass nothing", func(t *testing.T) {
		g := NewWithT(t)
		obj := gitRepo(first)
		g.Expect(ArtifactChanged{}.Create(event.CreateEvent{Object: obj})).To(BeFalse())
		g.Expect(ArtifactChanged{}.Delete(event.DeleteEvent{Object: obj})).To(BeFalse())
		g.Expect(ArtifactChanged{}.Generic(event.GenericEvent{Object: obj})).To(BeFalse())
	})
}

func TestReferrers(t *testing.T) {
	const index = ".spec.sourceRef"
	chart := func(ns, name, source string) *sourcev1.HelmChart {
		return &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: sourcev1.HelmChartSpec{SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: "GitRepository", Name: source}}}
	}
	scheme := runtime.NewScheme()
	NewWithT(t).Expect(sourcev1.AddToScheme(scheme)).To(Succeed())
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(chart("a", "one", "src"), chart("a", "two", "src"), chart("a", "other", "elsewhere"), chart("b", "three", "src")).
		WithIndex(&sourcev1.HelmChart{}, index, func(o client.Object) []string {
			return []string{o.(*sourcev1.HelmChart).Spec.SourceRef.Name}
		}).Build()
	req := func(ns, name string) reconcile.Request {
		return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
	}
	src := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "src"}}
	tests := []struct {
		name  string
		scope Scope
		obj   client.Object
		want  []reconcile.Request
	}{
		{name: "same namespace", scope: SameNamespace, obj: src, want: []reconcile.Request{req("a", "one"), req("a", "two")}},
		{name: "any namespace", scope: AnyNamespace, obj: src,
			want: []reconcile.Request{req("a", "one"), req("a", "two"), req("b", "three")}},
		{name: "no referrers", scope: AnyNamespace,
			obj: &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "unused"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := Referrers[sourcev1.HelmChartList](c, index, Name, tt.scope)(context.Background(), tt.obj)
			g.Expect(got).To(ConsistOf(tt.want))
		})
	}
	t.Run("a failed list requeues nothing", func(t *testing.T) {
		g := NewWithT(t)
		got := Referrers[sourcev1.HelmChartList](c, ".no.such.index", Name, AnyNamespace)(context.Background(), src)
		g.Expect(got).To(BeEmpty())
	})
}
