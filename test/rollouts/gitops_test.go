package rollouts

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	kstatus "github.com/fluxcd/cli-utils/pkg/kstatus/status"
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	rolloutsv1alpha1 "github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/test/suite"
)

// TestCanaryFromGit is the GitOps flow end to end. The first sync applies
// a Deployment, a Rollout that takes its template (workloadRef) and the
// stable and canary Services: the Rollout becomes Healthy, the Deployment
// is scaled to zero and stays there through the Kustomization's next
// reconciles, and the Services keep the pod-template hash the
// rollout-controller put in their selectors. A commit of a new image tag
// starts a canary that pauses at step 2 with half the pods on the new
// image; the Kustomization's health check (spec.wait) reports it in
// progress and never failed; a promote written as Argo Rollouts' kubectl
// plugin writes it finishes the rollout and the Kustomization is Ready on
// the new revision. A third commit aborted at its pause makes the
// Rollout Degraded and the Kustomization's health check fail, naming it.
// At each phase kstatus reads the Rollout alone as every Flux tool does:
// Current when Healthy, InProgress when paused, Failed when Degraded, with
// status.observedGeneration at the Rollout's generation.
func TestCanaryFromGit(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	o := newGitops(t, app{image: "web:1"})

	var first *rolloutsv1alpha1.Rollout
	g.Eventually(func(g Gomega) {
		ks := o.kustomization(g)
		g.Expect(conditions.IsReady(ks)).To(BeTrue(), "Ready: %s", condition(ks.Status.Conditions, fluxmeta.ReadyCondition))
		first = o.rollout(g)
		g.Expect(first.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), first.Status.Message)
		g.Expect(o.deployment(g).Spec.Replicas).To(HaveValue(BeZero()))
		g.Expect(o.images(g)).To(Equal(map[string]int{"web:1": 2}))
		g.Expect(o.service(g, "web-stable").Spec.Selector).To(HaveKeyWithValue(rolloutsv1alpha1.DefaultRolloutUniqueLabelKey, first.Status.StableRS))
	}, timeout, 250*time.Millisecond).Should(Succeed())
	g.Expect(condition(o.kustomization(g).Status.Conditions, kustomizev1.HealthyCondition)).To(HavePrefix("True"))
	g.Expect(kstatusOf(g, o)).To(HavePrefix("Current"), "kstatus of a Healthy Rollout")

	// Field ownership: a reconcile of the Kustomization after the
	// rollout-controller scaled the Deployment and set the selectors
	// gives neither back to Git's version.
	token := suite.RequestReconcile(t, env.Client, o.ks, timeout)
	g.Eventually(func(g Gomega) {
		g.Expect(o.kustomization(g).Status.LastHandledReconcileAt).To(Equal(token))
	}, timeout, 100*time.Millisecond).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(o.deployment(g).Spec.Replicas).To(HaveValue(BeZero()), "kustomize-controller must not scale the Deployment back")
		for _, svc := range []string{"web-stable", "web-canary"} {
			g.Expect(o.service(g, svc).Spec.Selector).To(Equal(map[string]string{
				"app": "web", rolloutsv1alpha1.DefaultRolloutUniqueLabelKey: first.Status.StableRS}), svc)
		}
		g.Expect(o.images(g)).To(Equal(map[string]int{"web:1": 2}))
	}, 5*time.Second, 250*time.Millisecond).Should(Succeed())

	// From here on the Kustomization must never be Ready=False until the
	// abort: its health check may say "in progress", not "failed".
	watch := watchReady(t, o)

	rev2 := o.commit(app{image: "web:2"})
	var paused *rolloutsv1alpha1.Rollout
	g.Eventually(func(g Gomega) {
		paused = o.rollout(g)
		g.Expect(paused.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused), paused.Status.Message)
		g.Expect(paused.Status.CurrentStepIndex).To(HaveValue(Equal(int32(1))))
		g.Expect(o.images(g)).To(Equal(map[string]int{"web:1": 1, "web:2": 1}))
		g.Expect(o.service(g, "web-canary").Spec.Selector).To(HaveKeyWithValue(rolloutsv1alpha1.DefaultRolloutUniqueLabelKey, paused.Status.CurrentPodHash))
		g.Expect(o.service(g, "web-stable").Spec.Selector).To(HaveKeyWithValue(rolloutsv1alpha1.DefaultRolloutUniqueLabelKey, first.Status.StableRS))
		ks := o.kustomization(g)
		g.Expect(ks.Status.LastAttemptedRevision).To(Equal(rev2))
		// kstatus reads the paused Rollout as in progress: the health
		// check waits (Reconciling), it does not pass nor fail.
		g.Expect(condition(ks.Status.Conditions, fluxmeta.ReconcilingCondition)).To(ContainSubstring("running health checks for revision '" + rev2 + "'"))
		g.Expect(condition(ks.Status.Conditions, fluxmeta.ReadyCondition)).To(HavePrefix("Unknown"))
	}, timeout, 250*time.Millisecond).Should(Succeed())
	g.Expect(paused.Status.CurrentPodHash).NotTo(Equal(first.Status.StableRS))
	g.Expect(kstatusOf(g, o)).To(HavePrefix("InProgress: rollout is paused"), "kstatus of a paused Rollout")
	g.Expect(o.deployment(g).Spec.Replicas).To(HaveValue(BeZero()))

	// Promote as `kubectl argo rollouts promote` does: clear the pause
	// conditions with a status patch.
	g.Expect(env.Client.Status().Patch(ctx, paused,
		client.RawPatch(types.MergePatchType, []byte(`{"status":{"pauseConditions":null}}`)))).To(Succeed())
	g.Eventually(func(g Gomega) {
		ro := o.rollout(g)
		g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
		g.Expect(ro.Status.StableRS).To(Equal(paused.Status.CurrentPodHash))
		g.Expect(o.images(g)).To(Equal(map[string]int{"web:2": 2}))
		ks := o.kustomization(g)
		g.Expect(conditions.IsReady(ks)).To(BeTrue(), "Ready: %s", condition(ks.Status.Conditions, fluxmeta.ReadyCondition))
		g.Expect(ks.Status.LastAppliedRevision).To(Equal(rev2))
		g.Expect(condition(ks.Status.Conditions, kustomizev1.HealthyCondition)).To(HavePrefix("True"))
	}, timeout, 250*time.Millisecond).Should(Succeed())
	g.Expect(watch.stop()).To(BeEmpty(), "the Kustomization was Ready=False during the canary")

	// A third image aborted at its pause: the Rollout is Degraded and the
	// Kustomization's health check fails at once, naming the Rollout.
	rev3 := o.commit(app{image: "web:3"})
	g.Eventually(func(g Gomega) {
		ro := o.rollout(g)
		g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused), ro.Status.Message)
		paused = ro
	}, timeout, 250*time.Millisecond).Should(Succeed())
	g.Expect(env.Client.Status().Patch(ctx, paused,
		client.RawPatch(types.MergePatchType, []byte(`{"status":{"abort":true}}`)))).To(Succeed())
	g.Eventually(func(g Gomega) {
		ro := o.rollout(g)
		g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded), ro.Status.Message)
		g.Expect(o.images(g)).To(Equal(map[string]int{"web:2": 2}), "an aborted canary runs the stable pods only")
		ks := o.kustomization(g)
		g.Expect(ks.Status.LastAttemptedRevision).To(Equal(rev3))
		g.Expect(ks.Status.LastAppliedRevision).To(Equal(rev2))
		ready := condition(ks.Status.Conditions, fluxmeta.ReadyCondition)
		g.Expect(ready).To(HavePrefix("False HealthCheckFailed"))
		g.Expect(ready).To(ContainSubstring("Rollout/" + o.ns + "/web"))
		g.Expect(ready).To(ContainSubstring("rollout aborted"))
	}, timeout, 250*time.Millisecond).Should(Succeed())
	g.Expect(kstatusOf(g, o)).To(HavePrefix("Failed: rollout aborted"), "kstatus of a Degraded Rollout")
	g.Expect(o.deployment(g).Spec.Replicas).To(HaveValue(BeZero()))
	g.Expect(o.service(g, "web-canary").Spec.Selector).To(HaveKeyWithValue(rolloutsv1alpha1.DefaultRolloutUniqueLabelKey, o.rollout(g).Status.StableRS))
}

