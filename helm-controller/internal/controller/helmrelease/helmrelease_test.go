package helmrelease

import (
	"context"
	"testing"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// TestInstallUpgradeUninstall walks one release through install, an
// upgrade on a values change (from a watched ConfigMap), an upgrade on a
// new chart version, and uninstall on deletion, checking Helm storage
// agrees with status at each step.
func TestInstallUpgradeUninstall(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	vals := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vals", Labels: map[string]string{"reconcile.fluxcd.io/watch": "Enabled"}},
		Data:       map[string]string{"values.yaml": "greeting: from-configmap\nextra: one\n"},
	}
	g.Expect(env.Client.Create(ctx, vals)).To(Succeed())
	hr := newRelease(t, ns, "app", inlineValues(`{"greeting":"inline"}`), func(hr *helmv2.HelmRelease) {
		hr.Spec.ValuesFrom = []helmv2.ValuesReference{{Kind: "ConfigMap", Name: "vals"}}
	})

	waitReady(t, hr, "1.0.0", 1)
	g.Expect(conditions.GetReason(hr, helmv2.ReleasedCondition)).To(Equal(helmv2.InstallSucceededReason))
	g.Expect(conditions.GetMessage(hr, fluxmeta.ReadyCondition)).To(ContainSubstring("app@1.0.0"))
	g.Expect(hr.Status.LastAttemptedRevision).To(Equal("1.0.0"))
	g.Expect(hr.Status.LastAttemptedConfigDigest).To(HavePrefix("sha256:"))
	g.Expect(hr.Status.StorageNamespace).To(Equal(ns))
	snap := hr.Status.History.Latest()
	g.Expect(snap.ChartName).To(Equal("app"))
	g.Expect(snap.AppVersion).To(Equal("v1.0.0"))
	g.Expect(snap.ConfigDigest).To(Equal(hr.Status.LastAttemptedConfigDigest))
	g.Expect(snap.FirstDeployed.IsZero()).To(BeFalse())
	cm, err := configMap(t, ns, "app-a")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cm.Data["greeting"]).To(Equal("inline"), "spec.values wins over valuesFrom")
	g.Expect(cm.Labels).To(HaveKeyWithValue(helmv2.NameLabel, "app"))
	g.Expect(cm.Labels).To(HaveKeyWithValue(helmv2.NamespaceLabel, ns))
	cm, _ = configMap(t, ns, "app-b")
	g.Expect(cm.Data["extra"]).To(Equal("one"))
	rels := helmList(t, hr)
	g.Expect(rels).To(HaveLen(1))
	g.Expect(rels[0].Name).To(Equal("app"))
	g.Expect(rels[0].Version).To(Equal(1))
	g.Expect(rels[0].Info.Status.String()).To(Equal(snap.Status))

	// A change to the watched ConfigMap upgrades at once.
	vals.Data["values.yaml"] = "extra: two\n"
	g.Expect(env.Client.Update(ctx, vals)).To(Succeed())
	waitReady(t, hr, "1.0.0", 2)
	g.Expect(conditions.GetReason(hr, helmv2.ReleasedCondition)).To(Equal(helmv2.UpgradeSucceededReason))
	cm, _ = configMap(t, ns, "app-b")
	g.Expect(cm.Data["extra"]).To(Equal("two"))

	// A new chart artifact upgrades at once.
	publishHelmChart(t, ns, "chart", "1.1.0", goodChart)
	waitReady(t, hr, "1.1.0", 3)
	cm, _ = configMap(t, ns, "app-a")
	g.Expect(cm.Data["version"]).To(Equal("1.1.0"))
	g.Expect(hr.Status.History).To(HaveLen(2), "history is trimmed back to the previous successful release")
	g.Expect(hr.Status.History[1].Version).To(Equal(2))
	g.Expect(hr.Status.History[1].Status).To(Equal("superseded"))
	rels = helmList(t, hr)
	g.Expect(rels).To(HaveLen(1))
	g.Expect(rels[0].Version).To(Equal(3))
	g.Expect(rels[0].Chart.Metadata.Version).To(Equal("1.1.0"))

	// Deleting the HelmRelease uninstalls the release.
	g.Expect(env.Client.Delete(ctx, hr)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(hr), hr))
	}, timeout).Should(BeTrue())
	_, err = configMap(t, ns, "app-a")
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
	g.Expect(helmList(t, hr)).To(BeEmpty())
}

// TestChartTemplate checks the controller creates and owns the HelmChart of
// spec.chart and releases its artifact.
func TestChartTemplate(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	hr := newRelease(t, ns, "tpl", func(hr *helmv2.HelmRelease) {
		hr.Spec.ChartRef = nil
		hr.Spec.TargetNamespace = ns
		hr.Spec.Chart = &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
			Chart: "app", Version: "1.x",
			SourceRef:   helmv2.CrossNamespaceObjectReference{Kind: "HelmRepository", Name: "repo"},
			ValuesFiles: []string{"values.yaml", "prod.yaml"},
		}}
	})
	hc := &sourcev1.HelmChart{}
	g.Eventually(func() error {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ns + "-tpl"}, hc)
	}, timeout).Should(Succeed())
	g.Expect(hc.Spec.Chart).To(Equal("app"))
	g.Expect(hc.Spec.Version).To(Equal("1.x"))
	g.Expect(hc.Spec.SourceRef.Kind).To(Equal("HelmRepository"))
	g.Expect(hc.Spec.ValuesFiles).To(Equal([]string{"values.yaml", "prod.yaml"}))
	g.Expect(hc.Spec.Interval.Duration).To(Equal(hr.Spec.Interval.Duration))
	g.Expect(hc.Labels).To(HaveKeyWithValue(helmv2.NameLabel, "tpl"))
	g.Expect(metav1.IsControlledBy(hc, hr)).To(BeTrue())
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(conditions.GetReason(hr, fluxmeta.ReadyCondition)).To(Equal(helmv2.ArtifactFailedReason))
		g.Expect(hr.Status.HelmChart).To(Equal(ns + "/" + ns + "-tpl"))
	})

	a, err := charts.Publish("app", "1.2.0", goodChart)
	g.Expect(err).NotTo(HaveOccurred())
	setArtifact(t, hc, a)
	waitReady(t, hr, "1.2.0", 1)
	_, err = configMap(t, ns, ns+"-tpl-a")
	g.Expect(err).NotTo(HaveOccurred(), "release name is <targetNamespace>-<name>")
}

