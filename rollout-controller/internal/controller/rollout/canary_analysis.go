package rollout

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// abortReason says why an aborted update was aborted: the analysis whose
// failure aborted it (the status records its run), else a user's abort.
func abortReason(st *v1alpha1.RolloutStatus) string {
	for _, run := range []struct {
		what string
		s    *v1alpha1.RolloutAnalysisRunStatus
	}{
		{"analysis", st.Canary.CurrentStepAnalysisRunStatus},
		{"background analysis", st.Canary.CurrentBackgroundAnalysisRunStatus},
	} {
		if run.s != nil && (run.s.Status == v1alpha1.AnalysisPhaseFailed || run.s.Status == v1alpha1.AnalysisPhaseError) {
			return fmt.Sprintf("%s %s: %s", run.what, run.s.Status, runMessage(run.s))
		}
	}
	return "the update was aborted"
}

// backgroundAnalysis runs spec.strategy.canary.analysis from its
// startingStep until the canary is promoted (or promoteFull skips it),
// whatever step the rollout is at: a Failed or Error run aborts the
// update, an Inconclusive one pauses it until promoted. It reports whether
// the steps hold; elsewhere the background status is cleared, which
// terminates a run still going.
func backgroundAnalysis(st *v1alpha1.RolloutStatus, in canaryInput, analyze analyzeFunc, v *canaryVerdict) (bool, error) {
	b := in.Background
	if b == nil || len(b.Templates) == 0 || st.PromoteFull || in.Stable == nil ||
		*st.CurrentStepIndex < ptr.Deref(b.StartingStep, 0) {
		st.Canary.CurrentBackgroundAnalysisRunStatus = nil
		return false, nil
	}
	if analyze == nil {
		v.Message = "background analysis is waiting: this rollout-controller runs no analysis"
		return true, nil
	}
	if pauseCondition(st, v1alpha1.PauseReasonInconclusiveAnalysis) != nil {
		v.Pause = string(v1alpha1.PauseReasonInconclusiveAnalysis)
		return true, nil
	}
	phase, msg, err := analyze(BackgroundPurpose, &b.RolloutAnalysis)
	if err != nil {
		return true, err
	}
	return holdOnVerdict(st, "background analysis", phase, msg, in.Now, v), nil
}

// holdOnVerdict applies an analysis verdict that stops the steps: an
// Inconclusive run pauses the rollout until promoted, a Failed or Error
// run aborts it with a message naming the run. It reports whether it did.
func holdOnVerdict(st *v1alpha1.RolloutStatus, what string, phase v1alpha1.AnalysisPhase, msg string, now time.Time, v *canaryVerdict) bool {
	switch phase {
	case v1alpha1.AnalysisPhaseInconclusive:
		st.PauseConditions = append(st.PauseConditions,
			v1alpha1.PauseCondition{Reason: v1alpha1.PauseReasonInconclusiveAnalysis, StartTime: metav1.Time{Time: now}})
		st.ControllerPause = true
		v.Pause = string(v1alpha1.PauseReasonInconclusiveAnalysis)
		return true
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError:
		st.Abort = true
		v.Aborted, v.Message = true, fmt.Sprintf("%s %s: %s", what, phase, msg)
		return true
	}
	return false
}

// analysisDone handles an analysis step through the Analyzer hook.
func analysisDone(st *v1alpha1.RolloutStatus, purpose string, a *v1alpha1.RolloutAnalysis, now time.Time, analyze analyzeFunc, v *canaryVerdict) (bool, error) {
	if analyze == nil {
		v.Message = "analysis step is waiting: this rollout-controller runs no analysis"
		return false, nil
	}
	if cond := pauseCondition(st, v1alpha1.PauseReasonInconclusiveAnalysis); cond != nil {
		v.Pause = string(v1alpha1.PauseReasonInconclusiveAnalysis)
		return false, nil
	} else if st.ControllerPause && recordedPhase(st, purpose) == v1alpha1.AnalysisPhaseInconclusive {
		// Promoted past this analysis' inconclusive run (not past
		// another's, such as the background analysis').
		return true, nil
	}
	phase, msg, err := analyze(purpose, a)
	if err != nil {
		return false, err
	}
	switch {
	case phase == v1alpha1.AnalysisPhaseSuccessful:
		return true, nil
	case !holdOnVerdict(st, "analysis", phase, msg, now, v):
		v.Message = fmt.Sprintf("analysis is %s: %s", phase, msg)
		v.Analyzing = true
	}
	return false, nil
}

// recordedPhase is the phase the status records for the run of purpose,
// empty when it records none.
func recordedPhase(st *v1alpha1.RolloutStatus, purpose string) v1alpha1.AnalysisPhase {
	slot, err := slotOf(purpose)
	if err != nil {
		return ""
	}
	if rec := *slot.status(st); rec != nil {
		return rec.Status
	}
	return ""
}
