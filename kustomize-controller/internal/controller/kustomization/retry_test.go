package kustomization

import (
	"context"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/apis/meta"
)

// TestRetryBacksOffAndResets checks, against the API server, that a failing
// Kustomization with spec.retry is retried on Argo CD's schedule (the
// retries and the next attempt are in status, each wait twice the one
// before), stops at the limit with a message saying so, and starts again at
// zero once a new revision applies.
func TestRetryBacksOffAndResets(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"other/cm.yaml": configMap("cm", "v1")})
	factor := int64(2)
	k := newKustomization(ns, "app", "./app", func(k *kustomizev1.Kustomization) {
		k.Spec.TargetNamespace = ns
		k.Spec.Retry = &meta.RetryPolicy{Limit: 2, Backoff: &meta.Backoff{
			Duration: &metav1.Duration{Duration: 2 * time.Second}, Factor: &factor}}
	})
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())

	// Each retry is scheduled from the failure before it: the gaps between
	// the failures' times and nextRetryAt are 2s and then 4s.
	var nexts []time.Duration
	var seen int64
	got := &kustomizev1.Kustomization{}
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(k), got)).To(Succeed())
		if got.Status.Retries > seen && got.Status.NextRetryAt != nil {
			seen = got.Status.Retries
			ready := conditions.Get(got, fluxmeta.ReadyCondition)
			nexts = append(nexts, got.Status.NextRetryAt.Sub(ready.LastTransitionTime.Time))
		}
		g.Expect(got.Status.Retries).To(Equal(int64(2)))
		g.Expect(conditions.Get(got, fluxmeta.ReadyCondition).Message).To(ContainSubstring("retry limit of 2 reached"))
		// The patch helper writes conditions before the other status
		// fields, so nextRetryAt is cleared in a second patch.
		g.Expect(got.Status.NextRetryAt).To(BeNil(), "no retry is due once the limit is used up")
	}, timeout, 50*time.Millisecond).Should(Succeed())
	g.Expect(got.Status.RetriedRevision).To(Equal("main@sha1:1"))
	ready := conditions.Get(got, fluxmeta.ReadyCondition)
	g.Expect(ready.Reason).To(Equal(kustomizev1.BuildFailedReason))
	g.Expect(nexts).NotTo(BeEmpty())
	// The Ready condition's transition time is the first failure (it stays
	// False), so the n-th nextRetryAt is 2s, 2s+4s after it, give or take
	// the time the retries took.
	g.Expect(nexts[0]).To(BeNumerically("~", 2*time.Second, time.Second))
	if len(nexts) > 1 {
		g.Expect(nexts[1]).To(BeNumerically(">=", 6*time.Second-time.Second))
	}
	g.Consistently(func() int64 {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(k), got)
		return got.Status.Retries
	}, 3*time.Second, 200*time.Millisecond).Should(Equal(int64(2)), "the limit stops the retries")

	// A new revision that builds resets the count.
	publish(t, ns, "repo", "main@sha1:2", map[string]string{"app/cm.yaml": configMap("cm", "v1")})
	applied := waitApplied(t, k, "main@sha1:2")
	g.Expect(applied.Status.Retries).To(BeZero())
	g.Expect(applied.Status.NextRetryAt).To(BeNil())
}

// TestFailureRetriesAfterRetryInterval checks Flux's behaviour without
// spec.retry: a failed reconcile comes back after retryInterval, counted in
// status with its next attempt.
func TestFailureRetriesAfterRetryInterval(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"other/cm.yaml": configMap("cm", "v1")})
	k := newKustomization(ns, "app", "./app", func(k *kustomizev1.Kustomization) {
		k.Spec.TargetNamespace = ns
		k.Spec.RetryInterval = &metav1.Duration{Duration: time.Second}
	})
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())
	got := &kustomizev1.Kustomization{}
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(k), got)).To(Succeed())
		g.Expect(got.Status.Retries).To(BeNumerically(">=", 3))
	}, timeout, 100*time.Millisecond).Should(Succeed())
	g.Expect(got.Status.NextRetryAt).NotTo(BeNil())
	g.Expect(conditions.Get(got, fluxmeta.ReadyCondition).Reason).To(Equal(kustomizev1.BuildFailedReason))
}
