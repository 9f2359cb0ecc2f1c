package rollout

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/test/prometheus"
	"github.com/ferrycd/ferry/test/suite"
)

// analysisOf names the template of a blue-green analysis.
func analysisOf(template string) *v1alpha1.RolloutAnalysis {
	return &v1alpha1.RolloutAnalysis{Templates: templateRefs([]string{template})}
}

// setRates makes the rate server serve rates from its next request on.
func (s *rateServer) setRates(rates ...float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rates = rates
}

// switches are the messages of the rollout's SwitchedActiveService events.
func switches(g Gomega, ns string) []string {
	var events corev1.EventList
	g.Expect(env.Client.List(context.Background(), &events, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range events.Items {
		if e.Reason == SwitchedActiveReason {
			out = append(out, e.Message)
		}
	}
	return out
}

// logOnFailure logs the events and AnalysisRuns of ns when the test
// fails: what the rollout did, in order, is what a failure needs.
func logOnFailure(t *testing.T, ns string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		var events corev1.EventList
		_ = env.Client.List(context.Background(), &events, client.InNamespace(ns))
		for _, e := range events.Items {
			t.Logf("event %s %s: %s", e.Reason, e.LastTimestamp, e.Message)
		}
		var runs v1alpha1.AnalysisRunList
		_ = env.Client.List(context.Background(), &runs, client.InNamespace(ns))
		for _, r := range runs.Items {
			t.Logf("run %s %v terminate=%v %s", r.Name, r.Labels, r.Spec.Terminate, r.Status.Phase)
		}
	})
}

// withBlueGreen gives the rollout a blue-green strategy with the
// <name>-active and <name>-preview Services, changed by opts.
func withBlueGreen(opts ...func(*v1alpha1.BlueGreenStrategy)) rolloutOpt {
	return func(ro *v1alpha1.Rollout) {
		bg := &v1alpha1.BlueGreenStrategy{ActiveService: ro.Name + "-active", PreviewService: ro.Name + "-preview"}
		for _, o := range opts {
			o(bg)
		}
		ro.Spec.Strategy.BlueGreen = bg
	}
}

// scaleDownAfter sets scaleDownDelaySeconds.
func scaleDownAfter(seconds int32) func(*v1alpha1.BlueGreenStrategy) {
	return func(bg *v1alpha1.BlueGreenStrategy) { bg.ScaleDownDelaySeconds = ptr.To(seconds) }
}

// manualPromotion sets autoPromotionEnabled false.
func manualPromotion(bg *v1alpha1.BlueGreenStrategy) { bg.AutoPromotionEnabled = ptr.To(false) }

// startBlueGreen creates a healthy 3-replica blue-green rollout of web:1
// in a new namespace, as startBlueGreenIn does.
func startBlueGreen(t *testing.T, prefix string, opts ...func(*v1alpha1.BlueGreenStrategy)) (*v1alpha1.Rollout, string) {
	t.Helper()
	ns := suite.NewNamespace(t, env.Client, prefix)
	return startBlueGreenIn(t, newRollout(ns, "web", 3, "web:1", withBlueGreen(opts...)))
}

// startBlueGreenIn creates the web-active and web-preview Services and the
// blue-green rollout ro of 3 replicas, waits for it to be healthy with
// both Services on its only ReplicaSet, then sets image web:2, and returns
// the rollout and the first hash.
func startBlueGreenIn(t *testing.T, ro *v1alpha1.Rollout) (*v1alpha1.Rollout, string) {
	t.Helper()
	g := NewWithT(t)
	ns := ro.Namespace
	for _, name := range []string{"web-active", "web-preview"} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{{Port: 80}}},
		}
		g.Expect(env.Client.Create(context.Background(), svc)).To(Succeed())
	}
	g.Expect(env.Client.Create(context.Background(), ro)).To(Succeed())
	got, _ := expectHealthy(t, ro, 3)
	first := got.Status.CurrentPodHash
	g.Expect(got.Status.StableRS).To(Equal(first), "the first revision goes straight to active")
	g.Eventually(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		g.Expect(got.Status.BlueGreen.ActiveSelector).To(Equal(first))
		g.Expect(got.Status.BlueGreen.PreviewSelector).To(Equal(first))
		g.Expect(selectedHash(g, ns, "web-active")).To(Equal(first))
		g.Expect(selectedHash(g, ns, "web-preview")).To(Equal(first))
	}, timeout).Should(Succeed())
	suite.Edit(t, env.Client, got, func(r *v1alpha1.Rollout) {
		r.Spec.Template.Spec.Containers[0].Image = "web:2"
	}, timeout)
	return ro, first
}

