package rollout

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/test/suite"
)

// withCanary gives the rollout a canary strategy with steps, the
// <name>-stable and <name>-canary Services and no unavailable pods.
func withCanary(steps ...v1alpha1.CanaryStep) rolloutOpt {
	return func(ro *v1alpha1.Rollout) {
		zero := intstr.FromInt32(0)
		ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{
			Steps: steps, MaxUnavailable: &zero,
			StableService: ro.Name + "-stable", CanaryService: ro.Name + "-canary",
		}
	}
}

// newServices creates the stable and canary Services of a rollout.
func newServices(t *testing.T, ro *v1alpha1.Rollout) {
	t.Helper()
	for _, name := range []string{ro.Name + "-stable", ro.Name + "-canary"} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ro.Namespace},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": ro.Name},
				Ports: []corev1.ServicePort{{Port: 80}}},
		}
		NewWithT(t).Expect(env.Client.Create(context.Background(), svc)).To(Succeed())
	}
}

// selectedHash is the pod-template hash Service name selects.
func selectedHash(g Gomega, ns, name string) string {
	svc := &corev1.Service{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, svc)).To(Succeed())
	return svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
}

// patchStatus applies a merge patch to the rollout's status, as the
// kubectl plugin and the ferry CLI do to promote and abort.
func patchStatus(t *testing.T, ro *v1alpha1.Rollout, patch string) {
	t.Helper()
	NewWithT(t).Expect(env.Client.Status().Patch(context.Background(), ro.DeepCopy(),
		client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
}

// expectPausedAt waits for the rollout to be paused by a pause step at
// index with canary and stable pods available, Ready Unknown and
// Reconciling, and returns it.
func expectPausedAt(t *testing.T, ro *v1alpha1.Rollout, index, canary, stable int32) *v1alpha1.Rollout {
	t.Helper()
	var got *v1alpha1.Rollout
	NewWithT(t).Eventually(func(g Gomega) {
		got = getRollout(g, client.ObjectKeyFromObject(ro))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhasePaused), "message: %s", got.Status.Message)
		g.Expect(got.Status.CurrentStepIndex).To(HaveValue(Equal(index)))
		g.Expect(got.Status.PauseConditions).To(ContainElement(
			HaveField("Reason", v1alpha1.PauseReasonCanaryPauseStep)))
		g.Expect(got.Status.ControllerPause).To(BeTrue())
		ready := conditions.Get(got, meta.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionUnknown))
		g.Expect(conditions.IsTrue(got, meta.ReconcilingCondition)).To(BeTrue())
		g.Expect(conditions.IsTrue(got, v1alpha1.RolloutPaused)).To(BeTrue())
		g.Expect(replicaSetOf(g, got, got.Status.CurrentPodHash).Status.AvailableReplicas).To(Equal(canary))
		g.Expect(*replicaSetOf(g, got, got.Status.CurrentPodHash).Spec.Replicas).To(Equal(canary))
		g.Expect(*replicaSetOf(g, got, got.Status.StableRS).Spec.Replicas).To(Equal(stable))
		g.Expect(replicaSetOf(g, got, got.Status.StableRS).Status.AvailableReplicas).To(Equal(stable))
	}, timeout, 200*time.Millisecond).Should(Succeed())
	return got
}

// startCanary creates a healthy 4-replica rollout with the steps and its
// Services, then sets a new image, and returns the rollout and its stable
// hash.
func startCanary(t *testing.T, prefix string, steps ...v1alpha1.CanaryStep) (*v1alpha1.Rollout, string) {
	t.Helper()
	ns := suite.NewNamespace(t, env.Client, prefix)
	ro := newRollout(ns, "web", 4, "web:1", withCanary(steps...))
	return ro, startRollout(t, ro)
}

// TestCanarySteps runs a canary through every kind of step without a
// router: setWeight approximated by replica counts, a pause until promoted
// (by removing status.pauseConditions, as the kubectl plugin does), a timed
// pause, and the end, where the canary becomes stable and the old
// ReplicaSet goes; the Services follow the hashes.
func TestCanarySteps(t *testing.T) {
	g := NewWithT(t)
	ro, stable := startCanary(t, "canary-",
		v1alpha1.CanaryStep{SetWeight: ptr.To[int32](25)},
		v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}},
		v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)},
		v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{Duration: ptr.To(intstr.FromString("2s"))}},
	)
	got := expectPausedAt(t, ro, 1, 1, 3)
	canary := got.Status.CurrentPodHash
	g.Expect(canary).NotTo(Equal(stable))
	g.Expect(got.Status.StableRS).To(Equal(stable))
	g.Expect(got.Status.Message).To(Equal(string(v1alpha1.PauseReasonCanaryPauseStep)))
	g.Eventually(func(g Gomega) {
		g.Expect(selectedHash(g, ro.Namespace, "web-stable")).To(Equal(stable))
		g.Expect(selectedHash(g, ro.Namespace, "web-canary")).To(Equal(canary))
	}, timeout).Should(Succeed())
	// Without a promote the rollout stays where it is.
	g.Consistently(func(g Gomega) {
		g.Expect(getRollout(g, client.ObjectKeyFromObject(ro)).Status.CurrentStepIndex).To(HaveValue(Equal(int32(1))))
	}, 2*time.Second, 200*time.Millisecond).Should(Succeed())

	patchStatus(t, ro, `{"status":{"pauseConditions":null}}`)
	// 50%, then the timed pause, then all steps done.
	expectPausedAt(t, ro, 3, 2, 2)
	got, rs := expectHealthy(t, ro, 4)
	g.Expect(got.Status.StableRS).To(Equal(canary))
	g.Expect(got.Status.CurrentStepIndex).To(HaveValue(Equal(int32(4))))
	g.Expect(got.Status.PauseConditions).To(BeEmpty())
	g.Expect(rs.Name).To(Equal("web-" + canary))
	g.Eventually(func(g Gomega) {
		g.Expect(*replicaSetOf(g, got, stable).Spec.Replicas).To(BeZero())
		g.Expect(selectedHash(g, ro.Namespace, "web-stable")).To(Equal(canary))
		g.Expect(selectedHash(g, ro.Namespace, "web-canary")).To(Equal(canary))
	}, timeout).Should(Succeed())
}

