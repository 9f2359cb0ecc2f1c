package rollout

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// Analyzer purposes of a blue-green's analyses.
const (
	// PrePromotionPurpose is spec.strategy.blueGreen.prePromotionAnalysis:
	// it gates the switch of the active Service.
	PrePromotionPurpose = "pre-promotion"
	// PostPromotionPurpose is spec.strategy.blueGreen.postPromotionAnalysis:
	// it runs after the switch and, failing, switches back.
	PostPromotionPurpose = "post-promotion"
)

// ScaleDownDeadlineAnnotation is Argo Rollouts' annotation on a ReplicaSet
// the active Service no longer selects: the time (RFC 3339) after which it
// is scaled to zero. Until then a rollback is one selector switch, and a
// user may edit it to keep the old version longer.
const ScaleDownDeadlineAnnotation = "argo-rollouts.argoproj.io/scale-down-deadline"

// defaultScaleDownDelay is Argo Rollouts' default of scaleDownDelaySeconds.
const defaultScaleDownDelay = 30 * time.Second

// SwitchedActiveReason is the event of the active Service selecting a new
// ReplicaSet (promotion, or back to the stable one).
const SwitchedActiveReason = "SwitchedActiveService"

// blueGreenInput is what the blue-green decision looks at besides the
// status.
type blueGreenInput struct {
	// Hash is the current template's pod-template hash.
	Hash    string
	Desired int32
	// Preview is how many replicas the new ReplicaSet runs before
	// promotion: previewReplicaCount, or Desired.
	Preview int32
	// AutoPromotion is autoPromotionEnabled (true when unset), and
	// AutoPromotionAfter autoPromotionSeconds; with AutoPromotion false
	// the rollout pauses until promoted and AutoPromotionAfter is ignored,
	// as in Argo Rollouts.
	AutoPromotion      bool
	AutoPromotionAfter time.Duration
	// Paused is spec.paused.
	Paused                      bool
	PrePromotion, PostPromotion *v1alpha1.RolloutAnalysis
	// New is the observed new ReplicaSet; NewSettled says its status
	// describes its spec.
	New        rsCounts
	NewSettled bool
	Now        time.Time
}

// blueGreenVerdict is what a blue-green does in this reconcile.
type blueGreenVerdict struct {
	// NewTarget and StableTarget are the replicas of the new and the
	// stable ReplicaSet.
	NewTarget, StableTarget int32
	// Active and Preview are the hashes the active and preview Services
	// select.
	Active, Preview string
	// Pause is status.message while paused, Aborted says the update is
	// aborted, Message what a progressing rollout waits for.
	Pause   string
	Aborted bool
	Message string
	// Analyzing: the update waits for a pre- or post-promotion analysis
	// to decide, which the progress deadline does not count.
	Analyzing bool
	// Promote makes the new ReplicaSet the stable one.
	Promote bool
	// Requeue is when autoPromotionSeconds end.
	Requeue time.Duration
}

// restartBlueGreen starts a blue-green over for a template the status does
// not describe yet: no pause, no abort, no promoteFull, no analyses. The
// active Service goes back to the stable ReplicaSet if a post-promotion
// analysis of the replaced template was running: stableRS only ever names
// a ReplicaSet whose analyses passed.
func restartBlueGreen(st *v1alpha1.RolloutStatus, hash string) bool {
	if st.CurrentPodHash == hash {
		return false
	}
	st.CurrentPodHash = hash
	st.PauseConditions, st.ControllerPause = nil, false
	st.Abort, st.AbortedAt, st.PromoteFull = false, nil, false
	bg := &st.BlueGreen
	bg.ScaleUpPreviewCheckPoint = false
	bg.PrePromotionAnalysisRunStatus, bg.PostPromotionAnalysisRunStatus = nil, nil
	if st.StableRS != "" {
		bg.ActiveSelector = st.StableRS
	}
	return true
}

