package analysisrun

import (
	"github.com/fluxcd/pkg/apis/meta"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// Reasons of the Ready condition, one per run phase.
const (
	// RunningReason: metrics are still being measured.
	RunningReason = "AnalysisRunning"
	// SuccessfulReason: every metric completed successfully.
	SuccessfulReason = "AnalysisSuccessful"
	// FailedReason: a metric's failures exceeded its failureLimit.
	FailedReason = "AnalysisFailed"
	// InconclusiveReason: a metric's inconclusive measurements exceeded
	// its inconclusiveLimit.
	InconclusiveReason = "AnalysisInconclusive"
	// ErrorReason: a metric erred more than consecutiveErrorLimit times
	// in a row, or the run's arguments could not be resolved.
	ErrorReason = "AnalysisError"
)

// OwnedConditions are the condition types the controller writes on an
// AnalysisRun.
var OwnedConditions = []string{meta.ReadyCondition, meta.ReconcilingCondition, meta.StalledCondition}

// phaseReason is the Ready reason of a run phase.
func phaseReason(p v1alpha1.AnalysisPhase) string {
	switch p {
	case v1alpha1.AnalysisPhaseSuccessful:
		return SuccessfulReason
	case v1alpha1.AnalysisPhaseFailed:
		return FailedReason
	case v1alpha1.AnalysisPhaseInconclusive:
		return InconclusiveReason
	case v1alpha1.AnalysisPhaseError:
		return ErrorReason
	}
	return RunningReason
}
