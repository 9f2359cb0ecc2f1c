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

// helmChartOf waits for the HelmChart the controller makes for hr.
func helmChartOf(t *testing.T, hr *helmv2.HelmRelease) *sourcev1.HelmChart {
	t.Helper()
	hc := &sourcev1.HelmChart{}
	NewWithT(t).Eventually(func() error {
		return env.Client.Get(context.Background(), client.ObjectKey{Namespace: hr.Namespace, Name: hr.GetHelmChartName()}, hc)
	}, timeout).Should(Succeed())
	return hc
}

// waitHelmChart waits for the HelmChart the controller makes for hr and
// for hr to report that it waits on its artifact, which it does once the
// quiet period of a new object's wait (quietWait) is over.
func waitHelmChart(t *testing.T, hr *helmv2.HelmRelease) *sourcev1.HelmChart {
	t.Helper()
	hc := helmChartOf(t, hr)
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
// spec.chart to its request budget, counted on the wire, with the chart's
// artifact coming at once as the source-controller makes it: the first
// reconcile adds the finalizer, creates the HelmChart and, the release
// being new, keeps its wait for the artifact to itself (no status write, no
// event); the second, woken by the artifact, finds no record of the
// release in the ReleaseIndex and so lists no Helm storage, checks the
// three objects are free to take (Helm's three GETs),
// creates them, writes the release record (create, then update to
// deployed), and ends with the one status write and one event. An
// unchanged reconcile asked for by reconcile.fluxcd.io/requestedAt reads
// Helm storage once and writes the status once (lastHandledReconcileAt).
func TestInstallRequestBudget(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	mark := requests.Mark(ns)
	a, err := charts.Publish("app", "1.0.0", threeConfigMaps)
	g.Expect(err).NotTo(HaveOccurred())
	hr := newRelease(t, ns, "app", chartSpec)
	setArtifact(t, helmChartOf(t, hr), a)
	waitReady(t, hr, "1.0.0", 1)
	g.Eventually(func() []string { return eventReasons(t, ns) }, timeout).Should(ContainElement(helmv2.InstallSucceededReason))
	g.Expect(requests.Since(ns, mark)).To(Equal([]string{
		"create configmaps", "create configmaps", "create configmaps",
		"create events",
		"create helmcharts",
		"create secrets",
		"get configmaps", "get configmaps", "get configmaps",
		"patch helmreleases",
		"patch helmreleases/status",
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

// TestReleaseMissingFromStatusIsFound loses a release's history from the
// HelmRelease's status, as a status write lost after an install would: the
// next reconcile must read the release's records from storage (the
// ReleaseIndex knows them) and go on from them, not install again over
// them, which Helm refuses ("cannot re-use a name that is still in use").
func TestReleaseMissingFromStatusIsFound(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	hr := newRelease(t, ns, "app")
	waitReady(t, hr, "1.0.0", 1)

	updateStatus(t, hr, func() { hr.Status.History = nil })
	suite.RequestReconcile(t, env.Client, hr, timeout)
	waitReleased(t, hr, "1.0.0")
	g.Expect(eventReasons(t, ns)).NotTo(ContainElement(helmv2.InstallFailedReason))
	rels := helmList(t, hr)
	g.Expect(rels).NotTo(BeEmpty())
	for _, rel := range rels {
		g.Expect(rel.Info.Status.String()).To(Equal("deployed"))
	}
}