// decideBlueGreen is the blue-green's state machine, a pure function of the
// status (which it updates: active selector, pause conditions, abort) and
// what was observed, following Argo Rollouts' order: the preview
// ReplicaSet scales to previewReplicaCount, the pre-promotion analysis
// runs once it is available, then the rollout pauses (autoPromotionEnabled
// false, or autoPromotionSeconds), the preview scales to full size, the
// active Service switches, the post-promotion analysis runs and the new
// ReplicaSet becomes stable. The first template is active and stable at
// once. A failed analysis or status.abort leaves (or puts) the active
// Service on the stable ReplicaSet and scales the new one down.
func decideBlueGreen(st *v1alpha1.RolloutStatus, in blueGreenInput, analyze analyzeFunc) (blueGreenVerdict, error) {
	bg := &st.BlueGreen
	if st.StableRS == "" {
		st.StableRS = in.Hash
	}
	if bg.ActiveSelector == "" {
		bg.ActiveSelector = st.StableRS
	}
	if !st.Abort {
		st.AbortedAt = nil
	}
	if st.StableRS == in.Hash {
		// Nothing to roll out (the first template, a finished rollout, or
		// a template back to the stable one): everything selects it.
		bg.ActiveSelector, bg.ScaleUpPreviewCheckPoint = in.Hash, false
		st.PauseConditions, st.ControllerPause, st.PromoteFull = nil, false, false
		return blueGreenVerdict{NewTarget: in.Desired, Active: in.Hash, Preview: in.Hash}, nil
	}
	if st.Abort {
		return blueGreenAbort(st, in, abortCause(st)), nil
	}
	if st.PromoteFull {
		st.PauseConditions, st.ControllerPause = nil, false
	}
	if bg.ActiveSelector != in.Hash {
		v, ready, err := beforeSwitch(st, in, analyze)
		if err != nil || !ready || v.Aborted {
			return v, err
		}
		bg.ActiveSelector = in.Hash
		st.PauseConditions, st.ControllerPause = nil, false
	}
	v := blueGreenVerdict{NewTarget: in.Desired, StableTarget: in.Desired, Active: in.Hash, Preview: in.Hash}
	if in.PostPromotion != nil && !st.PromoteFull {
		done, err := blueGreenAnalysis(st, PostPromotionPurpose, in.PostPromotion, in.Now, analyze, &v)
		if v.Aborted {
			return blueGreenAbort(st, in, v.Message), nil
		}
		if err != nil || !done {
			return v, err
		}
	}
	v.Promote = true
	st.PromoteFull, bg.ScaleUpPreviewCheckPoint = false, false
	return v, nil
}

// beforeSwitch runs what comes before the active Service's switch, and
// reports whether the switch may happen now: the preview ReplicaSet
// available at its size, spec.paused off, the pre-promotion analysis
// successful and the blue-green pause over (promoteFull skips both), then
// the preview at full size. Every check is asked again on every reconcile
// until the switch; each is idempotent (the analysis is one AnalysisRun,
// the pause one condition).
func beforeSwitch(st *v1alpha1.RolloutStatus, in blueGreenInput, analyze analyzeFunc) (blueGreenVerdict, bool, error) {
	bg := &st.BlueGreen
	v := blueGreenVerdict{NewTarget: in.Preview, StableTarget: in.Desired, Active: bg.ActiveSelector, Preview: in.Hash}
	if st.PromoteFull || bg.ScaleUpPreviewCheckPoint {
		v.NewTarget = in.Desired
	}
	if !available(in, v.NewTarget) {
		v.Message = fmt.Sprintf("waiting for %d preview replicas to be available: %d of %d",
			v.NewTarget, in.New.Available, v.NewTarget)
		return v, false, nil
	}
	if st.PromoteFull {
		return v, true, nil
	}
	if in.Paused {
		v.Pause = manualPauseMessage
		return v, false, nil
	}
	if in.PrePromotion != nil {
		done, err := blueGreenAnalysis(st, PrePromotionPurpose, in.PrePromotion, in.Now, analyze, &v)
		if v.Aborted {
			return blueGreenAbort(st, in, v.Message), false, nil
		}
		if err != nil || !done {
			return v, false, err
		}
	}
	if !promotionGate(st, in, &v) {
		return v, false, nil
	}
	if v.NewTarget < in.Desired {
		// Argo Rollouts' checkpoint: once set, the preview stays at full
		// size until the switch, whatever the pause conditions say.
		bg.ScaleUpPreviewCheckPoint = true
		v.NewTarget = in.Desired
		v.Message = fmt.Sprintf("scaling the preview ReplicaSet to %d replicas for promotion", in.Desired)
		return v, false, nil
	}
	return v, true, nil
}

