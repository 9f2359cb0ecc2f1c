package helmrelease

import (
	"context"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/apis/meta"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/dependency"
)

// newKustomization creates a Kustomization in ns; no kustomize-controller
// runs here, so its status is what the test writes, as that controller
// would.
func newKustomization(t *testing.T, ns, name string, mutate ...func(*kustomizev1.Kustomization)) *kustomizev1.Kustomization {
	t.Helper()
	k := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, Prune: true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "repo"}},
	}
	for _, m := range mutate {
		m(k)
	}
	NewWithT(t).Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	return k
}

// TestDependsOnAKustomization holds a release until the Kustomization it
// depends on is Ready for its current generation.
func TestDependsOnAKustomization(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	hr := newRelease(t, ns, "app", func(hr *helmv2.HelmRelease) {
		hr.Spec.DependsOn = []meta.DependencyReference{{Kind: meta.KustomizationKind, Name: "infra"}}
	})
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		ready := conditions.Get(hr, fluxmeta.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(helmv2.DependencyNotReadyReason))
		g.Expect(ready.Message).To(ContainSubstring("dependency '" + ns + "/infra' (Kustomization) not found"))
	})
	infra := newKustomization(t, ns, "infra")
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(conditions.GetMessage(hr, fluxmeta.ReadyCondition)).To(ContainSubstring("(Kustomization) is not ready"))
	})
	g.Expect(hr.Status.History).To(BeEmpty(), "nothing is installed before the dependency is ready")
	updateStatus(t, infra, func() {
		conditions.MarkTrue(infra, fluxmeta.ReadyCondition, kustomizev1.ReconciliationSucceededReason, "applied")
		infra.Status.ObservedGeneration = infra.Generation
	})
	waitReady(t, hr, "1.0.0", 1)
}

// TestDependencyCycleStallsTheRelease checks that a cycle through a
// Kustomization stalls the HelmRelease, naming the cycle.
func TestDependencyCycleStallsTheRelease(t *testing.T) {
	ns := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	newKustomization(t, ns, "infra", func(k *kustomizev1.Kustomization) {
		k.Spec.DependsOn = []meta.DependencyReference{{Kind: meta.HelmReleaseKind, Name: "app"}}
	})
	hr := newRelease(t, ns, "app", func(hr *helmv2.HelmRelease) {
		hr.Spec.DependsOn = []meta.DependencyReference{{Kind: meta.KustomizationKind, Name: "infra"}}
	})
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(conditions.IsTrue(hr, fluxmeta.StalledCondition)).To(BeTrue())
		g.Expect(conditions.GetReason(hr, fluxmeta.ReadyCondition)).To(Equal(dependency.CycleReason))
		g.Expect(conditions.GetMessage(hr, fluxmeta.ReadyCondition)).To(ContainSubstring(
			"HelmRelease/" + ns + "/app -> Kustomization/" + ns + "/infra -> HelmRelease/" + ns + "/app"))
	})
}

// TestReleaseOutlivesItsDeletedDependents deletes a HelmRelease together
// with a Kustomization that depends on it: the release is uninstalled only
// once the Kustomization is gone.
func TestReleaseOutlivesItsDeletedDependents(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	hr := newRelease(t, ns, "db")
	waitReady(t, hr, "1.0.0", 1)
	const hold = "test.ferrycd.io/hold"
	app := newKustomization(t, ns, "app", func(k *kustomizev1.Kustomization) {
		k.Spec.DependsOn = []meta.DependencyReference{{Kind: meta.HelmReleaseKind, Name: "db"}}
		k.Finalizers = []string{hold}
	})
	g.Expect(env.Client.Delete(ctx, app)).To(Succeed())
	g.Expect(env.Client.Delete(ctx, hr)).To(Succeed())
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(conditions.GetReason(hr, fluxmeta.ReadyCondition)).To(Equal(dependency.DependentsReason))
		g.Expect(conditions.GetMessage(hr, fluxmeta.ReadyCondition)).To(ContainSubstring("Kustomization '" + ns + "/app'"))
	})
	_, err := configMap(t, ns, "db-a")
	g.Expect(err).NotTo(HaveOccurred(), "the release stays while its dependent is being deleted")

	g.Eventually(func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
			return err
		}
		controllerutil.RemoveFinalizer(app, hold)
		return env.Client.Update(ctx, app)
	}, timeout).Should(Succeed())
	g.Eventually(func() error { return env.Client.Get(ctx, client.ObjectKeyFromObject(hr), &helmv2.HelmRelease{}) },
		timeout).ShouldNot(Succeed())
	g.Eventually(func() error { _, err := configMap(t, ns, "db-a"); return err }, timeout).ShouldNot(Succeed(),
		"then the release is uninstalled")
}
