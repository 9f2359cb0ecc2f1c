package rollout

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/test/prometheus"
	"github.com/ferrycd/ferry/test/suite"
)

// errorRateMetric is Argo Rollouts' documented error-rate metric against
// the test's Prometheus: it fails when the rate is 5% or more.
func errorRateMetric(prom *prometheus.Server, count int32, interval v1alpha1.DurationString, failureLimit int32) v1alpha1.Metric {
	return v1alpha1.Metric{
		Name: "error-rate", Interval: interval, Count: ptr.To(intstr.FromInt32(count)),
		FailureLimit:     ptr.To(intstr.FromInt32(failureLimit)),
		SuccessCondition: "result[0] < 0.05",
		Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{
			Address: prom.URL, Query: prometheus.ErrorRateQuery}},
	}
}

// rateServer is a loopback JSON endpoint ({"rate": R}) that serves the
// rates it was given, one per request, the last one from then on: a web
// metric's measurements see exactly that sequence.
type rateServer struct {
	mu    sync.Mutex
	rates []float64
	srv   *httptest.Server
}

func newRateServer(t *testing.T, rates ...float64) *rateServer {
	s := &rateServer{rates: rates}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		rate := s.rates[0]
		if len(s.rates) > 1 {
			s.rates = s.rates[1:]
		}
		s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]float64{"rate": rate})
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// webRateMetric judges the rate server's rate: success below 5%, and with
// inconclusive set failure only above 20% (in between is inconclusive).
func webRateMetric(s *rateServer, count int32, failureLimit int32, inconclusive bool) v1alpha1.Metric {
	m := v1alpha1.Metric{
		Name: "web-error-rate", Interval: "1s", Count: ptr.To(intstr.FromInt32(count)),
		FailureLimit:     ptr.To(intstr.FromInt32(failureLimit)),
		SuccessCondition: "result < 0.05",
		Provider:         v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: s.srv.URL, JSONPath: "{$.rate}"}},
	}
	if inconclusive {
		m.FailureCondition = "result > 0.2"
	}
	return m
}

// getRun reads an AnalysisRun of the rollout's namespace.
func getRun(g Gomega, ro *v1alpha1.Rollout, name string) *v1alpha1.AnalysisRun {
	run := &v1alpha1.AnalysisRun{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ro.Namespace, Name: name}, run)).To(Succeed())
	return run
}

// expectRolledBack waits for the rollout to be aborted back to stable by
// a failed analysis: Degraded, Ready False and Stalled with a message
// naming the run, every replica on the stable ReplicaSet and both
// Services selecting it. It returns the rollout.
func expectRolledBack(t *testing.T, ro *v1alpha1.Rollout, stable, runName string, replicas int32) *v1alpha1.Rollout {
	t.Helper()
	var got *v1alpha1.Rollout
	NewWithT(t).Eventually(func(g Gomega) {
		got = getRollout(g, client.ObjectKeyFromObject(ro))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseDegraded), "message: %s", got.Status.Message)
		g.Expect(got.Status.Abort).To(BeTrue())
		g.Expect(got.Status.StableRS).To(Equal(stable))
		g.Expect(conditions.IsStalled(got)).To(BeTrue())
		g.Expect(conditions.IsFalse(got, meta.ReadyCondition)).To(BeTrue())
		g.Expect(conditions.GetReason(got, meta.ReadyCondition)).To(Equal(AbortedReason))
		g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(ContainSubstring("AnalysisRun " + runName))
		g.Expect(got.Status.Message).To(ContainSubstring("AnalysisRun " + runName))
		canary := replicaSetOf(g, got, got.Status.CurrentPodHash)
		g.Expect(*canary.Spec.Replicas).To(BeZero())
		g.Expect(canary.Status.Replicas).To(BeZero())
		g.Expect(replicaSetOf(g, got, stable).Status.AvailableReplicas).To(Equal(replicas))
		g.Expect(selectedHash(g, ro.Namespace, "web-stable")).To(Equal(stable))
		g.Expect(selectedHash(g, ro.Namespace, "web-canary")).To(Equal(stable))
	}, timeout, 200*time.Millisecond).Should(Succeed())
	return got
}

