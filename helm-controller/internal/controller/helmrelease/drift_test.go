package helmrelease

import (
	"context"
	"testing"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
)

// TestDriftDetection changes and deletes release objects behind Helm's
// back: enabled mode restores them, warn mode only reports.
func TestDriftDetection(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []helmv2.DriftDetectionMode{helmv2.DriftDetectionEnabled, helmv2.DriftDetectionWarn} {
		t.Run(string(mode), func(t *testing.T) {
			g := NewWithT(t)
			ns := newNamespace(t)
			publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
			hr := newRelease(t, ns, "app", func(hr *helmv2.HelmRelease) {
				hr.Spec.DriftDetection = &helmv2.DriftDetection{Mode: mode}
			})
			waitReady(t, hr, "1.0.0", 1)
			g.Expect(conditions.GetReason(hr, helmv2.DriftedCondition)).To(Equal(helmv2.NoDriftDetectedReason))

			cm, err := configMap(t, ns, "app-a")
			g.Expect(err).NotTo(HaveOccurred())
			original := cm.Data["version"]
			cm.Data["version"] = "edited"
			g.Expect(env.Client.Update(ctx, cm)).To(Succeed())
			b, err := configMap(t, ns, "app-b")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(env.Client.Delete(ctx, b)).To(Succeed())
			update(t, hr, func(hr *helmv2.HelmRelease) {
				hr.Annotations = map[string]string{fluxmeta.ReconcileRequestAnnotation: "drift"}
			})
			waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
				g.Expect(hr.Status.LastHandledReconcileAt).To(Equal("drift"))
			})
			g.Expect(conditions.IsReady(hr)).To(BeTrue())
			cm, err = configMap(t, ns, "app-a")
			g.Expect(err).NotTo(HaveOccurred())
			_, errB := configMap(t, ns, "app-b")
			if mode == helmv2.DriftDetectionEnabled {
				g.Expect(cm.Data["version"]).To(Equal(original))
				g.Expect(errB).NotTo(HaveOccurred())
				g.Expect(conditions.IsFalse(hr, helmv2.DriftedCondition)).To(BeTrue())
				return
			}
			g.Expect(cm.Data["version"]).To(Equal("edited"))
			g.Expect(errB).To(HaveOccurred())
			g.Expect(conditions.IsTrue(hr, helmv2.DriftedCondition)).To(BeTrue())
			g.Expect(conditions.GetMessage(hr, helmv2.DriftedCondition)).To(
				And(ContainSubstring("ConfigMap/"+ns+"/app-a changed"), ContainSubstring("ConfigMap/"+ns+"/app-b removed")))
		})
	}
}
