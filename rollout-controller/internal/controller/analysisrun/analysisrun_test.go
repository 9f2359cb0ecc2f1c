package analysisrun

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/test/prometheus"
	"github.com/ferrycd/ferry/test/suite"
)

// errorRate is the metric of Argo Rollouts' examples against the test's
// Prometheus: the error rate must stay under 5%.
func errorRate(prom *prometheus.Server, opts ...func(*v1alpha1.Metric)) v1alpha1.Metric {
	m := v1alpha1.Metric{
		Name:             "error-rate",
		SuccessCondition: "result[0] < 0.05",
		Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{
			Address: prom.URL, Query: prometheus.ErrorRateQuery,
		}},
	}
	for _, o := range opts {
		o(&m)
	}
	return m
}

// TestSuccessfulRun: three measurements a second apart of a healthy error
// rate from the real Prometheus make a Successful run, Ready True, with
// each measurement's value as Argo Rollouts writes a vector and its times.
func TestSuccessfulRun(t *testing.T) {
	g := NewWithT(t)
	prom := prometheus.Start(t, prometheus.Healthy)
	run := newRun(t, errorRate(prom, every("1s"), times(3)))
	create(t, run)

	got := waitPhase(t, run, v1alpha1.AnalysisPhaseSuccessful)
	res := metricResult(t, got, "error-rate")
	g.Expect(res.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	g.Expect(res.Count).To(Equal(int32(3)))
	g.Expect(res.Successful).To(Equal(int32(3)))
	g.Expect(res.Measurements).To(HaveLen(3))
	for i, m := range res.Measurements {
		g.Expect(m.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
		g.Expect(m.Value).To(Equal("[0.01]"))
		g.Expect(m.StartedAt).NotTo(BeNil())
		g.Expect(m.FinishedAt).NotTo(BeNil())
		if i > 0 {
			// metav1.Time keeps seconds: a second apart shows as one
			// second or more.
			g.Expect(m.StartedAt.Sub(res.Measurements[i-1].FinishedAt.Time)).To(BeNumerically(">=", time.Second))
		}
	}
	g.Expect(got.Status.StartedAt).NotTo(BeNil())
	expectReady(t, got, metav1.ConditionTrue, SuccessfulReason, false)
	expectEvent(t, got, "Normal", "analysis successful")
}

// TestFailureLimit: with failureLimit 1 a failing error rate fails the
// metric at the second failed measurement, not the first; the message and
// the Warning event name the metric, the limit and the value.
func TestFailureLimit(t *testing.T) {
	g := NewWithT(t)
	prom := prometheus.Start(t, prometheus.Failing)
	run := newRun(t, errorRate(prom, every("1s"), times(5), failureLimit(1)))
	create(t, run)

	got := waitPhase(t, run, v1alpha1.AnalysisPhaseFailed)
	want := `metric "error-rate" assessed Failed due to failed (2) > failureLimit (1): value [0.31]`
	g.Expect(got.Status.Message).To(Equal(want))
	res := metricResult(t, got, "error-rate")
	g.Expect(res.Phase).To(Equal(v1alpha1.AnalysisPhaseFailed))
	g.Expect(res.Failed).To(Equal(int32(2)))
	g.Expect(res.Count).To(Equal(int32(2)))
	g.Expect(res.Measurements).To(HaveLen(2))
	g.Expect(res.Measurements[1].Value).To(Equal("[0.31]"))
	expectReady(t, got, metav1.ConditionFalse, FailedReason, true)
	expectEvent(t, got, "Warning", want)

	// Decided: no further measurement is taken.
	g.Consistently(func(g Gomega) {
		g.Expect(metricResult(t, getRun(g, client.ObjectKeyFromObject(run)), "error-rate").Measurements).To(HaveLen(2))
	}, 2*time.Second, 200*time.Millisecond).Should(Succeed())
}

// TestInconclusive: a value that meets neither the success nor the
// failure condition is inconclusive, and over inconclusiveLimit (0) the
// run is Inconclusive.
func TestInconclusive(t *testing.T) {
	g := NewWithT(t)
	prom := prometheus.Start(t, prometheus.Failing)
	run := newRun(t, errorRate(prom, func(m *v1alpha1.Metric) { m.FailureCondition = "result[0] > 0.5" }))
	create(t, run)

	got := waitPhase(t, run, v1alpha1.AnalysisPhaseInconclusive)
	g.Expect(got.Status.Message).To(Equal(`metric "error-rate" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0): value [0.31]`))
	res := metricResult(t, got, "error-rate")
	g.Expect(res.Inconclusive).To(Equal(int32(1)))
	g.Expect(res.Measurements).To(HaveLen(1))
	expectReady(t, got, metav1.ConditionFalse, InconclusiveReason, true)
}

// TestFlipToFailing: a run measuring every second goes on while the rate
// is healthy and fails once Prometheus reports the failing rate.
func TestFlipToFailing(t *testing.T) {
	g := NewWithT(t)
	prom := prometheus.Start(t, prometheus.Healthy)
	run := newRun(t, errorRate(prom, every("1s")))
	create(t, run)
	waitRunning(t, run, 2)

	prom.SetErrorRate(t, prometheus.Failing)
	got := waitPhase(t, run, v1alpha1.AnalysisPhaseFailed)
	g.Expect(got.Status.Message).To(Equal(`metric "error-rate" assessed Failed due to failed (1) > failureLimit (0): value [0.31]`))
}

// TestWebMetric: a web metric reads a JSON endpoint through its jsonPath;
// an endpoint that answers 503 errs each measurement, naming the status,
// until consecutiveErrorLimit is exceeded.
func TestWebMetric(t *testing.T) {
	g := NewWithT(t)
	var down atomic.Bool
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if down.Load() {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data": {"ok": true, "rate": 0.97}}`)
	}))
	t.Cleanup(srv.Close)
	web := func(name string) v1alpha1.Metric {
		return v1alpha1.Metric{
			Name:             name,
			Interval:         "1s",
			Count:            ptr.To(intstr.FromInt32(2)),
			SuccessCondition: "result > 0.9",
			Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{
				URL: srv.URL + "/metrics", JSONPath: "{$.data.rate}",
			}},
		}
	}
	run := newRun(t, web("success-rate"))
	create(t, run)
	got := waitPhase(t, run, v1alpha1.AnalysisPhaseSuccessful)
	res := metricResult(t, got, "success-rate")
	g.Expect(res.Count).To(Equal(int32(2)))
	g.Expect(res.Measurements[0].Value).To(Equal("0.97"))

	down.Store(true)
	m := web("success-rate")
	m.ConsecutiveErrorLimit = ptr.To(intstr.FromInt32(1))
	failing := newRun(t, m)
	create(t, failing)
	got = waitPhase(t, failing, v1alpha1.AnalysisPhaseError)
	g.Expect(got.Status.Message).To(Equal(`metric "success-rate" assessed Error due to consecutiveErrors (2) > consecutiveErrorLimit (1): received non 2xx response code: 503 Service Unavailable`))
	res = metricResult(t, got, "success-rate")
	g.Expect(res.Error).To(Equal(int32(2)))
	g.Expect(res.Count).To(BeZero())
	g.Expect(res.Measurements).To(HaveLen(2))
	g.Expect(res.Measurements[1].Phase).To(Equal(v1alpha1.AnalysisPhaseError))
	g.Expect(res.Measurements[1].Message).To(ContainSubstring("503"))
	expectReady(t, got, metav1.ConditionFalse, ErrorReason, true)
}