// expectBlueGreenPaused waits for the rollout to pause with BlueGreenPause
// (Ready Unknown, Reconciling) with preview pods of a template other than
// old available, the preview Service on them and the active Service and
// stableRS still on old, and returns the rollout.
func expectBlueGreenPaused(t *testing.T, ro *v1alpha1.Rollout, old string, preview int32) *v1alpha1.Rollout {
	t.Helper()
	var got *v1alpha1.Rollout
	NewWithT(t).Eventually(func(g Gomega) {
		got = getRollout(g, client.ObjectKeyFromObject(ro))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhasePaused), "message: %s", got.Status.Message)
		g.Expect(got.Status.Message).To(Equal(string(v1alpha1.PauseReasonBlueGreenPause)))
		g.Expect(got.Status.PauseConditions).To(ConsistOf(HaveField("Reason", v1alpha1.PauseReasonBlueGreenPause)))
		g.Expect(got.Status.ControllerPause).To(BeTrue())
		g.Expect(got.Status.CurrentPodHash).NotTo(Equal(old))
		g.Expect(got.Status.StableRS).To(Equal(old))
		g.Expect(got.Status.BlueGreen.ActiveSelector).To(Equal(old))
		g.Expect(got.Status.BlueGreen.PreviewSelector).To(Equal(got.Status.CurrentPodHash))
		g.Expect(conditions.GetReason(got, meta.ReadyCondition)).To(Equal(PausedReason))
		g.Expect(conditions.Get(got, meta.ReadyCondition).Status).To(Equal(metav1.ConditionUnknown))
		g.Expect(conditions.IsTrue(got, meta.ReconcilingCondition)).To(BeTrue())
		g.Expect(selectedHash(g, ro.Namespace, "web-active")).To(Equal(old))
		g.Expect(selectedHash(g, ro.Namespace, "web-preview")).To(Equal(got.Status.CurrentPodHash))
		rs := replicaSetOf(g, got, got.Status.CurrentPodHash)
		g.Expect(*rs.Spec.Replicas).To(Equal(preview))
		g.Expect(rs.Status.AvailableReplicas).To(Equal(preview))
		g.Expect(replicaSetOf(g, got, old).Status.AvailableReplicas).To(Equal(int32(3)))
	}, timeout, 200*time.Millisecond).Should(Succeed())
	return got
}

// expectActive waits until the active and the preview Service and
// stableRS are on the current template's ReplicaSet, healthy and Ready,
// and returns the rollout.
func expectActive(t *testing.T, ro *v1alpha1.Rollout) *v1alpha1.Rollout {
	t.Helper()
	var got *v1alpha1.Rollout
	NewWithT(t).Eventually(func(g Gomega) {
		got = getRollout(g, client.ObjectKeyFromObject(ro))
		hash := got.Status.CurrentPodHash
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseHealthy), "message: %s", got.Status.Message)
		g.Expect(got.Status.StableRS).To(Equal(hash))
		g.Expect(got.Status.BlueGreen.ActiveSelector).To(Equal(hash))
		g.Expect(got.Status.BlueGreen.PreviewSelector).To(Equal(hash))
		g.Expect(got.Status.PauseConditions).To(BeEmpty())
		g.Expect(conditions.IsTrue(got, meta.ReadyCondition)).To(BeTrue())
		g.Expect(conditions.Has(got, meta.ReconcilingCondition)).To(BeFalse())
		g.Expect(selectedHash(g, ro.Namespace, "web-active")).To(Equal(hash))
		g.Expect(selectedHash(g, ro.Namespace, "web-preview")).To(Equal(hash))
		g.Expect(replicaSetOf(g, got, hash).Status.AvailableReplicas).To(Equal(int32(3)))
	}, timeout, 200*time.Millisecond).Should(Succeed())
	return got
}

