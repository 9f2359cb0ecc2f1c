package helmrelease

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// TestHelmChartCreatedWithSourceFinalizer checks that the HelmChart of
// spec.chart is created carrying the source-controller's finalizer, so
// that controller's first reconcile of it writes its status and nothing
// else (its side of the budget is held by the helmchart package's
// TestRequestBudget).
func TestHelmChartCreatedWithSourceFinalizer(t *testing.T) {
	ns := newNamespace(t)
	hr := newRelease(t, ns, "app", chartSpec)
	hc := helmChartOf(t, hr)
	NewWithT(t).Expect(hc.Finalizers).To(ConsistOf(sourcev1.SourceFinalizer))
}

// TestDeletedBeforeReportingDeletesItsChart deletes a new release while it
// still keeps its wait for the chart to itself, so no status names the
// HelmChart it made: the finalizer must delete that chart all the same
// (the source-controller, absent here, would then remove the chart's own
// finalizer).
func TestDeletedBeforeReportingDeletesItsChart(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	hr := newRelease(t, ns, "app", chartSpec)
	hc := helmChartOf(t, hr)
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(hr), hr)).To(Succeed())
	g.Expect(hr.Status.HelmChart).To(BeEmpty())
	g.Expect(env.Client.Delete(ctx, hr)).To(Succeed())
	g.Eventually(func(g Gomega) {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(hc), hc)
		if apierrors.IsNotFound(err) {
			return
		}
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(hc.DeletionTimestamp).NotTo(BeNil())
	}, timeout).Should(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(hr), hr))
	}, timeout).Should(BeTrue())
}
