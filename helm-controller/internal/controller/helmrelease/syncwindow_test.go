package helmrelease

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	policyv1 "github.com/ferrycd/ferry/pkg/apis/policy/v1alpha1"
	"github.com/ferrycd/ferry/test/suite"
)

// requestReconcile asks for a reconcile of hr, as `flux reconcile` does,
// and waits until a reconcile handled the request.
func requestReconcile(t *testing.T, hr *helmv2.HelmRelease) {
	t.Helper()
	token := suite.RequestReconcile(t, env.Client, hr, timeout)
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(hr.Status.LastHandledReconcileAt).To(Equal(token))
	})
}

// syncWindowCondition waits for the SyncWindow condition's reason; an empty
// reason waits for the condition to be gone.
func syncWindowCondition(t *testing.T, hr *helmv2.HelmRelease, reason string) *metav1.Condition {
	t.Helper()
	var c *metav1.Condition
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		c = conditions.Get(hr, policyv1.SyncWindowConditionType)
		if reason == "" {
			g.Expect(c).To(BeNil())
			return
		}
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(reason))
	})
	return c
}

// TestSyncWindowHoldsTheRelease checks that an active deny window keeps the
// release at its last state (a new chart version is not upgraded to, a
// deleted release object is not restored) and says so, that a window
// change requeues the HelmReleases it selects, that manualSync lets an
// explicit request through, and that suspending the window lifts the hold.
func TestSyncWindowHoldsTheRelease(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	drift := func(hr *helmv2.HelmRelease) {
		hr.Spec.DriftDetection = &helmv2.DriftDetection{Mode: helmv2.DriftDetectionEnabled}
	}
	hr := newRelease(t, ns, "app", drift)
	other := newRelease(t, ns, "other", drift)
	waitReady(t, hr, "1.0.0", 1)
	waitReady(t, other, "1.0.0", 1)

	// Active all the time: every minute, for a day.
	freeze := &policyv1.SyncWindow{
		ObjectMeta: metav1.ObjectMeta{Name: "freeze", Namespace: ns},
		Spec: policyv1.SyncWindowSpec{Kind: "deny", Schedule: "* * * * *", Duration: metav1.Duration{Duration: 24 * time.Hour},
			Selector: policyv1.SyncWindowSelector{Names: []string{"ap*"}, Kinds: []policyv1.SelectableKind{"HelmRelease"}}},
	}
	g.Expect(env.Client.Create(ctx, freeze)).To(Succeed())
	blocked := syncWindowCondition(t, hr, policyv1.BlockedReason)
	g.Expect(blocked.Message).To(ContainSubstring("denied by active window " + ns + "/freeze"))

	// A new chart version and a deleted release object are held back; the
	// HelmRelease the window does not select upgrades.
	publishHelmChart(t, ns, "chart", "2.0.0", goodChart)
	waitReady(t, other, "2.0.0", 2)
	b, err := configMap(t, ns, "app-b")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(env.Client.Delete(ctx, b)).To(Succeed())
	requestReconcile(t, hr)
	g.Consistently(func(g Gomega) {
		a, err := configMap(t, ns, "app-a")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(a.Data["version"]).To(Equal("1.0.0"))
		_, err = configMap(t, ns, "app-b")
		g.Expect(err).To(HaveOccurred(), "a blocked HelmRelease must not correct drift")
	}, 3*time.Second, 200*time.Millisecond).Should(Succeed())
	got := &helmv2.HelmRelease{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(hr), got)).To(Succeed())
	g.Expect(got.Status.History.Latest().Version).To(Equal(1))
	g.Expect(got.Status.History.Latest().ChartVersion).To(Equal("1.0.0"))
	g.Expect(conditions.IsReady(got)).To(BeTrue(), "a hold keeps Ready as the last reconcile left it")
	g.Expect(helmList(t, hr)).To(HaveLen(2), "only the two first releases exist")

	// manualSync lets an explicit request through.
	suite.Edit(t, env.Client, freeze, func(sw *policyv1.SyncWindow) { sw.Spec.ManualSync = true }, timeout)
	requestReconcile(t, hr)
	waitReady(t, hr, "2.0.0", 2)
	syncWindowCondition(t, hr, policyv1.ManualSyncReason)
	g.Expect(configMap(t, ns, "app-b")).Error().NotTo(HaveOccurred())

	// Suspending the window is the emergency override: the window change
	// alone requeues the HelmRelease, which is no longer held.
	suite.Edit(t, env.Client, freeze, func(sw *policyv1.SyncWindow) { sw.Spec.Suspend = true; sw.Spec.ManualSync = false }, timeout)
	syncWindowCondition(t, hr, "")
}
