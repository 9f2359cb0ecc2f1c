package analysisrun

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// The decisions of a run, as Argo Rollouts makes them: pure functions of
// the resolved metrics, the status so far and the clock.

// result returns the status of the named metric, adding a Pending one
// when the run has none yet.
func result(st *v1alpha1.AnalysisRunStatus, name string) *v1alpha1.MetricResult {
	for i := range st.MetricResults {
		if st.MetricResults[i].Name == name {
			return &st.MetricResults[i]
		}
	}
	st.MetricResults = append(st.MetricResults, v1alpha1.MetricResult{Name: name, Phase: v1alpha1.AnalysisPhasePending})
	return &st.MetricResults[len(st.MetricResults)-1]
}

// last is the metric's latest measurement, nil before the first.
func last(res *v1alpha1.MetricResult) *v1alpha1.Measurement {
	if len(res.Measurements) == 0 {
		return nil
	}
	return &res.Measurements[len(res.Measurements)-1]
}

// terminating reports whether the run takes no more measurements: it was
// told to stop (spec.terminate), or a metric already decided it against
// the rollout, so measuring the others can no longer change the verdict.
func terminating(run *v1alpha1.AnalysisRun) bool {
	if run.Spec.Terminate {
		return true
	}
	for _, res := range run.Status.MetricResults {
		switch res.Phase {
		case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive:
			return true
		}
	}
	return false
}

// due reports whether m is to be measured at now and, when it is not,
// when it will be (the zero time: never again). The first measurement
// waits initialDelay from the run's start; each next one waits interval
// from the end of the one before, or errorRetryInterval for a metric
// without interval (one whose single measurement erred, or a count
// without interval), as Argo Rollouts does. A metric that has its count
// is done.
func due(m metric, res *v1alpha1.MetricResult, startedAt, now time.Time) (bool, time.Time) {
	if res.Phase.Completed() {
		return false, time.Time{}
	}
	prev := last(res)
	if prev == nil {
		at := startedAt.Add(m.initialDelay)
		return !now.Before(at), at
	}
	if m.count != nil && res.Count >= *m.count {
		return false, time.Time{}
	}
	wait := m.interval
	if wait == 0 {
		wait = errorRetryInterval
	}
	end := now
	if prev.FinishedAt != nil {
		end = prev.FinishedAt.Time
	}
	at := end.Add(wait)
	return !now.Before(at), at
}

// record adds a finished measurement to the metric's counters and keeps
// the latest measurementHistoryLimit of them. An error does not count
// towards count: the measurement is taken again.
func record(res *v1alpha1.MetricResult, meas v1alpha1.Measurement) {
	switch meas.Phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		res.Successful++
		res.Count++
		res.ConsecutiveError = 0
	case v1alpha1.AnalysisPhaseFailed:
		res.Failed++
		res.Count++
		res.ConsecutiveError = 0
	case v1alpha1.AnalysisPhaseInconclusive:
		res.Inconclusive++
		res.Count++
		res.ConsecutiveError = 0
	case v1alpha1.AnalysisPhaseError:
		res.Error++
		res.ConsecutiveError++
	}
	res.Measurements = append(res.Measurements, meas)
	if n := len(res.Measurements); n > measurementHistoryLimit {
		res.Measurements = append([]v1alpha1.Measurement(nil), res.Measurements[n-measurementHistoryLimit:]...)
	}
	if res.Phase == v1alpha1.AnalysisPhasePending {
		res.Phase = v1alpha1.AnalysisPhaseRunning
	}
}

// assessMetric returns the metric's phase from its counters and, when a
// limit decided it, the limit's words ("failed (2) > failureLimit (1)").
// A limit below zero is no limit. A metric that has its count is
// Successful (the failures it tolerated included); one still measuring
// when the run terminates is Successful with what it measured.
func assessMetric(m metric, res v1alpha1.MetricResult, terminating bool) (v1alpha1.AnalysisPhase, string) {
	if res.Phase.Completed() {
		return res.Phase, limitExceeded(m, res)
	}
	prev := last(&res)
	if prev == nil {
		if terminating {
			return v1alpha1.AnalysisPhaseSuccessful, ""
		}
		return v1alpha1.AnalysisPhasePending, ""
	}
	if why := limitExceeded(m, res); why != "" {
		switch {
		case m.failureLimit >= 0 && res.Failed > m.failureLimit:
			return v1alpha1.AnalysisPhaseFailed, why
		case m.inconclusiveLimit >= 0 && res.Inconclusive > m.inconclusiveLimit:
			return v1alpha1.AnalysisPhaseInconclusive, why
		default:
			return v1alpha1.AnalysisPhaseError, why
		}
	}
	if m.count != nil && res.Count >= *m.count {
		return v1alpha1.AnalysisPhaseSuccessful, ""
	}
	if terminating {
		return v1alpha1.AnalysisPhaseSuccessful, ""
	}
	return v1alpha1.AnalysisPhaseRunning, ""
}

