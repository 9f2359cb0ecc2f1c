package analysisrun

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// promMetric is a Prometheus metric named name with the given options.
func promMetric(name string, opts ...func(*v1alpha1.Metric)) v1alpha1.Metric {
	m := v1alpha1.Metric{
		Name:             name,
		SuccessCondition: "result[0] < 0.05",
		Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{
			Address: "http://prometheus:9090", Query: "rate",
		}},
	}
	for _, o := range opts {
		o(&m)
	}
	return m
}

func every(d string) func(*v1alpha1.Metric) {
	return func(m *v1alpha1.Metric) { m.Interval = v1alpha1.DurationString(d) }
}

func times(n int) func(*v1alpha1.Metric) {
	return func(m *v1alpha1.Metric) { m.Count = ptr.To(intstr.FromInt32(int32(n))) }
}

func failureLimit(n int) func(*v1alpha1.Metric) {
	return func(m *v1alpha1.Metric) { m.FailureLimit = ptr.To(intstr.FromInt32(int32(n))) }
}

func mustResolve(t *testing.T, run *v1alpha1.AnalysisRun) []metric {
	t.Helper()
	ms, err := resolve(run)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// measured is a finished measurement of phase at t with value.
func measured(phase v1alpha1.AnalysisPhase, at time.Time, value string) v1alpha1.Measurement {
	return v1alpha1.Measurement{Phase: phase, StartedAt: metaTime(at), FinishedAt: metaTime(at), Value: value}
}

// TestEffectiveCount: count and interval give Argo Rollouts' number of
// measurements.
func TestEffectiveCount(t *testing.T) {
	g := NewWithT(t)
	for _, tc := range []struct {
		opts []func(*v1alpha1.Metric)
		want *int32
	}{
		{nil, ptr.To[int32](1)},
		{[]func(*v1alpha1.Metric){times(0)}, ptr.To[int32](1)},
		{[]func(*v1alpha1.Metric){every("1s")}, nil},
		{[]func(*v1alpha1.Metric){every("1s"), times(0)}, nil},
		{[]func(*v1alpha1.Metric){every("1s"), times(3)}, ptr.To[int32](3)},
		{[]func(*v1alpha1.Metric){times(2)}, ptr.To[int32](2)},
	} {
		run := &v1alpha1.AnalysisRun{Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{promMetric("m", tc.opts...)}}}
		g.Expect(mustResolve(t, run)[0].count).To(Equal(tc.want))
	}
}

// TestDue: the first measurement waits initialDelay, the next ones
// interval after the previous one finished, a metric without interval
// retries an error after errorRetryInterval, and one that has its count
// is done.
func TestDue(t *testing.T) {
	g := NewWithT(t)
	delayed := promMetric("m", every("30s"), times(3), func(m *v1alpha1.Metric) { m.InitialDelay = "1m" })
	once := promMetric("m")
	for _, tc := range []struct {
		name   string
		m      v1alpha1.Metric
		res    v1alpha1.MetricResult
		now    time.Time
		want   bool
		wantAt time.Time
	}{
		{"first after initialDelay: waiting", delayed, v1alpha1.MetricResult{}, t0.Add(59 * time.Second), false, t0.Add(time.Minute)},
		{"first after initialDelay: due", delayed, v1alpha1.MetricResult{}, t0.Add(time.Minute), true, t0.Add(time.Minute)},
		{"next waits interval", delayed, v1alpha1.MetricResult{Count: 1, Measurements: []v1alpha1.Measurement{measured(v1alpha1.AnalysisPhaseSuccessful, t0.Add(time.Minute), "[0]")}},
			t0.Add(80 * time.Second), false, t0.Add(90 * time.Second)},
		{"next due after interval", delayed, v1alpha1.MetricResult{Count: 1, Measurements: []v1alpha1.Measurement{measured(v1alpha1.AnalysisPhaseSuccessful, t0.Add(time.Minute), "[0]")}},
			t0.Add(90 * time.Second), true, t0.Add(90 * time.Second)},
		{"count reached", delayed, v1alpha1.MetricResult{Count: 3, Measurements: []v1alpha1.Measurement{measured(v1alpha1.AnalysisPhaseSuccessful, t0, "[0]")}},
			t0.Add(time.Hour), false, time.Time{}},
		{"single measurement: first due at once", once, v1alpha1.MetricResult{}, t0, true, t0},
		{"single measurement that erred is retried", once, v1alpha1.MetricResult{Error: 1, ConsecutiveError: 1, Measurements: []v1alpha1.Measurement{measured(v1alpha1.AnalysisPhaseError, t0, "")}},
			t0.Add(time.Second), false, t0.Add(errorRetryInterval)},
		{"single measurement taken", once, v1alpha1.MetricResult{Count: 1, Measurements: []v1alpha1.Measurement{measured(v1alpha1.AnalysisPhaseFailed, t0, "[1]")}},
			t0.Add(time.Hour), false, time.Time{}},
		{"decided metric", delayed, v1alpha1.MetricResult{Phase: v1alpha1.AnalysisPhaseFailed}, t0.Add(time.Hour), false, time.Time{}},
	} {
		run := &v1alpha1.AnalysisRun{Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{tc.m}}}
		got, at := due(mustResolve(t, run)[0], &tc.res, t0, tc.now)
		g.Expect(got).To(Equal(tc.want), tc.name)
		g.Expect(at).To(Equal(tc.wantAt), tc.name)
	}
}

