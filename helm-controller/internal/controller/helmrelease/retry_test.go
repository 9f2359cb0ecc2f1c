package helmrelease

import (
	"strings"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	"github.com/ferrycd/ferry/pkg/apis/meta"
)

// retryPolicy sets spec.retry to limit retries, the first after 2s and
// each next one twice as long.
func retryPolicy(limit int64) func(*helmv2.HelmRelease) {
	return func(hr *helmv2.HelmRelease) {
		factor := int64(2)
		hr.Spec.Retry = &meta.RetryPolicy{Limit: limit, Backoff: &meta.Backoff{
			Duration: &metav1.Duration{Duration: 2 * time.Second}, Factor: &factor}}
	}
}

// waitRetryLimit waits until hr has used up its limit of retries of
// revision (a chart version) and returns the waits it scheduled, each
// measured from when the test saw the retry in status, so a little short
// of the wait and, as status times are in seconds, up to a second off.
func waitRetryLimit(t *testing.T, hr *helmv2.HelmRelease, revision string, limit int64) []time.Duration {
	t.Helper()
	var nexts []time.Duration
	var seen int64
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		if strings.HasPrefix(hr.Status.RetriedRevision, revision+"/") && hr.Status.Retries > seen && hr.Status.NextRetryAt != nil {
			seen = hr.Status.Retries
			nexts = append(nexts, time.Until(hr.Status.NextRetryAt.Time))
		}
		g.Expect(hr.Status.RetriedRevision).To(HavePrefix(revision + "/"))
		g.Expect(hr.Status.Retries).To(Equal(limit))
		g.Expect(conditions.GetMessage(hr, fluxmeta.ReadyCondition)).To(ContainSubstring("retry limit of 2 reached"))
		// The patch helper writes conditions before the rest of status.
		g.Expect(hr.Status.NextRetryAt).To(BeNil(), "no retry is due once the limit is used up")
	})
	return nexts
}

// TestRetryBacksOff checks spec.retry on HelmReleases against the API
// server: under the RetryOnFailure strategy, whose own retryInterval here
// is an hour, a failing install is retried on Argo CD's schedule (2s, then
// 4s more), stops at the limit with a message saying so, counts again from
// zero for a new chart version and resets on success; with a remediation,
// the retries stop when the remediation retries are used up and the
// release stalls.
func TestRetryBacksOff(t *testing.T) {
	t.Run("RetryOnFailure", func(t *testing.T) {
		t.Parallel()
		g := NewWithT(t)
		ns := newNamespace(t)
		publishHelmChart(t, ns, "chart", "1.0.0", badChart)
		hr := newRelease(t, ns, "app", retryEvery(time.Hour), retryPolicy(2))

		nexts := waitRetryLimit(t, hr, "1.0.0", 2)
		g.Expect(conditions.GetReason(hr, fluxmeta.ReadyCondition)).To(Equal(helmv2.UpgradeFailedReason))
		g.Expect(hr.Status.Failures).To(BeEquivalentTo(3), "the install and two retries")
		g.Expect(nexts).To(HaveLen(2), "each retry is seen in status")
		g.Expect(nexts[0]).To(BeNumerically("~", 1300*time.Millisecond, 800*time.Millisecond))
		g.Expect(nexts[1]).To(BeNumerically("~", 3300*time.Millisecond, 800*time.Millisecond))
		g.Consistently(func(g Gomega) {
			waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {})
			g.Expect(hr.Status.Failures).To(BeEquivalentTo(3))
		}, 3*time.Second, 200*time.Millisecond).Should(Succeed(), "the limit stops the retries")

		// A new chart version starts the count again.
		publishHelmChart(t, ns, "chart", "1.0.1", badChart)
		waitRetryLimit(t, hr, "1.0.1", 2)

		// Success clears it.
		publishHelmChart(t, ns, "chart", "1.0.2", goodChart)
		waitReleased(t, hr, "1.0.2")
		g.Expect(hr.Status.Retries).To(BeZero())
		g.Expect(hr.Status.NextRetryAt).To(BeNil())
	})
	t.Run("remediation retries used up", func(t *testing.T) {
		t.Parallel()
		ns := newNamespace(t)
		publishHelmChart(t, ns, "chart", "1.0.0", badChart)
		hr := newRelease(t, ns, "app", retryPolicy(-1), func(hr *helmv2.HelmRelease) {
			hr.Spec.Install = &helmv2.Install{Remediation: &helmv2.InstallRemediation{Retries: 1}}
		})
		// The first reconcile installs and uninstalls; the retry after 2s
		// installs again, fails and stalls: unlimited retries do not
		// outlast the remediation's.
		waitStalled(t, hr, helmv2.RetriesExceededReason, func(g Gomega, hr *helmv2.HelmRelease) {
			g.Expect(hr.Status.InstallFailures).To(BeEquivalentTo(2))
			g.Expect(hr.Status.Retries).To(BeEquivalentTo(1))
			g.Expect(hr.Status.NextRetryAt).To(BeNil())
		})
	})
}