// expectAborted waits for the rollout to be Degraded and Stalled with the
// active and the preview Service on old, which runs every replica, the
// new ReplicaSet at zero, and a Warning event whose message contains why.
func expectAborted(t *testing.T, ro *v1alpha1.Rollout, old, why string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseDegraded), "message: %s", got.Status.Message)
		g.Expect(got.Status.Abort).To(BeTrue())
		g.Expect(got.Status.AbortedAt).NotTo(BeNil())
		g.Expect(got.Status.Message).To(ContainSubstring(why))
		g.Expect(got.Status.StableRS).To(Equal(old))
		g.Expect(got.Status.BlueGreen.ActiveSelector).To(Equal(old))
		g.Expect(got.Status.BlueGreen.PreviewSelector).To(Equal(old))
		g.Expect(conditions.IsFalse(got, meta.ReadyCondition)).To(BeTrue())
		g.Expect(conditions.GetReason(got, meta.ReadyCondition)).To(Equal(AbortedReason))
		g.Expect(conditions.IsStalled(got)).To(BeTrue())
		g.Expect(selectedHash(g, ro.Namespace, "web-active")).To(Equal(old))
		g.Expect(selectedHash(g, ro.Namespace, "web-preview")).To(Equal(old))
		g.Expect(*replicaSetOf(g, got, got.Status.CurrentPodHash).Spec.Replicas).To(BeZero())
		g.Expect(replicaSetOf(g, got, got.Status.CurrentPodHash).Status.Replicas).To(BeZero())
		g.Expect(replicaSetOf(g, got, old).Status.AvailableReplicas).To(Equal(int32(3)))
		var events corev1.EventList
		g.Expect(env.Client.List(context.Background(), &events, client.InNamespace(ro.Namespace))).To(Succeed())
		var warnings []string
		for _, e := range events.Items {
			if e.Type == corev1.EventTypeWarning && e.Reason == AbortedReason {
				warnings = append(warnings, e.Message)
			}
		}
		g.Expect(strings.Join(warnings, "\n")).To(ContainSubstring(why))
	}, timeout, 200*time.Millisecond).Should(Succeed())
}

// TestBlueGreenManualPromotion: with autoPromotionEnabled false and
// previewReplicaCount 1 the new ReplicaSet runs one pod behind the preview
// Service and the rollout pauses with BlueGreenPause; the active Service
// stays on the old pods until a promote removes status.pauseConditions
// (as kubectl-argo-rollouts promote does). Then the preview scales to full
// size, the active Service switches and the new ReplicaSet is stable.
func TestBlueGreenManualPromotion(t *testing.T) {
	g := NewWithT(t)
	ro, old := startBlueGreen(t, "bg-manual-", manualPromotion, scaleDownAfter(0),
		func(bg *v1alpha1.BlueGreenStrategy) { bg.PreviewReplicaCount = ptr.To[int32](1) })
	got := expectBlueGreenPaused(t, ro, old, 1)
	g.Expect(got.Status.CurrentStepIndex).To(BeNil())
	g.Consistently(func(g Gomega) {
		g.Expect(selectedHash(g, ro.Namespace, "web-active")).To(Equal(old))
	}, 2*time.Second, 200*time.Millisecond).Should(Succeed())

	patchStatus(t, ro, `{"status":{"pauseConditions":null}}`)
	got, rs := expectHealthy(t, ro, 3)
	g.Expect(got.Status.StableRS).NotTo(Equal(old))
	g.Expect(rs.Spec.Template.Spec.Containers[0].Image).To(Equal("web:2"))
	expectActive(t, ro)
	g.Expect(*replicaSetOf(g, got, old).Spec.Replicas).To(BeZero())
}