// readyWatch polls a Kustomization's Ready condition in the background and
// keeps every False it sees.
type readyWatch struct {
	done chan struct{}
	wg   sync.WaitGroup
	seen []string
}

func watchReady(t *testing.T, o *gitops) *readyWatch {
	w := &readyWatch{done: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
			ks := &kustomizev1.Kustomization{}
			if err := env.Client.Get(context.Background(), o.key("app"), ks); err != nil {
				continue
			}
			if c := conditions.Get(ks, fluxmeta.ReadyCondition); c != nil && c.Status == "False" {
				w.seen = append(w.seen, condition(ks.Status.Conditions, fluxmeta.ReadyCondition))
			}
		}
	}()
	t.Cleanup(func() { w.stop() })
	return w
}

// stop ends the watch and returns the Ready=False conditions seen.
func (w *readyWatch) stop() []string {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	w.wg.Wait()
	return w.seen
}

// kstatusOf is the Rollout's health as kstatus computes it from the
// object alone, as every kstatus reader (a Kustomization's health check,
// `flux`, `kubectl wait`) does, with its observedGeneration checked
// against its generation: "Status: message".
func kstatusOf(g Gomega, o *gitops) string {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(rolloutsv1alpha1.GroupVersion.WithKind("Rollout"))
	g.Expect(env.Client.Get(context.Background(), o.key("web"), u)).To(Succeed())
	og, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	g.Expect(og).To(Equal(u.GetGeneration()), "status.observedGeneration")
	res, err := kstatus.Compute(u)
	g.Expect(err).NotTo(HaveOccurred())
	return fmt.Sprintf("%s: %s", res.Status, res.Message)
}