// TestTerminate: a run without a count measures until spec.terminate is
// set; then it stops measuring and is Successful with "Run Terminated".
func TestTerminate(t *testing.T) {
	g := NewWithT(t)
	prom := prometheus.Start(t, prometheus.Healthy)
	run := newRun(t, errorRate(prom, every("1s")))
	create(t, run)
	key := client.ObjectKeyFromObject(run)
	waitRunning(t, run, 2)

	suite.Edit(t, env.Client, run, func(r *v1alpha1.AnalysisRun) { r.Spec.Terminate = true }, timeout)
	got := waitPhase(t, run, v1alpha1.AnalysisPhaseSuccessful)
	g.Expect(got.Status.Message).To(Equal("Run Terminated"))
	res := metricResult(t, got, "error-rate")
	g.Expect(res.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	taken := res.Count
	expectReady(t, got, metav1.ConditionTrue, SuccessfulReason, false)
	g.Consistently(func(g Gomega) {
		g.Expect(getRun(g, key).Status.MetricResults[0].Count).To(Equal(taken))
	}, 2*time.Second, 200*time.Millisecond).Should(Succeed())
}

// TestArgs: {{args.NAME}} in the query is the run's argument (a wrong one
// would select no series and fail result[0]); an argument without a value
// makes the run Error with a message that names it, without measuring.
func TestArgs(t *testing.T) {
	g := NewWithT(t)
	prom := prometheus.Start(t, prometheus.Healthy)
	withArgs := func(m *v1alpha1.Metric) {
		m.Provider.Prometheus.Query = prometheus.ErrorRate + `{service="{{args.service}}"}`
		m.SuccessCondition = "result[0] < {{args.threshold}}"
	}
	run := newRun(t, errorRate(prom, withArgs))
	run.Spec.Args = []v1alpha1.Argument{{Name: "service", Value: ptr.To(prometheus.Service)}, {Name: "threshold", Value: ptr.To("0.05")}}
	create(t, run)
	got := waitPhase(t, run, v1alpha1.AnalysisPhaseSuccessful)
	g.Expect(metricResult(t, got, "error-rate").Measurements[0].Value).To(Equal("[0.01]"))
	// The spec keeps the reference; only the measurement used the value.
	g.Expect(got.Spec.Metrics[0].Provider.Prometheus.Query).To(ContainSubstring("{{args.service}}"))

	unset := newRun(t, errorRate(prom, withArgs))
	unset.Spec.Args = []v1alpha1.Argument{{Name: "service"}, {Name: "threshold", Value: ptr.To("0.05")}}
	create(t, unset)
	got = waitPhase(t, unset, v1alpha1.AnalysisPhaseError)
	g.Expect(got.Status.Message).To(Equal(`unable to resolve metric arguments: argument "service" has no value: the rollout must give it (spec.strategy...analysis.args) or the template a default`))
	g.Expect(got.Status.MetricResults).To(BeEmpty())
	expectReady(t, got, metav1.ConditionFalse, ErrorReason, true)
}

// TestInitialDelay: the first measurement waits initialDelay from the
// run's start.
func TestInitialDelay(t *testing.T) {
	g := NewWithT(t)
	prom := prometheus.Start(t, prometheus.Healthy)
	run := newRun(t, errorRate(prom, func(m *v1alpha1.Metric) { m.InitialDelay = "3s" }))
	create(t, run)
	got := waitPhase(t, run, v1alpha1.AnalysisPhaseSuccessful)
	m := metricResult(t, got, "error-rate").Measurements[0]
	g.Expect(m.StartedAt.Sub(got.Status.StartedAt.Time)).To(BeNumerically(">=", 3*time.Second))
}
