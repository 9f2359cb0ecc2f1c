package helmrelease

import (
	"context"
	"testing"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/suite"
)

// threeConfigMaps is the chart of the hr benchmark: three ConfigMaps, no
// hooks.
var threeConfigMaps = withTemplate(goodChart, "c.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-c
`)

// chartSpec makes hr use spec.chart, as Flux users write HelmReleases: the
// controller creates its HelmChart "<namespace>-<name>".
func chartSpec(hr *helmv2.HelmRelease) {
	hr.Spec.ChartRef = nil
	hr.Spec.Chart = &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
		Chart: "app", SourceRef: helmv2.CrossNamespaceObjectReference{Kind: "HelmRepository", Name: "repo"}}}
}

// waitHelmChart waits for the HelmChart the controller makes for hr and
// for hr to report that it waits on its artifact.
func waitHelmChart(t *testing.T, hr *helmv2.HelmRelease) *sourcev1.HelmChart {
	t.Helper()
	hc := &sourcev1.HelmChart{}
	NewWithT(t).Eventually(func() error {
		return env.Client.Get(context.Background(), client.ObjectKey{Namespace: hr.Namespace, Name: hr.GetHelmChartName()}, hc)
	}, timeout).Should(Succeed())
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(conditions.GetReason(hr, fluxmeta.ReadyCondition)).To(Equal(helmv2.ArtifactFailedReason))
	})
	return hc
}

// TestChartArtifactWakesRelease checks that a HelmRelease waiting for its
// HelmChart's artifact is reconciled when the artifact arrives, not at
// its next interval (an hour here, far past the wait's timeout).
func TestChartArtifactWakesRelease(t *testing.T) {
	ns := newNamespace(t)
	hr := newRelease(t, ns, "app", chartSpec)
	hc := waitHelmChart(t, hr)
	a, err := charts.Publish("app", "1.0.0", goodChart)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	setArtifact(t, hc, a)
	waitReady(t, hr, "1.0.0", 1)
}

// TestInstallRequestBudget holds one install of a 3-object chart from
// spec.chart to its request budget, counted on the wire: the first
// reconcile adds the finalizer, creates the HelmChart and reports, in one
// status write and no event (waiting for a chart being built is no
// failure), that it waits for the artifact; the second,
// woken by the artifact, reads Helm storage once (one LIST), checks the
// three objects are free to take (Helm's three GETs), creates them, writes
// the release record (create, then update to deployed), and ends with one
// status write and one event. An unchanged reconcile asked for by
// reconcile.fluxcd.io/requestedAt reads Helm storage once and writes the
// status once (lastHandledReconcileAt).
func TestInstallRequestBudget(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	mark := requests.Mark(ns)
	hr := newRelease(t, ns, "app", chartSpec)
	hc := waitHelmChart(t, hr)
	a, err := charts.Publish("app", "1.0.0", threeConfigMaps)
	g.Expect(err).NotTo(HaveOccurred())
	setArtifact(t, hc, a)
	waitReady(t, hr, "1.0.0", 1)
	g.Eventually(func() []string { return eventReasons(t, ns) }, timeout).Should(ContainElement(helmv2.InstallSucceededReason))
	g.Expect(requests.Since(ns, mark)).To(Equal([]string{
		"create configmaps", "create configmaps", "create configmaps",
		"create events",
		"create helmcharts",
		"create secrets",
		"get configmaps", "get configmaps", "get configmaps",
		"list secrets",
		"patch helmreleases",
		"patch helmreleases/status", "patch helmreleases/status",
		"put secrets",
	}))

	mark = requests.Mark(ns)
	token := suite.RequestReconcile(t, env.Client, hr, timeout)
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(hr.Status.LastHandledReconcileAt).To(Equal(token))
	})
	g.Expect(requests.Since(ns, mark)).To(Equal([]string{"list secrets", "patch helmreleases/status"}))
}

// eventReasons returns the reasons of the events in ns.
func eventReasons(t *testing.T, ns string) []string {
	t.Helper()
	var list corev1.EventList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Reason)
	}
	return out
}