// TestFailedUpgradeRollsBack upgrades to a chart the API server rejects:
// the controller rolls back, retries once, rolls back again and stalls.
func TestFailedUpgradeRollsBack(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	hr := newRelease(t, ns, "app", func(hr *helmv2.HelmRelease) {
		hr.Spec.Upgrade = &helmv2.Upgrade{Remediation: &helmv2.UpgradeRemediation{Retries: 1}}
	})
	waitReady(t, hr, "1.0.0", 1)

	publishHelmChart(t, ns, "chart", "2.0.0", badChart)
	waitStalled(t, hr, helmv2.RetriesExceededReason, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(hr.Status.UpgradeFailures).To(BeEquivalentTo(2))
		g.Expect(hr.Status.Failures).To(BeEquivalentTo(2))
		g.Expect(hr.Status.LastAttemptedRevision).To(Equal("2.0.0"))
		g.Expect(hr.Status.History.Latest().ChartVersion).To(Equal("1.0.0"))
	})
	g.Expect(conditions.GetReason(hr, helmv2.RemediatedCondition)).To(Equal(helmv2.RollbackSucceededReason))
	g.Expect(conditions.GetReason(hr, helmv2.ReleasedCondition)).To(Equal(helmv2.UpgradeFailedReason))
	g.Expect(conditions.GetMessage(hr, fluxmeta.ReadyCondition)).To(ContainSubstring("app@2.0.0"))

	rels := helmList(t, hr)
	g.Expect(rels).To(HaveLen(1))
	g.Expect(rels[0].Info.Status.String()).To(Equal("deployed"))
	g.Expect(rels[0].Chart.Metadata.Version).To(Equal("1.0.0"), "rolled back to the first chart")
	latest := hr.Status.History.Latest()
	g.Expect(latest.Version).To(Equal(rels[0].Version))
	g.Expect(latest.ChartVersion).To(Equal("1.0.0"))

	// A fixed chart resets the counters and upgrades.
	publishHelmChart(t, ns, "chart", "2.0.1", goodChart)
	waitReady(t, hr, "2.0.1", rels[0].Version+1)
	g.Expect(hr.Status.UpgradeFailures).To(BeZero())
}

// TestFailedInstallUninstallsAndRetries installs a chart the API server
// rejects: the controller uninstalls, installs again, and stalls when the
// retry fails too.
func TestFailedInstallUninstallsAndRetries(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", badChart)
	hr := newRelease(t, ns, "app", func(hr *helmv2.HelmRelease) {
		hr.Spec.Install = &helmv2.Install{Remediation: &helmv2.InstallRemediation{Retries: 1}}
	})
	waitStalled(t, hr, helmv2.RetriesExceededReason, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(hr.Status.InstallFailures).To(BeEquivalentTo(2))
	})
	g.Expect(conditions.GetReason(hr, helmv2.RemediatedCondition)).To(Equal(helmv2.UninstallSucceededReason))
	g.Expect(conditions.GetMessage(hr, fluxmeta.StalledCondition)).To(ContainSubstring("retries exhausted"))
	rels := helmList(t, hr)
	g.Expect(rels).To(HaveLen(1))
	g.Expect(rels[0].Info.Status.String()).To(Equal("failed"))
	g.Expect(rels[0].Version).To(Equal(1), "the uninstall remediation dropped the first failed version")

	// resetAt clears the counters: the fixed chart installs.
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	update(t, hr, func(hr *helmv2.HelmRelease) {
		hr.Annotations = map[string]string{helmv2.ResetRequestAnnotation: "now", fluxmeta.ReconcileRequestAnnotation: "now"}
	})
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(conditions.IsReady(hr)).To(BeTrue(), "ready: %v", hr.Status.Conditions)
		g.Expect(hr.Status.LastHandledResetAt).To(Equal("now"))
	})
}

// TestImpersonationDenied runs the release as a ServiceAccount without
// rights: Helm cannot read its storage, and Ready says so.
func TestImpersonationDenied(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	g.Expect(env.Client.Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"}})).To(Succeed())
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	hr := newRelease(t, ns, "app", func(hr *helmv2.HelmRelease) { hr.Spec.ServiceAccountName = "tenant" })
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(conditions.IsFalse(hr, fluxmeta.ReadyCondition)).To(BeTrue())
		g.Expect(conditions.GetMessage(hr, fluxmeta.ReadyCondition)).To(
			And(ContainSubstring("forbidden"), ContainSubstring("system:serviceaccount:"+ns+":tenant")))
	})
	_, err := configMap(t, ns, "app-a")
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
}
