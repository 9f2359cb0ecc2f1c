package rollout

import (
	"context"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// rollOutCanary runs the canary strategy. Without steps the new template
// goes to 100% at once, as a rolling update bounded by maxSurge and
// maxUnavailable; once its ReplicaSet is fully available it becomes the
// stable one.
func (r *Reconciler) rollOutCanary(ctx context.Context, s *scope) error {
	ro := s.ro
	desired := ro.GetReplicas()
	if ro.Status.StableRS == "" {
		// The first template has nothing to roll from: it is stable at once.
		ro.Status.StableRS = s.hash
		s.stableRS = s.newRS
	}
	res := s.plan(desired, 0).next()
	if err := r.applyReplicas(ctx, s, res); err != nil {
		return err
	}
	if s.newRS.Status.AvailableReplicas >= desired && specReplicas(s.newRS) == desired && settled(s.newRS) {
		ro.Status.StableRS = s.hash
		s.stableRS = s.newRS
	}
	return nil
}

// StepAnalysis runs the analysis of one canary step: it starts the step's
// AnalysisRun if there is none yet for the rollout's current step and pod
// hash, and reports the run's phase (Pending/Running while undecided) and
// message. The canary holds the step while the phase is not completed,
// goes on when Successful, pauses on Inconclusive and aborts on Failed or
// Error. The analysis engineer's package implements it; Reconciler.Analysis
// nil holds analysis steps.
type StepAnalysis interface {
	StepAnalysis(ctx context.Context, ro *v1alpha1.Rollout, step *v1alpha1.RolloutAnalysis) (v1alpha1.AnalysisPhase, string, error)
}