// promotionGate is the blue-green pause: with autoPromotionEnabled false
// the rollout pauses (pause condition BlueGreenPause) until promoted, that
// is until the condition is removed; with autoPromotionSeconds it pauses
// that long and goes on by itself. It reports whether promotion may go on.
// Promoting past an inconclusive pre-promotion analysis promotes past this
// pause too: both are the one removal of status.pauseConditions that
// kubectl-argo-rollouts promote does.
func promotionGate(st *v1alpha1.RolloutStatus, in blueGreenInput, v *blueGreenVerdict) bool {
	if in.AutoPromotion && in.AutoPromotionAfter <= 0 {
		return true
	}
	cond := pauseCondition(st, v1alpha1.PauseReasonBlueGreenPause)
	switch {
	case cond == nil && st.ControllerPause:
		// Promoted: the controller paused and the condition was removed.
		return true
	case cond == nil:
		st.PauseConditions = append(st.PauseConditions,
			v1alpha1.PauseCondition{Reason: v1alpha1.PauseReasonBlueGreenPause, StartTime: metav1.Time{Time: in.Now}})
		st.ControllerPause = true
		cond = &st.PauseConditions[len(st.PauseConditions)-1]
	}
	if in.AutoPromotion {
		left := cond.StartTime.Add(in.AutoPromotionAfter).Sub(in.Now)
		if left <= 0 {
			removePauseCondition(st, v1alpha1.PauseReasonBlueGreenPause)
			return true
		}
		v.Requeue = left
	}
	v.Pause = string(v1alpha1.PauseReasonBlueGreenPause)
	return false
}

// blueGreenAnalysis runs one of the blue-green's analyses through the
// canary's analysis handling (Inconclusive pauses, Failed and Error abort),
// with messages that name the analysis.
func blueGreenAnalysis(st *v1alpha1.RolloutStatus, purpose string, a *v1alpha1.RolloutAnalysis, now time.Time, analyze analyzeFunc, v *blueGreenVerdict) (bool, error) {
	if analyze == nil {
		v.Message = purpose + " analysis is waiting: this rollout-controller runs no analysis"
		return false, nil
	}
	var cv canaryVerdict
	done, err := analysisDone(st, purpose, a, now, analyze, &cv)
	v.Pause, v.Aborted, v.Analyzing = cv.Pause, cv.Aborted, cv.Analyzing
	if cv.Message != "" {
		v.Message = purpose + " " + cv.Message
	}
	return done, err
}

// blueGreenAbort is the verdict of an aborted update: the active and the
// preview Service on the stable ReplicaSet, which runs every replica, and
// the new ReplicaSet scaled to zero. A retry clears status.abort and
// starts again from the preview.
func blueGreenAbort(st *v1alpha1.RolloutStatus, in blueGreenInput, why string) blueGreenVerdict {
	if st.AbortedAt == nil {
		st.AbortedAt = &metav1.Time{Time: in.Now}
	}
	st.PauseConditions, st.ControllerPause = nil, false
	st.BlueGreen.ActiveSelector, st.BlueGreen.ScaleUpPreviewCheckPoint = st.StableRS, false
	return blueGreenVerdict{NewTarget: 0, StableTarget: in.Desired, Active: st.StableRS, Preview: st.StableRS,
		Aborted: true, Message: why + "; the active Service selects the stable ReplicaSet and the preview is scaled down"}
}

// abortCause says why an aborted blue-green was aborted: the analysis
// that failed, in the words of the reconcile that aborted it, or a user.
func abortCause(st *v1alpha1.RolloutStatus) string {
	for _, a := range []struct {
		purpose string
		run     *v1alpha1.RolloutAnalysisRunStatus
	}{
		{PrePromotionPurpose, st.BlueGreen.PrePromotionAnalysisRunStatus},
		{PostPromotionPurpose, st.BlueGreen.PostPromotionAnalysisRunStatus},
	} {
		if a.run != nil && (a.run.Status == v1alpha1.AnalysisPhaseFailed || a.run.Status == v1alpha1.AnalysisPhaseError) {
			return fmt.Sprintf("%s analysis %s: %s", a.purpose, a.run.Status, runMessage(a.run))
		}
	}
	return "the update was aborted"
}

