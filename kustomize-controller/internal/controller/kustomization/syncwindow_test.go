package kustomization

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	policyv1 "github.com/ferrycd/ferry/pkg/apis/policy/v1alpha1"
)

func editWindow(t *testing.T, sw *policyv1.SyncWindow, mutate func(*policyv1.SyncWindow)) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		cur := &policyv1.SyncWindow{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(sw), cur); err != nil {
			return err
		}
		mutate(cur)
		return env.Client.Update(context.Background(), cur)
	}, timeout, 100*time.Millisecond).Should(Succeed())
}

// syncWindowCondition waits for the SyncWindow condition's reason; an empty
// reason waits for the condition to be gone.
func syncWindowCondition(t *testing.T, k *kustomizev1.Kustomization, reason string) *metav1.Condition {
	t.Helper()
	var c *metav1.Condition
	NewWithT(t).Eventually(func(g Gomega) {
		got := &kustomizev1.Kustomization{}
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(k), got)).To(Succeed())
		c = conditions.Get(got, policyv1.SyncWindowConditionType)
		if reason == "" {
			g.Expect(c).To(BeNil())
			return
		}
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(reason))
	}, timeout, 100*time.Millisecond).Should(Succeed())
	return c
}

// TestSyncWindowHoldsTheLastAppliedState checks that an active deny window
// keeps the last applied revision (no apply, no prune, no self-heal) and
// says so, that manualSync lets an explicit request through, and that
// suspending the window lets the Kustomization catch up at once.
func TestSyncWindowHoldsTheLastAppliedState(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"a.yaml": configMap("a", "v1"), "b.yaml": configMap("b", "v1")})
	k := newKustomization(ns, "app", "./", func(k *kustomizev1.Kustomization) { k.Spec.TargetNamespace = ns })
	other := newKustomization(ns, "other", "./", func(k *kustomizev1.Kustomization) {
		k.Spec.TargetNamespace = ns
		k.Spec.NamePrefix = "other-"
	})
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())
	g.Expect(env.Client.Create(ctx, other)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")
	waitApplied(t, other, "main@sha1:1")

	// Active all the time: every minute, for a day.
	freeze := &policyv1.SyncWindow{
		ObjectMeta: metav1.ObjectMeta{Name: "freeze", Namespace: ns},
		Spec: policyv1.SyncWindowSpec{Kind: "deny", Schedule: "* * * * *", Duration: metav1.Duration{Duration: 24 * time.Hour},
			Selector: policyv1.SyncWindowSelector{Names: []string{"ap*"}, Kinds: []policyv1.SelectableKind{"Kustomization"}}},
	}
	g.Expect(env.Client.Create(ctx, freeze)).To(Succeed())
	blocked := syncWindowCondition(t, k, policyv1.BlockedReason)
	g.Expect(blocked.Message).To(ContainSubstring("denied by active window " + ns + "/freeze"))

	// A new revision that changes a and prunes b is held back.
	publish(t, ns, "repo", "main@sha1:2", map[string]string{"a.yaml": configMap("a", "v2")})
	waitApplied(t, other, "main@sha1:2")
	requestReconcile(t, k)
	g.Consistently(func(g Gomega) {
		a, err := getConfigMap(ns, "a")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(a.Data["key"]).To(Equal("v1"))
		_, err = getConfigMap(ns, "b")
		g.Expect(err).NotTo(HaveOccurred(), "a blocked Kustomization must not prune")
	}, 3*time.Second, 200*time.Millisecond).Should(Succeed())
	got := &kustomizev1.Kustomization{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(k), got)).To(Succeed())
	g.Expect(got.Status.LastAppliedRevision).To(Equal("main@sha1:1"))
	g.Expect(conditions.IsReady(got)).To(BeTrue(), "a hold keeps Ready as the last reconcile left it")

	// manualSync lets an explicit request through, once.
	editWindow(t, freeze, func(sw *policyv1.SyncWindow) { sw.Spec.ManualSync = true })
	requestReconcile(t, k)
	waitApplied(t, k, "main@sha1:2")
	syncWindowCondition(t, k, policyv1.ManualSyncReason)
	g.Eventually(func() error { _, err := getConfigMap(ns, "b"); return err }, timeout).ShouldNot(Succeed())

	// Suspending the window is the emergency override: it blocks nothing.
	editWindow(t, freeze, func(sw *policyv1.SyncWindow) { sw.Spec.Suspend = true; sw.Spec.ManualSync = false })
	syncWindowCondition(t, k, "")
}