// startAnalysisStep creates, in a new namespace, the AnalysisTemplate
// error-rate of metric and a rollout of replicas whose canary steps are
// setWeight 50 and an analysis of error-rate, starts an update and waits
// for the step's run (opts change the rollout before it is created). It
// returns the rollout, its stable hash and the run.
func startAnalysisStep(t *testing.T, prefix string, replicas int32, metric v1alpha1.Metric, opts ...rolloutOpt) (*v1alpha1.Rollout, string, *v1alpha1.AnalysisRun) {
	t.Helper()
	ns := suite.NewNamespace(t, env.Client, prefix)
	newTemplate(t, ns, "error-rate", nil, metric)
	ro := newRollout(ns, "web", replicas, "web:1", append([]rolloutOpt{withCanary(
		v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)},
		analysisStep(nil, "error-rate"),
	)}, opts...)...)
	stable := startRollout(t, ro)
	_, run := stepRun(t, ro, 1)
	return ro, stable, run
}

// TestAnalysisStepPasses: an analysis step whose Prometheus query stays
// under the threshold succeeds and the canary goes on to the end.
func TestAnalysisStepPasses(t *testing.T) {
	g := NewWithT(t)
	prom := prometheus.Start(t, prometheus.Healthy)
	ro, stable, run := startAnalysisStep(t, "analysis-pass-", 4, errorRateMetric(prom, 2, "1s", 0))
	got, _ := expectHealthy(t, ro, 4)
	g.Expect(got.Status.StableRS).NotTo(Equal(stable))
	g.Expect(got.Status.Canary.CurrentStepAnalysisRunStatus).To(BeNil())
	run = getRun(g, ro, run.Name)
	g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	g.Expect(run.Status.MetricResults).To(ConsistOf(And(
		HaveField("Name", "error-rate"), HaveField("Successful", int32(2)))))
}

// TestAnalysisStepFailsAndRetry: an analysis step whose query crosses the
// threshold fails the run; the rollout aborts and rolls back (no canary
// pods, the stable ReplicaSet and both Services as before), Degraded with
// Ready False, and a Warning event names the run, the metric and the
// value. A retry once the rate is healthy starts a new run (the name with
// ".1") instead of reusing the failed one, and the canary is promoted.
func TestAnalysisStepFailsAndRetry(t *testing.T) {
	g := NewWithT(t)
	prom := prometheus.Start(t, prometheus.Failing)
	ro, stable, run := startAnalysisStep(t, "analysis-fail-", 4, errorRateMetric(prom, 2, "1s", 0))
	got := expectRolledBack(t, ro, stable, run.Name, 4)
	g.Expect(got.Status.Canary.CurrentStepAnalysisRunStatus).To(HaveField("Status", v1alpha1.AnalysisPhaseFailed))
	g.Expect(getRun(g, ro, run.Name).Status.Phase).To(Equal(v1alpha1.AnalysisPhaseFailed))
	value := fmt.Sprint(prometheus.Failing)
	g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(And(ContainSubstring(`"error-rate"`), ContainSubstring(value)))
	g.Eventually(func(g Gomega) {
		g.Expect(warningEvents(g, got, "AnalysisRunFailed")).To(ContainElement(And(
			ContainSubstring("AnalysisRun "+run.Name), ContainSubstring(`"error-rate"`), ContainSubstring(value))))
		g.Expect(warningEvents(g, got, AbortedReason)).To(ContainElement(And(
			ContainSubstring("AnalysisRun "+run.Name), ContainSubstring(`"error-rate"`), ContainSubstring(value))))
	}, timeout).Should(Succeed())

	g.Expect(runNames(g, ro)).To(ConsistOf(run.Name))

	prom.SetErrorRate(t, prometheus.Healthy)
	patchStatus(t, ro, `{"status":{"abort":false}}`)
	_, retry := stepRun(t, ro, 1, run.Name)
	g.Expect(retry.Name).To(Equal(run.Name + ".1"))
	got, _ = expectHealthy(t, ro, 4)
	g.Expect(got.Status.StableRS).NotTo(Equal(stable))
	retried := getRun(g, ro, retry.Name)
	g.Expect(retried.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful), "%+v", retried.Status)
	g.Expect(getRun(g, ro, run.Name).Status.Phase).To(Equal(v1alpha1.AnalysisPhaseFailed))
	g.Expect(runNames(g, ro)).To(ConsistOf(run.Name, retry.Name))
}

// runNames are the names of the AnalysisRuns in the rollout's namespace.
func runNames(g Gomega, ro *v1alpha1.Rollout) []string {
	var list v1alpha1.AnalysisRunList
	g.Expect(env.Client.List(ctx(), &list, client.InNamespace(ro.Namespace))).To(Succeed())
	var names []string
	for _, r := range list.Items {
		names = append(names, r.Name)
	}
	return names
}

