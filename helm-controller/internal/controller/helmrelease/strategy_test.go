package helmrelease

import (
	"context"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
)

// retryEvery sets the RetryOnFailure strategy with interval d on install
// and upgrade.
func retryEvery(d time.Duration) func(*helmv2.HelmRelease) {
	return func(hr *helmv2.HelmRelease) {
		s := &helmv2.ActionStrategy{Name: helmv2.ActionStrategyRetryOnFailure, RetryInterval: &metav1.Duration{Duration: d}}
		if hr.Spec.Install == nil {
			hr.Spec.Install = &helmv2.Install{}
		}
		if hr.Spec.Upgrade == nil {
			hr.Spec.Upgrade = &helmv2.Upgrade{}
		}
		hr.Spec.Install.Strategy, hr.Spec.Upgrade.Strategy = s, s.DeepCopy()
	}
}

// TestRetryOnFailure checks the RetryOnFailure strategy as Flux serves it:
// a failed install or upgrade is neither uninstalled nor rolled back, is
// retried with an upgrade every retryInterval past any retry count, and
// never stalls; a fixed chart then releases.
func TestRetryOnFailure(t *testing.T) {
	t.Run("install", func(t *testing.T) {
		g := NewWithT(t)
		ns := newNamespace(t)
		publishHelmChart(t, ns, "chart", "1.0.0", badChart)
		hr := newRelease(t, ns, "app", retryEvery(time.Second), func(hr *helmv2.HelmRelease) {
			hr.Spec.Install.Remediation = &helmv2.InstallRemediation{Retries: 1}
		})
		// Two retries after the install, each a new failed version: the
		// uninstall remediation would have dropped the failed install.
		waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
			g.Expect(hr.Status.Failures).To(BeNumerically(">=", 3))
			g.Expect(conditions.IsStalled(hr)).To(BeFalse(), "stalled: %v", hr.Status.Conditions)
			g.Expect(conditions.IsFalse(hr, fluxmeta.ReadyCondition)).To(BeTrue())
			g.Expect(conditions.GetMessage(hr, fluxmeta.ReadyCondition)).To(ContainSubstring("RetryOnFailure"))
		})
		g.Expect(conditions.Has(hr, helmv2.RemediatedCondition)).To(BeFalse(), "nothing is remediated: %v", hr.Status.Conditions)
		rels := helmList(t, hr)
		g.Expect(rels).NotTo(BeEmpty())
		g.Expect(rels[0].Version).To(BeNumerically(">=", 2), "retried with upgrades on the failed install")
		g.Expect(rels[0].Info.Status.String()).To(Equal("failed"))

		publishHelmChart(t, ns, "chart", "1.0.1", goodChart)
		waitReleased(t, hr, "1.0.1")
	})
	t.Run("upgrade", func(t *testing.T) {
		g := NewWithT(t)
		ns := newNamespace(t)
		publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
		hr := newRelease(t, ns, "app", retryEvery(time.Second), func(hr *helmv2.HelmRelease) {
			hr.Spec.Upgrade.Remediation = &helmv2.UpgradeRemediation{Retries: 1}
		})
		waitReady(t, hr, "1.0.0", 1)

		publishHelmChart(t, ns, "chart", "2.0.0", badChart)
		waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
			g.Expect(hr.Status.UpgradeFailures).To(BeNumerically(">=", 3))
			g.Expect(conditions.IsStalled(hr)).To(BeFalse(), "stalled: %v", hr.Status.Conditions)
			g.Expect(conditions.IsTrue(hr, fluxmeta.ReconcilingCondition)).To(BeTrue())
		})
		g.Expect(conditions.Has(hr, helmv2.RemediatedCondition)).To(BeFalse(), "no rollback: %v", hr.Status.Conditions)
		rels := helmList(t, hr)
		g.Expect(rels[0].Info.Status.String()).To(Equal("failed"))
		g.Expect(rels[0].Chart.Metadata.Version).To(Equal("2.0.0"), "the failed upgrade stays, not rolled back")

		publishHelmChart(t, ns, "chart", "2.0.1", goodChart)
		waitReleased(t, hr, "2.0.1")
	})
	t.Run("retryInterval needs RetryOnFailure", func(t *testing.T) {
		g := NewWithT(t)
		ns := newNamespace(t)
		hr := &helmv2.HelmRelease{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
			Spec: helmv2.HelmReleaseSpec{
				Interval: metav1.Duration{Duration: time.Hour},
				ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: "HelmChart", Name: "chart"},
				Install: &helmv2.Install{Strategy: &helmv2.ActionStrategy{Name: helmv2.ActionStrategyRemediateOnFailure,
					RetryInterval: &metav1.Duration{Duration: time.Minute}}},
			},
		}
		err := env.Client.Create(context.Background(), hr)
		g.Expect(err).To(MatchError(ContainSubstring("retryInterval can only be set with the RetryOnFailure strategy")))
	})
}