// TestRecordKeepsTen: the counters count every measurement, the status
// keeps the latest ten, and errors do not count towards count.
func TestRecordKeepsTen(t *testing.T) {
	g := NewWithT(t)
	res := &v1alpha1.MetricResult{Name: "m", Phase: v1alpha1.AnalysisPhasePending}
	for i := range 12 {
		record(res, measured(v1alpha1.AnalysisPhaseSuccessful, t0.Add(time.Duration(i)*time.Second), "[0]"))
	}
	record(res, measured(v1alpha1.AnalysisPhaseError, t0.Add(12*time.Second), ""))
	g.Expect(res.Measurements).To(HaveLen(measurementHistoryLimit))
	g.Expect(res.Measurements[0].StartedAt.Time).To(Equal(t0.Add(3 * time.Second)))
	g.Expect(res.Count).To(Equal(int32(12)))
	g.Expect(res.Successful).To(Equal(int32(12)))
	g.Expect(res.Error).To(Equal(int32(1)))
	g.Expect(res.ConsecutiveError).To(Equal(int32(1)))
	g.Expect(res.Phase).To(Equal(v1alpha1.AnalysisPhaseRunning))
}

// TestAssess: the limits decide a metric as Argo Rollouts' do, the run
// takes the worst metric's phase, and the message names the metric, the
// limit and the last value.
func TestAssess(t *testing.T) {
	g := NewWithT(t)
	failed := func(n int32, value string) v1alpha1.MetricResult {
		r := v1alpha1.MetricResult{Name: "error-rate", Phase: v1alpha1.AnalysisPhaseRunning, Failed: n, Count: n}
		for range n {
			r.Measurements = append(r.Measurements, measured(v1alpha1.AnalysisPhaseFailed, t0, value))
		}
		return r
	}
	for _, tc := range []struct {
		name      string
		metrics   []v1alpha1.Metric
		results   []v1alpha1.MetricResult
		terminate bool
		phase     v1alpha1.AnalysisPhase
		message   string
	}{
		{
			name:    "one failure within failureLimit 1 keeps running",
			metrics: []v1alpha1.Metric{promMetric("error-rate", every("1s"), times(3), failureLimit(1))},
			results: []v1alpha1.MetricResult{failed(1, "[0.31]")},
			phase:   v1alpha1.AnalysisPhaseRunning,
		},
		{
			name:    "the second failure exceeds failureLimit 1",
			metrics: []v1alpha1.Metric{promMetric("error-rate", every("1s"), times(3), failureLimit(1))},
			results: []v1alpha1.MetricResult{failed(2, "[0.31]")},
			phase:   v1alpha1.AnalysisPhaseFailed,
			message: `metric "error-rate" assessed Failed due to failed (2) > failureLimit (1): value [0.31]`,
		},
		{
			name:    "failureLimit -1 never fails",
			metrics: []v1alpha1.Metric{promMetric("error-rate", times(2), failureLimit(-1))},
			results: []v1alpha1.MetricResult{failed(2, "[0.31]")},
			phase:   v1alpha1.AnalysisPhaseSuccessful,
		},
		{
			name:    "inconclusive over the default limit 0",
			metrics: []v1alpha1.Metric{promMetric("error-rate", every("1s"))},
			results: []v1alpha1.MetricResult{{Name: "error-rate", Inconclusive: 1, Count: 1,
				Measurements: []v1alpha1.Measurement{measured(v1alpha1.AnalysisPhaseInconclusive, t0, "[0.07]")}}},
			phase:   v1alpha1.AnalysisPhaseInconclusive,
			message: `metric "error-rate" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0): value [0.07]`,
		},
		{
			name:    "five errors in a row exceed the default limit 4",
			metrics: []v1alpha1.Metric{promMetric("error-rate")},
			results: []v1alpha1.MetricResult{{Name: "error-rate", Error: 5, ConsecutiveError: 5,
				Measurements: []v1alpha1.Measurement{{Phase: v1alpha1.AnalysisPhaseError, Message: "connection refused", FinishedAt: metaTime(t0)}}}},
			phase:   v1alpha1.AnalysisPhaseError,
			message: `metric "error-rate" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4): connection refused`,
		},
		{
			name:    "four errors in a row keep running",
			metrics: []v1alpha1.Metric{promMetric("error-rate")},
			results: []v1alpha1.MetricResult{{Name: "error-rate", Error: 4, ConsecutiveError: 4,
				Measurements: []v1alpha1.Measurement{{Phase: v1alpha1.AnalysisPhaseError, FinishedAt: metaTime(t0)}}}},
			phase: v1alpha1.AnalysisPhaseRunning,
		},
		{
			name:    "a failed metric ends an unbounded one: the run fails",
			metrics: []v1alpha1.Metric{promMetric("background", every("1s")), promMetric("error-rate")},
			results: []v1alpha1.MetricResult{
				{Name: "background", Phase: v1alpha1.AnalysisPhaseRunning, Count: 1, Successful: 1, Measurements: []v1alpha1.Measurement{measured(v1alpha1.AnalysisPhaseSuccessful, t0, "[0]")}},
				{Name: "error-rate", Phase: v1alpha1.AnalysisPhaseFailed, Count: 1, Failed: 1, Measurements: []v1alpha1.Measurement{measured(v1alpha1.AnalysisPhaseFailed, t0, "[0.4]")}},
			},
			phase:   v1alpha1.AnalysisPhaseFailed,
			message: `metric "error-rate" assessed Failed due to failed (1) > failureLimit (0): value [0.4]`,
		},
		{
			name:      "terminated: what was measured stands",
			metrics:   []v1alpha1.Metric{promMetric("background", every("1s")), promMetric("later", func(m *v1alpha1.Metric) { m.InitialDelay = "1h" })},
			results:   []v1alpha1.MetricResult{{Name: "background", Count: 1, Successful: 1, Measurements: []v1alpha1.Measurement{measured(v1alpha1.AnalysisPhaseSuccessful, t0, "[0]")}}},
			terminate: true,
			phase:     v1alpha1.AnalysisPhaseSuccessful,
			message:   "Run Terminated",
		},
		{
			name:    "all metrics have their count",
			metrics: []v1alpha1.Metric{promMetric("a", every("1s"), times(2)), promMetric("b")},
			results: []v1alpha1.MetricResult{
				{Name: "a", Count: 2, Successful: 2, Measurements: []v1alpha1.Measurement{measured(v1alpha1.AnalysisPhaseSuccessful, t0, "[0]")}},
				{Name: "b", Count: 1, Successful: 1, Measurements: []v1alpha1.Measurement{measured(v1alpha1.AnalysisPhaseSuccessful, t0, "[0]")}},
			},
			phase: v1alpha1.AnalysisPhaseSuccessful,
		},
		{
			name:    "one metric still pending",
			metrics: []v1alpha1.Metric{promMetric("a"), promMetric("b", func(m *v1alpha1.Metric) { m.InitialDelay = "1m" })},
			results: []v1alpha1.MetricResult{{Name: "a", Count: 1, Successful: 1, Measurements: []v1alpha1.Measurement{measured(v1alpha1.AnalysisPhaseSuccessful, t0, "[0]")}}},
			phase:   v1alpha1.AnalysisPhaseRunning,
		},
	} {
		run := &v1alpha1.AnalysisRun{
			Spec:   v1alpha1.AnalysisRunSpec{Metrics: tc.metrics, Terminate: tc.terminate},
			Status: v1alpha1.AnalysisRunStatus{MetricResults: tc.results, StartedAt: metaTime(t0)},
		}
		phase, message := assess(run, mustResolve(t, run))
		g.Expect(phase).To(Equal(tc.phase), tc.name)
		g.Expect(message).To(Equal(tc.message), tc.name)
	}
}