// limitExceeded words the first limit the metric's counters exceed, in
// Argo Rollouts' order (failures, then inconclusive, then errors), or "".
func limitExceeded(m metric, res v1alpha1.MetricResult) string {
	switch {
	case m.failureLimit >= 0 && res.Failed > m.failureLimit:
		return fmt.Sprintf("failed (%d) > failureLimit (%d)", res.Failed, m.failureLimit)
	case m.inconclusiveLimit >= 0 && res.Inconclusive > m.inconclusiveLimit:
		return fmt.Sprintf("inconclusive (%d) > inconclusiveLimit (%d)", res.Inconclusive, m.inconclusiveLimit)
	case m.consecutiveErrorLimit >= 0 && res.ConsecutiveError > m.consecutiveErrorLimit:
		return fmt.Sprintf("consecutiveErrors (%d) > consecutiveErrorLimit (%d)", res.ConsecutiveError, m.consecutiveErrorLimit)
	}
	return ""
}

// phaseOrder ranks phases from best to worst, as Argo Rollouts does: the
// run takes its worst metric's phase.
var phaseOrder = map[v1alpha1.AnalysisPhase]int{
	v1alpha1.AnalysisPhasePending:      0,
	v1alpha1.AnalysisPhaseRunning:      1,
	v1alpha1.AnalysisPhaseSuccessful:   2,
	v1alpha1.AnalysisPhaseInconclusive: 3,
	v1alpha1.AnalysisPhaseError:        4,
	v1alpha1.AnalysisPhaseFailed:       5,
}

// assess updates every metric's phase and message and returns the run's
// phase and message: Running while a metric is not decided, else the
// worst metric's phase, with a message that names the metric, the limit
// it exceeded and the value (or error) of its last measurement. A run
// told to terminate says "Run Terminated" unless a metric failed it.
func assess(run *v1alpha1.AnalysisRun, metrics []metric) (v1alpha1.AnalysisPhase, string) {
	term := terminating(run)
	var worst v1alpha1.AnalysisPhase
	var message string
	if run.Spec.Terminate {
		message = "Run Terminated"
	}
	completed := true
	for _, m := range metrics {
		res := result(&run.Status, m.Name)
		phase, why := assessMetric(m, *res, term)
		res.Phase = phase
		if prev := last(res); prev != nil {
			res.Message = prev.Message
		}
		if !phase.Completed() {
			completed = false
			continue
		}
		if worst == "" || phaseOrder[phase] > phaseOrder[worst] {
			worst = phase
			if why != "" {
				message = fmt.Sprintf("metric %q assessed %s due to %s%s", m.Name, phase, why, lastWords(res))
			}
		}
	}
	if !completed || worst == "" {
		return v1alpha1.AnalysisPhaseRunning, message
	}
	return worst, message
}

// lastWords is what the metric's last measurement found, for a message:
// its value, or its error.
func lastWords(res *v1alpha1.MetricResult) string {
	prev := last(res)
	switch {
	case prev == nil:
		return ""
	case prev.Phase == v1alpha1.AnalysisPhaseError:
		return ": " + prev.Message
	default:
		return ": value " + prev.Value
	}
}

// next is the earliest time a metric of the run is due, the zero time
// when none will be.
func next(run *v1alpha1.AnalysisRun, metrics []metric, now time.Time) time.Time {
	if run.Status.Phase.Completed() || terminating(run) {
		return time.Time{}
	}
	var at time.Time
	for _, m := range metrics {
		_, t := due(m, result(&run.Status, m.Name), started(run, now), now)
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	return at
}

// started is when the run began, now before its first reconcile.
func started(run *v1alpha1.AnalysisRun, now time.Time) time.Time {
	if run.Status.StartedAt == nil {
		return now
	}
	return run.Status.StartedAt.Time
}

// metaTime is t as the API stores it.
func metaTime(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t)
	return &mt
}