// available reports whether the new ReplicaSet runs target replicas, all
// of them available.
func available(in blueGreenInput, target int32) bool {
	return in.NewSettled && in.New.Spec == target && in.New.Available >= target
}

// scaleDownAt is a ReplicaSet's scale-down deadline, if it has one that
// parses.
func scaleDownAt(rs *appsv1.ReplicaSet) (time.Time, bool) {
	v, ok := rs.Annotations[ScaleDownDeadlineAnnotation]
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v)
	return t, err == nil
}

// delayedScaleDown is the replicas of a ReplicaSet that is neither new,
// stable nor active: its current replicas until its scale-down deadline
// (and how long until then), zero after it or without one.
func delayedScaleDown(rs *appsv1.ReplicaSet, now time.Time) (int32, time.Duration) {
	if at, ok := scaleDownAt(rs); ok && at.After(now) {
		return specReplicas(rs), at.Sub(now)
	}
	return 0, 0
}

// blueGreenInputOf reads the decision's input from the spec and the new
// ReplicaSet.
func blueGreenInputOf(s *scope) blueGreenInput {
	ro := s.ro
	bg := ro.Spec.Strategy.BlueGreen
	desired := ro.GetReplicas()
	in := blueGreenInput{
		Hash: s.hash, Desired: desired, Preview: desired,
		AutoPromotion:      ptr.Deref(bg.AutoPromotionEnabled, true),
		AutoPromotionAfter: time.Duration(bg.AutoPromotionSeconds) * time.Second,
		Paused:             ro.Spec.Paused,
		PrePromotion:       bg.PrePromotionAnalysis, PostPromotion: bg.PostPromotionAnalysis,
		New: countsOf(s.newRS), NewSettled: settled(s.newRS), Now: s.now,
	}
	if bg.PreviewReplicaCount != nil {
		in.Preview = min(*bg.PreviewReplicaCount, desired)
	}
	return in
}

// rollOutBlueGreen runs the blue-green strategy: it restarts for a new
// template, lets decideBlueGreen say where the rollout stands, points the
// Services at their ReplicaSets (first, so that no Service selects a
// ReplicaSet that is about to be scaled down), stamps the scale-down
// deadline on the ReplicaSet a promotion replaces, and scales the
// ReplicaSets.
func (r *Reconciler) rollOutBlueGreen(ctx context.Context, s *scope) error {
	ro := s.ro
	st := &ro.Status
	restartBlueGreen(st, s.hash)
	var analyze analyzeFunc
	if r.Analysis != nil {
		analyze = func(purpose string, a *v1alpha1.RolloutAnalysis) (v1alpha1.AnalysisPhase, string, error) {
			return r.Analysis.Analyze(ctx, ro, purpose, a)
		}
	}
	activeBefore := st.BlueGreen.ActiveSelector
	v, err := decideBlueGreen(st, blueGreenInputOf(s), analyze)
	if err != nil {
		return err
	}
	s.pause, s.aborted, s.message, s.requeue = v.Pause, v.Aborted, v.Message, v.Requeue
	s.analyzing = v.Analyzing
	if st.StableRS == s.hash {
		s.stableRS = s.newRS
	}
	if err := r.syncBlueGreenServices(ctx, s, v); err != nil {
		return err
	}
	if activeBefore != "" && activeBefore != st.BlueGreen.ActiveSelector {
		r.Finisher.Event(ro, "", corev1.EventTypeNormal, SwitchedActiveReason,
			fmt.Sprintf("active Service %s selects ReplicaSet %s-%s", ro.Spec.Strategy.BlueGreen.ActiveService,
				ro.Name, st.BlueGreen.ActiveSelector))
	}
	if v.Promote && st.StableRS != s.hash {
		if old := s.stableRS; old != nil && old != s.newRS {
			if err := r.setScaleDownDeadline(ctx, old, s.now.Add(scaleDownDelay(ro))); err != nil {
				return err
			}
		}
		st.StableRS = s.hash
		s.stableRS = s.newRS
		r.Finisher.Event(ro, "", corev1.EventTypeNormal, PromotedReason,
			fmt.Sprintf("ReplicaSet %s is promoted to stable", s.newRS.Name))
	}
	return r.scaleBlueGreen(ctx, s, v)
}