// TestAnalysisFailureLimit: with failureLimit 1 one failed measurement is
// tolerated and the canary is promoted; a second one fails the run and
// aborts the rollout. The web metric's endpoint serves the exact sequence
// of rates the measurements see.
func TestAnalysisFailureLimit(t *testing.T) {
	for _, tt := range []struct {
		name    string
		rates   []float64
		promote bool
	}{
		{name: "one failure tolerated", rates: []float64{0.31, 0.01, 0.01}, promote: true},
		{name: "two failures fail", rates: []float64{0.31, 0.01, 0.31}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			srv := newRateServer(t, tt.rates...)
			ro, stable, run := startAnalysisStep(t, "analysis-limit-", 2, webRateMetric(srv, 3, 1, false))
			if !tt.promote {
				expectRolledBack(t, ro, stable, run.Name, 2)
				run = getRun(g, ro, run.Name)
				g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseFailed))
				g.Expect(run.Status.MetricResults).To(ConsistOf(HaveField("Failed", int32(2))))
				return
			}
			got, _ := expectHealthy(t, ro, 2)
			g.Expect(got.Status.StableRS).NotTo(Equal(stable))
			run = getRun(g, ro, run.Name)
			g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
			g.Expect(run.Status.MetricResults).To(ConsistOf(And(HaveField("Failed", int32(1)), HaveField("Successful", int32(2)))))
		})
	}
}

// TestAnalysisInconclusivePauses: a run that is neither successful nor
// failed pauses the rollout (InconclusiveAnalysisRun) with its replicas
// where they are; promoting goes on past the step.
func TestAnalysisInconclusivePauses(t *testing.T) {
	g := NewWithT(t)
	srv := newRateServer(t, 0.1)
	ro, _, run := startAnalysisStep(t, "analysis-inconclusive-", 2, webRateMetric(srv, 1, 0, true))
	g.Eventually(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhasePaused), "message: %s", got.Status.Message)
		g.Expect(got.Status.PauseConditions).To(ConsistOf(HaveField("Reason", v1alpha1.PauseReasonInconclusiveAnalysis)))
		g.Expect(got.Status.Canary.CurrentStepAnalysisRunStatus).To(HaveField("Status", v1alpha1.AnalysisPhaseInconclusive))
		g.Expect(*replicaSetOf(g, got, got.Status.CurrentPodHash).Spec.Replicas).To(Equal(int32(1)))
		g.Expect(conditions.IsUnknown(got, meta.ReadyCondition)).To(BeTrue())
	}, timeout, 200*time.Millisecond).Should(Succeed())
	g.Expect(getRun(g, ro, run.Name).Status.Phase).To(Equal(v1alpha1.AnalysisPhaseInconclusive))

	patchStatus(t, ro, `{"status":{"pauseConditions":null}}`)
	expectHealthy(t, ro, 2)
}

// backgroundRun waits for the rollout to record a Running background run,
// other than the runs named in not, that has measured successfully twice,
// and returns it.
func backgroundRun(t *testing.T, ro *v1alpha1.Rollout, not ...string) *v1alpha1.AnalysisRun {
	t.Helper()
	var run *v1alpha1.AnalysisRun
	NewWithT(t).Eventually(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		s := got.Status.Canary.CurrentBackgroundAnalysisRunStatus
		g.Expect(s).NotTo(BeNil())
		g.Expect(not).NotTo(ContainElement(s.Name))
		g.Expect(s.Status).To(Equal(v1alpha1.AnalysisPhaseRunning))
		run = getRun(g, ro, s.Name)
		g.Expect(run.Status.MetricResults).To(ConsistOf(HaveField("Successful", BeNumerically(">=", 2))))
	}, timeout, 200*time.Millisecond).Should(Succeed())
	return run
}