// TestBlueGreenAutoPromotionAndScaleDownDelay: by default the active
// Service switches as soon as the new ReplicaSet is fully available; the
// old ReplicaSet keeps its pods for
// scaleDownDelaySeconds (stamped on it in Argo Rollouts' annotation, the
// rollout Healthy meanwhile) and is scaled to zero after that.
func TestBlueGreenAutoPromotionAndScaleDownDelay(t *testing.T) {
	g := NewWithT(t)
	ro, old := startBlueGreen(t, "bg-auto-", scaleDownAfter(10))
	g.Eventually(func(g Gomega) {
		g.Expect(getRollout(g, client.ObjectKeyFromObject(ro)).Status.CurrentPodHash).NotTo(Equal(old))
	}, timeout).Should(Succeed())
	got := expectActive(t, ro)
	g.Expect(got.Status.Replicas).To(Equal(int32(6)), "the old pods are still up: message %s", got.Status.Message)
	// The scale subresource counts the active pods only, as Argo Rollouts does.
	g.Expect(got.Status.HPAReplicas).To(Equal(int32(3)))
	g.Expect(got.Status.Selector).To(Equal("app=web," + v1alpha1.DefaultRolloutUniqueLabelKey + "=" + got.Status.CurrentPodHash))
	g.Expect(conditions.IsFalse(got, v1alpha1.RolloutCompleted)).To(BeTrue())
	oldRS := replicaSetOf(g, got, old)
	g.Expect(*oldRS.Spec.Replicas).To(Equal(int32(3)))
	deadline, ok := scaleDownAt(oldRS)
	g.Expect(ok).To(BeTrue(), "annotations: %v", oldRS.Annotations)
	g.Expect(time.Until(deadline)).To(BeNumerically(">", 0))
	g.Expect(time.Until(deadline)).To(BeNumerically("<=", 10*time.Second))

	var events corev1.EventList
	g.Expect(env.Client.List(context.Background(), &events, client.InNamespace(ro.Namespace))).To(Succeed())
	g.Expect(events.Items).To(ContainElement(And(HaveField("Reason", SwitchedActiveReason),
		HaveField("Message", ContainSubstring("web-"+got.Status.CurrentPodHash)))))

	g.Eventually(func(g Gomega) {
		rs := replicaSetOf(g, got, old)
		g.Expect(*rs.Spec.Replicas).To(BeZero())
		g.Expect(rs.Status.Replicas).To(BeZero())
	}, timeout, 200*time.Millisecond).Should(Succeed())
	g.Expect(time.Now()).To(BeTemporally(">=", deadline), "scaled down before its deadline")
	got, _ = expectHealthy(t, ro, 3)
	g.Expect(conditions.IsTrue(got, v1alpha1.RolloutCompleted)).To(BeTrue())
}

// TestBlueGreenAutoPromotionSeconds: autoPromotionSeconds pauses the
// rollout with BlueGreenPause for that long, then promotes it by itself.
func TestBlueGreenAutoPromotionSeconds(t *testing.T) {
	g := NewWithT(t)
	ro, old := startBlueGreen(t, "bg-seconds-", scaleDownAfter(0),
		func(bg *v1alpha1.BlueGreenStrategy) { bg.AutoPromotionSeconds = 3 })
	got := expectBlueGreenPaused(t, ro, old, 3)
	// startTime is stored to the second, at or before the pause began.
	start := got.Status.PauseConditions[0].StartTime.Time
	g.Expect(conditions.Get(got, meta.ReadyCondition).Message).To(ContainSubstring("resumes in"))
	var switched time.Time
	g.Eventually(func(g Gomega) {
		g.Expect(selectedHash(g, ro.Namespace, "web-active")).NotTo(Equal(old))
		switched = time.Now()
	}, timeout, 100*time.Millisecond).Should(Succeed())
	g.Expect(switched.Sub(start)).To(BeNumerically(">=", 3*time.Second), "promoted before autoPromotionSeconds")
	got = expectActive(t, ro)
	g.Expect(got.Status.StableRS).NotTo(Equal(old))
}

// TestBlueGreenAbort: status.abort while paused keeps the active Service
// on the old ReplicaSet, points the preview back at it and scales the new
// one to zero; the rollout is Degraded (Ready False, Stalled) until a
// retry clears abort, which brings the preview back.
func TestBlueGreenAbort(t *testing.T) {
	ro, old := startBlueGreen(t, "bg-abort-", manualPromotion)
	expectBlueGreenPaused(t, ro, old, 3)
	patchStatus(t, ro, `{"status":{"abort":true}}`)
	expectAborted(t, ro, old, "the update was aborted")

	patchStatus(t, ro, `{"status":{"abort":false}}`)
	got := expectBlueGreenPaused(t, ro, old, 3)
	NewWithT(t).Expect(got.Status.AbortedAt).To(BeNil())
}