// activeScale is the scale subresource's view of a blue-green: the pods
// and the selector of the ReplicaSet the active Service selects, as Argo
// Rollouts reports them, so that an autoscaler counts the pods that take
// the traffic and not a preview or an old ReplicaSet waiting to go.
func activeScale(s *scope) (int32, string) {
	hash := s.ro.Status.BlueGreen.ActiveSelector
	sel := s.selector.DeepCopy()
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	replicas := int32(0)
	for _, rs := range append([]*appsv1.ReplicaSet{s.newRS}, s.olds...) {
		if rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == hash {
			replicas = rs.Status.Replicas
		}
	}
	return replicas, metav1.FormatLabelSelector(sel)
}

// scaleDownDelay is scaleDownDelaySeconds, 30 s when unset.
func scaleDownDelay(ro *v1alpha1.Rollout) time.Duration {
	if d := ro.Spec.Strategy.BlueGreen.ScaleDownDelaySeconds; d != nil {
		return time.Duration(*d) * time.Second
	}
	return defaultScaleDownDelay
}

// syncBlueGreenServices points the active and the preview Service at the
// verdict's hashes and records them in status.blueGreen.
func (r *Reconciler) syncBlueGreenServices(ctx context.Context, s *scope, v blueGreenVerdict) error {
	bg := s.ro.Spec.Strategy.BlueGreen
	if err := r.selectHash(ctx, s.ro, bg.ActiveService, v.Active); err != nil {
		return err
	}
	s.ro.Status.BlueGreen.ActiveSelector = v.Active
	s.ro.Status.BlueGreen.PreviewSelector = ""
	if bg.PreviewService == "" {
		return nil
	}
	if err := r.selectHash(ctx, s.ro, bg.PreviewService, v.Preview); err != nil {
		return err
	}
	s.ro.Status.BlueGreen.PreviewSelector = v.Preview
	return nil
}

// scaleBlueGreen scales the new and the stable ReplicaSet to the verdict's
// targets and every other ReplicaSet to zero once its scale-down deadline
// has passed (at once without one: a replaced preview never served the
// active Service), scale-ups first. A ReplicaSet that is new or stable
// again loses its deadline. The earliest deadline still ahead wakes the
// rollout.
func (r *Reconciler) scaleBlueGreen(ctx context.Context, s *scope, v blueGreenVerdict) error {
	type target struct {
		rs   *appsv1.ReplicaSet
		n    int32
		keep bool
	}
	targets := []target{{s.newRS, v.NewTarget, true}}
	if s.stableRS != nil && s.stableRS != s.newRS {
		targets = append(targets, target{s.stableRS, v.StableTarget, true})
	}
	for _, rs := range s.otherRSs() {
		n, left := delayedScaleDown(rs, s.now)
		if left > 0 && (s.wake == 0 || left < s.wake) {
			s.wake = left
		}
		targets = append(targets, target{rs, n, false})
	}
	for _, t := range targets {
		if _, ok := t.rs.Annotations[ScaleDownDeadlineAnnotation]; ok && t.keep {
			if err := r.setScaleDownDeadline(ctx, t.rs, time.Time{}); err != nil {
				return err
			}
		}
	}
	for _, up := range []bool{true, false} {
		for _, t := range targets {
			if cur := specReplicas(t.rs); (t.n > cur) == up && t.n != cur {
				if err := r.scaleReplicaSet(ctx, s.ro, t.rs, t.n); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// setScaleDownDeadline sets a ReplicaSet's scale-down deadline, or removes
// it for the zero time, patching only that annotation.
func (r *Reconciler) setScaleDownDeadline(ctx context.Context, rs *appsv1.ReplicaSet, at time.Time) error {
	base := rs.DeepCopy()
	if at.IsZero() {
		delete(rs.Annotations, ScaleDownDeadlineAnnotation)
	} else {
		if rs.Annotations == nil {
			rs.Annotations = map[string]string{}
		}
		rs.Annotations[ScaleDownDeadlineAnnotation] = at.UTC().Format(time.RFC3339)
	}
	if err := r.Client.Patch(ctx, rs, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("setting the scale-down deadline of ReplicaSet '%s': %w", rs.Name, err)
	}
	return nil
}