// TestBackgroundAnalysis: strategy.canary.analysis starts at its
// startingStep and runs while the canary steps on; a failure in the middle
// of the rollout aborts it and rolls back. A retry starts a new background
// run, and once the canary is promoted that run is terminated and the
// status no longer records one.
func TestBackgroundAnalysis(t *testing.T) {
	g := NewWithT(t)
	prom := prometheus.Start(t, prometheus.Healthy)
	ns := suite.NewNamespace(t, env.Client, "analysis-background-")
	newTemplate(t, ns, "error-rate", nil, errorRateMetric(prom, 0, "1s", 0))
	ro := newRollout(ns, "web", 4, "web:1", withCanary(
		v1alpha1.CanaryStep{SetWeight: ptr.To[int32](25)},
		v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}},
		v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)},
		v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}},
	))
	ro.Spec.Strategy.Canary.Analysis = &v1alpha1.RolloutAnalysisBackground{StartingStep: ptr.To[int32](1),
		RolloutAnalysis: v1alpha1.RolloutAnalysis{Templates: templateRefs([]string{"error-rate"})}}
	stable := startRollout(t, ro)

	// Paused at step 1, the background run measures.
	got := expectPausedAt(t, ro, 1, 1, 3)
	first := backgroundRun(t, ro)
	g.Expect(first.Name).To(Equal("web-" + got.Status.CurrentPodHash + "-2"))
	g.Expect(first.Labels).To(HaveKeyWithValue(RolloutTypeLabel, "Background"))

	// Promoted to the second pause, then the error rate crosses the
	// threshold: the rollout aborts mid-way.
	patchStatus(t, ro, `{"status":{"pauseConditions":null}}`)
	expectPausedAt(t, ro, 3, 2, 2)
	prom.SetErrorRate(t, prometheus.Failing)
	got = expectRolledBack(t, ro, stable, first.Name, 4)
	g.Expect(got.Status.Message).To(ContainSubstring("background analysis Failed"))
	g.Expect(getRun(g, ro, first.Name).Status.Phase).To(Equal(v1alpha1.AnalysisPhaseFailed))

	// Retry: a new background run from the starting step.
	prom.SetErrorRate(t, prometheus.Healthy)
	patchStatus(t, ro, `{"status":{"abort":false}}`)
	expectPausedAt(t, ro, 1, 1, 3)
	second := backgroundRun(t, ro, first.Name).Name
	g.Expect(second).To(Equal(first.Name + ".1"))

	// Promoted through both pauses to the end: the background run is
	// terminated once the canary is stable.
	patchStatus(t, ro, `{"status":{"pauseConditions":null}}`)
	expectPausedAt(t, ro, 3, 2, 2)
	patchStatus(t, ro, `{"status":{"pauseConditions":null}}`)
	got, _ = expectHealthy(t, ro, 4)
	g.Expect(got.Status.Canary.CurrentBackgroundAnalysisRunStatus).To(BeNil())
	g.Eventually(func(g Gomega) {
		run := getRun(g, ro, second)
		g.Expect(run.Spec.Terminate).To(BeTrue())
		g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	}, timeout).Should(Succeed())
}

// TestAnalysisRunHistory: of the decided runs a rollout no longer needs,
// the newest five successful ones are kept (Argo Rollouts' default) and
// older ones deleted, so runs do not pile up with every revision.
func TestAnalysisRunHistory(t *testing.T) {
	g := NewWithT(t)
	srv := newRateServer(t, 0.01)
	// The run passes at its first measurement, so the rollout may be past
	// the step before any poll sees the run recorded: wait for Healthy, not
	// for the run (stepRun).
	ns := suite.NewNamespace(t, env.Client, "analysis-history-")
	newTemplate(t, ns, "error-rate", nil, webRateMetric(srv, 1, 0, false))
	ro := newRollout(ns, "web", 2, "web:1", withCanary(
		v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)},
		analysisStep(nil, "error-rate"),
	))
	startRollout(t, ro)
	expectHealthy(t, ro, 2)
	for i := 3; i <= 8; i++ {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		suite.Edit(t, env.Client, got, func(r *v1alpha1.Rollout) {
			r.Spec.Template.Spec.Containers[0].Image = fmt.Sprintf("web:%d", i)
		}, timeout)
		g.Eventually(func(g Gomega) {
			got, rs := expectHealthyG(g, ro, 2)
			g.Expect(got.Generation).To(Equal(got.Status.ObservedGeneration))
			g.Expect(rs.Spec.Template.Spec.Containers[0].Image).To(Equal(fmt.Sprintf("web:%d", i)))
		}, timeout, 200*time.Millisecond).Should(Succeed())
	}
	g.Eventually(func(g Gomega) {
		// The runs are counted when the rollout is reconciled: a run the
		// last reconcile saw still undecided (terminated, not yet marked
		// so) is counted at the next one, which a touch of the rollout
		// starts.
		suite.Edit(t, env.Client, getRollout(g, client.ObjectKeyFromObject(ro)), func(r *v1alpha1.Rollout) {
			if r.Annotations == nil {
				r.Annotations = map[string]string{}
			}
			r.Annotations["test/touched"] = time.Now().Format(time.RFC3339Nano)
		}, timeout)
		var list v1alpha1.AnalysisRunList
		g.Expect(env.Client.List(ctx(), &list, client.InNamespace(ro.Namespace))).To(Succeed())
		var revisions []string
		for _, r := range list.Items {
			g.Expect(r.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
			revisions = append(revisions, r.Annotations[RevisionAnnotation])
		}
		g.Expect(revisions).To(ConsistOf("4", "5", "6", "7", "8"))
	}, timeout, 200*time.Millisecond).Should(Succeed())
}