// TestBlueGreenNewTemplateWhilePaused: a new template while a blue-green
// waits for promotion starts over with a new preview ReplicaSet; the
// replaced preview is scaled to zero at once (it never served the active
// Service) and the old ReplicaSet keeps serving; status.promoteFull
// promotes the new one past the pause.
func TestBlueGreenNewTemplateWhilePaused(t *testing.T) {
	g := NewWithT(t)
	ro, old := startBlueGreen(t, "bg-restart-", manualPromotion, scaleDownAfter(0))
	got := expectBlueGreenPaused(t, ro, old, 3)
	first := got.Status.CurrentPodHash
	suite.Edit(t, env.Client, got, func(r *v1alpha1.Rollout) {
		r.Spec.Template.Spec.Containers[0].Image = "web:3"
	}, timeout)
	g.Eventually(func(g Gomega) {
		g.Expect(getRollout(g, client.ObjectKeyFromObject(ro)).Status.CurrentPodHash).NotTo(Equal(first))
	}, timeout).Should(Succeed())
	got = expectBlueGreenPaused(t, ro, old, 3)
	g.Expect(replicaSetOf(g, got, got.Status.CurrentPodHash).Spec.Template.Spec.Containers[0].Image).To(Equal("web:3"))
	g.Eventually(func(g Gomega) {
		rs := replicaSetOf(g, got, first)
		g.Expect(*rs.Spec.Replicas).To(BeZero())
		g.Expect(rs.Status.Replicas).To(BeZero())
	}, timeout).Should(Succeed())

	// promote --full, the other way kubectl-argo-rollouts promotes.
	patchStatus(t, ro, `{"status":{"promoteFull":true}}`)
	got, _ = expectHealthy(t, ro, 3)
	g.Expect(got.Status.PromoteFull).To(BeFalse())
	g.Expect(replicaSetOf(g, got, got.Status.StableRS).Spec.Template.Spec.Containers[0].Image).To(Equal("web:3"))
}

// TestBlueGreenPrePromotionAnalysisFails: the pre-promotion analysis (a
// Prometheus error rate over the threshold, measured by the AnalysisRun
// reconciler) starts once the preview is available and holds the switch;
// its failure aborts: the active Service never leaves the old ReplicaSet,
// the preview is scaled down, the rollout is Degraded and the Warning event
// names the analysis, its run and the measured value.
func TestBlueGreenPrePromotionAnalysisFails(t *testing.T) {
	g := NewWithT(t)
	prom := prometheus.Start(t, prometheus.Failing)
	ns := suite.NewNamespace(t, env.Client, "bg-pre-")
	logOnFailure(t, ns)
	newTemplate(t, ns, "error-rate", nil, errorRateMetric(prom, 2, "1s", 0))
	ro, old := startBlueGreenIn(t, newRollout(ns, "web", 3, "web:1",
		withBlueGreen(func(bg *v1alpha1.BlueGreenStrategy) { bg.PrePromotionAnalysis = analysisOf("error-rate") })))
	expectAborted(t, ro, old, "pre-promotion analysis Failed")
	got := getRollout(g, client.ObjectKeyFromObject(ro))
	run := got.Status.BlueGreen.PrePromotionAnalysisRunStatus
	g.Expect(run).NotTo(BeNil())
	g.Expect(run.Name).To(HavePrefix("web-" + got.Status.CurrentPodHash + "-2-pre"))
	g.Expect(run.Status).To(Equal(v1alpha1.AnalysisPhaseFailed))
	g.Expect(got.Status.Message).To(ContainSubstring("AnalysisRun " + run.Name))
	g.Expect(got.Status.Message).To(ContainSubstring("0.31"))
	g.Expect(getRun(g, ro, run.Name).Labels).To(HaveKeyWithValue(RolloutTypeLabel, "PrePromotion"))
	g.Expect(switches(g, ns)).To(BeEmpty(), "the active Service never left the old ReplicaSet")
	g.Expect(got.Status.BlueGreen.PostPromotionAnalysisRunStatus).To(BeNil())
}