// TestCanaryAbort: status.abort scales the canary down and returns every
// replica and the canary Service to stable; the rollout is Degraded
// (Ready False, Stalled) until a retry clears abort, which starts the
// steps again from 0.
func TestCanaryAbort(t *testing.T) {
	g := NewWithT(t)
	ro, stable := startCanary(t, "canary-abort-",
		v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)},
		v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}},
	)
	got := expectPausedAt(t, ro, 1, 2, 2)
	canary := got.Status.CurrentPodHash

	patchStatus(t, ro, `{"status":{"abort":true}}`)
	g.Eventually(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseDegraded))
		g.Expect(got.Status.AbortedAt).NotTo(BeNil())
		g.Expect(got.Status.StableRS).To(Equal(stable))
		g.Expect(conditions.IsStalled(got)).To(BeTrue())
		g.Expect(conditions.IsFalse(got, meta.ReadyCondition)).To(BeTrue())
		g.Expect(conditions.GetReason(got, meta.ReadyCondition)).To(Equal(AbortedReason))
		g.Expect(*replicaSetOf(g, got, canary).Spec.Replicas).To(BeZero())
		g.Expect(replicaSetOf(g, got, canary).Status.Replicas).To(BeZero())
		g.Expect(replicaSetOf(g, got, stable).Status.AvailableReplicas).To(Equal(int32(4)))
		g.Expect(selectedHash(g, ro.Namespace, "web-canary")).To(Equal(stable))
		g.Expect(selectedHash(g, ro.Namespace, "web-stable")).To(Equal(stable))
	}, timeout, 200*time.Millisecond).Should(Succeed())

	// Retry: the steps start over.
	patchStatus(t, ro, `{"status":{"abort":false}}`)
	expectPausedAt(t, ro, 1, 2, 2)
}

// TestCanaryNewTemplateMidRollout: a new template while a canary is paused
// restarts the steps from 0 with a new canary; the replaced canary is
// scaled down and the stable is untouched.
func TestCanaryNewTemplateMidRollout(t *testing.T) {
	g := NewWithT(t)
	ro, stable := startCanary(t, "canary-restart-",
		v1alpha1.CanaryStep{SetWeight: ptr.To[int32](25)},
		v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}},
	)
	got := expectPausedAt(t, ro, 1, 1, 3)
	first := got.Status.CurrentPodHash
	suite.Edit(t, env.Client, got, func(r *v1alpha1.Rollout) {
		r.Spec.Template.Spec.Containers[0].Image = "web:3"
	}, timeout)
	g.Eventually(func(g Gomega) {
		got = getRollout(g, client.ObjectKeyFromObject(ro))
		g.Expect(got.Status.CurrentPodHash).NotTo(Equal(first))
	}, timeout).Should(Succeed())
	got = expectPausedAt(t, ro, 1, 1, 3)
	g.Expect(got.Status.StableRS).To(Equal(stable))
	g.Expect(replicaSetOf(g, got, got.Status.CurrentPodHash).Spec.Template.Spec.Containers[0].Image).To(Equal("web:3"))
	g.Eventually(func(g Gomega) {
		g.Expect(*replicaSetOf(g, got, first).Spec.Replicas).To(BeZero())
	}, timeout).Should(Succeed())

	// promoteFull skips the remaining steps.
	patchStatus(t, ro, `{"status":{"promoteFull":true}}`)
	got, _ = expectHealthy(t, ro, 4)
	g.Expect(got.Status.PromoteFull).To(BeFalse())
	g.Expect(replicaSetOf(g, got, got.Status.StableRS).Spec.Template.Spec.Containers[0].Image).To(Equal("web:3"))
}

// TestManualPause: spec.paused holds a canary where it is; setting it back
// to false lets the steps go on.
func TestManualPause(t *testing.T) {
	g := NewWithT(t)
	ns := suite.NewNamespace(t, env.Client, "canary-paused-")
	ro := newRollout(ns, "web", 2, "web:1", withCanary(v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)}))
	newServices(t, ro)
	g.Expect(env.Client.Create(ctx(), ro)).To(Succeed())
	got, _ := expectHealthy(t, ro, 2)
	suite.Edit(t, env.Client, got, func(r *v1alpha1.Rollout) {
		r.Spec.Paused = true
		r.Spec.Template.Spec.Containers[0].Image = "web:2"
	}, timeout)
	g.Eventually(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhasePaused))
		g.Expect(got.Status.Message).To(Equal(manualPauseMessage))
		g.Expect(*replicaSetOf(g, got, got.Status.CurrentPodHash).Spec.Replicas).To(BeZero())
	}, timeout, 200*time.Millisecond).Should(Succeed())
	suite.Edit(t, env.Client, got, func(r *v1alpha1.Rollout) { r.Spec.Paused = false }, timeout)
	got, _ = expectHealthy(t, ro, 2)
	g.Expect(replicaSetOf(g, got, got.Status.StableRS).Spec.Template.Spec.Containers[0].Image).To(Equal("web:2"))
}

func ctx() context.Context { return context.Background() }
