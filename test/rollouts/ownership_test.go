package rollouts

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rolloutsv1alpha1 "github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/test/suite"
)

// TestReplicasInGitAreFought shows why Git must leave spec.replicas out of
// a Deployment that a Rollout's workloadRef names (docs/rollouts.md, field
// ownership). With spec.replicas in Git both controllers own the field in
// turn: the rollout-controller scales the Deployment to zero, the
// kustomize-controller's drift detection sees another manager's edit and
// applies Git's count again, and the Deployment's own pods come and go
// next to the Rollout's. The Rollout itself still becomes Healthy.
func TestReplicasInGitAreFought(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	o := newGitops(t, app{image: "web:1", replicas: "3"})
	g.Eventually(func(g Gomega) {
		ro := o.rollout(g)
		g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
	}, timeout, 250*time.Millisecond).Should(Succeed())

	seen := map[int32]bool{}
	g.Eventually(func(g Gomega) {
		d := o.deployment(g)
		if d.Spec.Replicas != nil {
			seen[*d.Spec.Replicas] = true
		}
		g.Expect(seen).To(HaveKey(int32(0)), "the rollout-controller scales the Deployment down")
		g.Expect(seen).To(HaveKey(int32(3)), "the kustomize-controller applies Git's replicas again")
	}, 30*time.Second, 20*time.Millisecond).Should(Succeed())

	// The rollout-controller scaled the Deployment down more than once: the
	// two controllers take turns, they do not settle.
	g.Eventually(func(g Gomega) int {
		var events corev1.EventList
		g.Expect(env.Client.List(ctx, &events, client.InNamespace(o.ns))).To(Succeed())
		n := int32(0)
		for _, e := range events.Items {
			if e.Reason == "ScaledDownWorkload" {
				n += max(e.Count, 1)
			}
		}
		return int(n)
	}, 30*time.Second, 250*time.Millisecond).Should(BeNumerically(">=", 2))
}

// TestPauseByHandOutlivesApplies: spec.paused, which Git leaves out, is
// whoever pauses the rollout's (ferry rollout pause, the kubectl plugin):
// a reconcile of the Kustomization that applies the Rollout keeps it.
func TestPauseByHandOutlivesApplies(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	o := newGitops(t, app{image: "web:1"})
	var ro *rolloutsv1alpha1.Rollout
	g.Eventually(func(g Gomega) {
		ro = o.rollout(g)
		g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
	}, timeout, 250*time.Millisecond).Should(Succeed())
	g.Expect(env.Client.Patch(ctx, ro, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"paused":true}}`)))).To(Succeed())

	token := suite.RequestReconcile(t, env.Client, o.ks, timeout)
	g.Eventually(func(g Gomega) {
		g.Expect(o.kustomization(g).Status.LastHandledReconcileAt).To(Equal(token))
	}, timeout, 100*time.Millisecond).Should(Succeed())
	g.Consistently(func(g Gomega) {
		got := o.rollout(g)
		g.Expect(got.Spec.Paused).To(BeTrue(), "the apply of Git's Rollout must keep spec.paused")
	}, 3*time.Second, 250*time.Millisecond).Should(Succeed())
}