// TestBlueGreenPromotionAnalyses: a passing pre-promotion analysis (a web
// metric under the threshold) lets the active Service switch; the
// post-promotion analysis then measures with the old ReplicaSet still up
// as the stable one, and when its error rate crosses the threshold the
// active Service switches back to the old ReplicaSet and the rollout
// aborts.
func TestBlueGreenPromotionAnalyses(t *testing.T) {
	g := NewWithT(t)
	pre, post := newRateServer(t, 0.01), newRateServer(t, 0.01)
	ns := suite.NewNamespace(t, env.Client, "bg-post-")
	logOnFailure(t, ns)
	newTemplate(t, ns, "smoke", nil, webRateMetric(pre, 1, 0, false))
	newTemplate(t, ns, "soak", nil, webRateMetric(post, 600, 0, false))
	ro, old := startBlueGreenIn(t, newRollout(ns, "web", 3, "web:1", withBlueGreen(scaleDownAfter(0),
		func(bg *v1alpha1.BlueGreenStrategy) {
			bg.PrePromotionAnalysis, bg.PostPromotionAnalysis = analysisOf("smoke"), analysisOf("soak")
		})))
	var hash string
	g.Eventually(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		hash = got.Status.CurrentPodHash
		g.Expect(hash).NotTo(Equal(old))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseProgressing), "message: %s", got.Status.Message)
		g.Expect(got.Status.BlueGreen.PrePromotionAnalysisRunStatus).To(HaveField("Status", v1alpha1.AnalysisPhaseSuccessful))
		g.Expect(got.Status.BlueGreen.PostPromotionAnalysisRunStatus).To(HaveField("Status", v1alpha1.AnalysisPhaseRunning))
		g.Expect(got.Status.Message).To(ContainSubstring("post-promotion analysis is Running"))
		g.Expect(got.Status.BlueGreen.ActiveSelector).To(Equal(hash))
		g.Expect(got.Status.StableRS).To(Equal(old))
		g.Expect(selectedHash(g, ns, "web-active")).To(Equal(hash))
		g.Expect(replicaSetOf(g, got, old).Status.AvailableReplicas).To(Equal(int32(3)))
	}, timeout, 200*time.Millisecond).Should(Succeed())

	post.setRates(0.5)
	expectAborted(t, ro, old, "post-promotion analysis Failed")
	g.Expect(switches(g, ns)).To(ConsistOf(HaveSuffix("ReplicaSet web-"+hash), HaveSuffix("ReplicaSet web-"+old)),
		"the active Service went to the new ReplicaSet and back")
}

// TestBlueGreenRollbackWithinScaleDownDelay: going back to the previous
// template while its ReplicaSet still waits out its scale-down delay is
// one switch of the active Service to pods that are up already, as in
// Argo Rollouts: the ReplicaSet loses its deadline, keeps its pods, and
// the one it replaces gets the deadline instead.
func TestBlueGreenRollbackWithinScaleDownDelay(t *testing.T) {
	g := NewWithT(t)
	ro, old := startBlueGreen(t, "bg-rollback-")
	var second string
	g.Eventually(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		second = got.Status.CurrentPodHash
		g.Expect(second).NotTo(Equal(old))
		g.Expect(got.Status.StableRS).To(Equal(second))
		g.Expect(replicaSetOf(g, got, old).Annotations).To(HaveKey(ScaleDownDeadlineAnnotation))
	}, timeout, 200*time.Millisecond).Should(Succeed())
	var pods corev1.PodList
	g.Expect(env.Client.List(context.Background(), &pods, client.InNamespace(ro.Namespace),
		client.MatchingLabels{v1alpha1.DefaultRolloutUniqueLabelKey: old})).To(Succeed())
	g.Expect(pods.Items).To(HaveLen(3))

	suite.Edit(t, env.Client, getRollout(g, client.ObjectKeyFromObject(ro)), func(r *v1alpha1.Rollout) {
		r.Spec.Template.Spec.Containers[0].Image = "web:1"
	}, timeout)
	g.Eventually(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		g.Expect(got.Status.CurrentPodHash).To(Equal(old))
		g.Expect(got.Status.StableRS).To(Equal(old))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseHealthy), "message: %s", got.Status.Message)
		g.Expect(selectedHash(g, ro.Namespace, "web-active")).To(Equal(old))
		g.Expect(replicaSetOf(g, got, old).Annotations).NotTo(HaveKey(ScaleDownDeadlineAnnotation))
		rs := replicaSetOf(g, got, second)
		g.Expect(rs.Annotations).To(HaveKey(ScaleDownDeadlineAnnotation))
		g.Expect(*rs.Spec.Replicas).To(Equal(int32(3)))
	}, timeout, 200*time.Millisecond).Should(Succeed())
	uids := func(l corev1.PodList) []types.UID {
		var out []types.UID
		for _, p := range l.Items {
			out = append(out, p.UID)
		}
		return out
	}
	var now corev1.PodList
	g.Expect(env.Client.List(context.Background(), &now, client.InNamespace(ro.Namespace),
		client.MatchingLabels{v1alpha1.DefaultRolloutUniqueLabelKey: old})).To(Succeed())
	g.Expect(uids(now)).To(ConsistOf(uids(pods)), "the old pods serve again, none was replaced")
}