// TestResolveArgs: {{args.NAME}} is substituted into the provider's
// fields, the conditions and string limits; an argument without a value
// and a reference to a missing one are errors.
func TestResolveArgs(t *testing.T) {
	g := NewWithT(t)
	m := v1alpha1.Metric{
		Name:             "m",
		SuccessCondition: "result[0] < {{ args.threshold }}",
		FailureLimit:     ptr.To(intstr.FromString("{{args.limit}}")),
		Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{
			Address: "{{args.prometheus}}", Query: `rate{service="{{args.service}}"}`,
		}},
	}
	web := v1alpha1.Metric{Name: "w", Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{
		URL: "http://{{args.service}}/health", JSONPath: "{$.{{args.field}}}", Body: `{"s": "{{args.service}}"}`,
		Headers: []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer {{args.token}}"}},
	}}}
	arg := func(name, value string) v1alpha1.Argument { return v1alpha1.Argument{Name: name, Value: &value} }
	run := &v1alpha1.AnalysisRun{Spec: v1alpha1.AnalysisRunSpec{
		Metrics: []v1alpha1.Metric{m, web},
		Args: []v1alpha1.Argument{arg("threshold", "0.05"), arg("limit", "2"), arg("prometheus", "http://p:9090"),
			arg("service", "web"), arg("field", "ok"), arg("token", "t")},
	}}
	got := mustResolve(t, run)
	g.Expect(got[0].SuccessCondition).To(Equal("result[0] < 0.05"))
	g.Expect(got[0].failureLimit).To(Equal(int32(2)))
	g.Expect(got[0].Provider.Prometheus.Address).To(Equal("http://p:9090"))
	g.Expect(got[0].Provider.Prometheus.Query).To(Equal(`rate{service="web"}`))
	g.Expect(got[1].Provider.Web.URL).To(Equal("http://web/health"))
	g.Expect(got[1].Provider.Web.JSONPath).To(Equal("{$.ok}"))
	g.Expect(got[1].Provider.Web.Body).To(Equal(`{"s": "web"}`))
	g.Expect(got[1].Provider.Web.Headers[0].Value).To(Equal("Bearer t"))
	// The run's own spec is left as written.
	g.Expect(run.Spec.Metrics[0].Provider.Prometheus.Query).To(ContainSubstring("{{args.service}}"))

	run.Spec.Args = append(run.Spec.Args, v1alpha1.Argument{Name: "unset"})
	_, err := resolve(run)
	g.Expect(err).To(MatchError(ContainSubstring(`argument "unset" has no value`)))

	run.Spec.Args = run.Spec.Args[:1]
	_, err = resolve(run)
	g.Expect(err).To(MatchError(ContainSubstring(`{{args.prometheus}}: the run has no argument "prometheus"`)))
}
