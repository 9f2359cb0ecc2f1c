package rollout

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// Reasons of the Ready condition and of Argo Rollouts' conditions, with
// Argo Rollouts' names.
const (
	// HealthyReason: fully promoted and every replica available.
	HealthyReason = "RolloutHealthy"
	// ReplicaSetUpdatedReason: the rollout is moving to its current
	// template.
	ReplicaSetUpdatedReason = "ReplicaSetUpdated"
	// NewReplicaSetAvailableReason: the current template's ReplicaSet is
	// the stable one and fully available.
	NewReplicaSetAvailableReason = "NewReplicaSetAvailable"
	// PausedReason: a pause step, spec.paused or an inconclusive analysis
	// holds the rollout.
	PausedReason = "RolloutPaused"
	// ProgressDeadlineExceededReason: the rollout made no progress for
	// spec.progressDeadlineSeconds.
	ProgressDeadlineExceededReason = "ProgressDeadlineExceeded"
	// AbortedReason: the update was aborted; the stable ReplicaSet runs
	// everything again.
	AbortedReason = "RolloutAborted"
	// AvailableReason: at least spec.replicas pods are available.
	AvailableReason = "AvailableReason"
	// CompletedReason: every pod runs the current template.
	CompletedReason = "RolloutCompleted"
	// NewReplicaSetReason and ScalingReplicaSetReason are the events of
	// creating and scaling ReplicaSets.
	NewReplicaSetReason     = "NewReplicaSetCreated"
	ScalingReplicaSetReason = "ScalingReplicaSet"
	// PromotedReason is the event of a canary becoming the stable
	// ReplicaSet.
	PromotedReason = "RolloutPromoted"
)

// OwnedConditions are the condition types the rollout-controller writes on
// a Rollout.
var OwnedConditions = []string{
	meta.ReadyCondition, meta.ReconcilingCondition, meta.StalledCondition,
	v1alpha1.RolloutProgressing, v1alpha1.RolloutAvailable, v1alpha1.RolloutPaused,
	v1alpha1.RolloutHealthy, v1alpha1.RolloutCompleted,
}

// counts sums the observed replicas of the rollout's ReplicaSets.
func counts(s *scope) (replicas, updated, ready, available int32) {
	for _, rs := range append([]*appsv1.ReplicaSet{s.newRS}, s.olds...) {
		replicas += rs.Status.Replicas
		ready += rs.Status.ReadyReplicas
		available += rs.Status.AvailableReplicas
	}
	return replicas, s.newRS.Status.Replicas, ready, available
}

// settled reports whether a ReplicaSet's status describes its current
// spec.
func settled(rs *appsv1.ReplicaSet) bool {
	return rs.Status.ObservedGeneration >= rs.Generation
}

// report writes the replica counts, hashes, phase, message and conditions
// and ends the reconcile: nil (Ready True) when Healthy, a Progress result
// (Ready Unknown, Reconciling) while Progressing or Paused, a stall (Ready
// False, Stalled) when Degraded.
func (r *Reconciler) report(s *scope) error {
	ro := s.ro
	st := &ro.Status
	desired := ro.GetReplicas()
	st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas = counts(s)
	st.HPAReplicas = st.Replicas
	st.CurrentPodHash = s.hash
	st.Selector = metav1.FormatLabelSelector(s.selector)
	if ro.Spec.Strategy.BlueGreen != nil {
		st.HPAReplicas, st.Selector = activeScale(s)
	}

	setCondition(ro, v1alpha1.RolloutAvailable, st.AvailableReplicas >= desired, AvailableReason,
		fmt.Sprintf("%d of %d replicas are available", st.AvailableReplicas, desired))
	updated := st.UpdatedReplicas == desired && settled(s.newRS)
	completed := updated && st.Replicas == desired
	setCondition(ro, v1alpha1.RolloutCompleted, completed, CompletedReason,
		fmt.Sprintf("%d of %d replicas run the current template", st.UpdatedReplicas, desired))
	// A blue-green's old ReplicaSet that waits out its scale-down delay
	// serves no Service: the rollout is healthy meanwhile, as Argo
	// Rollouts reports it.
	done := completed || updated && ro.Spec.Strategy.BlueGreen != nil

	healthy := !s.aborted && s.pause == "" && st.StableRS == s.hash && done &&
		s.newRS.Status.AvailableReplicas == desired && ptr.Deref(s.newRS.Spec.Replicas, 1) == desired
	switch {
	case s.aborted:
		st.Phase, st.Message = v1alpha1.RolloutPhaseDegraded, AbortedReason+": "+s.message
		r.setProgressConditions(ro, metav1.ConditionFalse, AbortedReason, s.message, false)
		return outcome.StallErr(AbortedReason, fmt.Errorf("rollout aborted: %s", s.message))
	case s.pause != "":
		st.Phase, st.Message = v1alpha1.RolloutPhasePaused, s.pause
		msg := s.message
		if msg == "" {
			msg = pauseMessage(s)
		}
		r.setProgressConditions(ro, metav1.ConditionTrue, PausedReason, msg, false)
		return outcome.ProgressErr(PausedReason, s.requeue, fmt.Errorf("rollout is paused: %s", msg))
	case healthy:
		st.Phase, st.Message = v1alpha1.RolloutPhaseHealthy, ""
		msg := fmt.Sprintf("ReplicaSet %s is fully available with %d replicas", s.newRS.Name, desired)
		r.setProgressConditions(ro, metav1.ConditionTrue, NewReplicaSetAvailableReason, msg, true)
		conditions.MarkTrue(ro, meta.ReadyCondition, HealthyReason, "rollout is healthy: %s", msg)
		return nil
	default:
		msg := s.message
		if msg == "" {
			msg = progressMessage(st, desired)
		}
		stuck, left := false, time.Duration(0)
		if !s.analyzing {
			// An analysis takes as long as its metrics say: the deadline
			// does not run meanwhile, as in Argo Rollouts.
			stuck, left = progressDeadline(s, msg)
		}
		if stuck {
			text := fmt.Sprintf("ReplicaSet %q has timed out progressing: %s", s.newRS.Name, msg)
			st.Phase, st.Message = v1alpha1.RolloutPhaseDegraded, ProgressDeadlineExceededReason+": "+text
			r.setProgressConditions(ro, metav1.ConditionFalse, ProgressDeadlineExceededReason, text, false)
			return outcome.StallErr(ProgressDeadlineExceededReason, errors.New(text))
		}
		if left > 0 && (s.requeue == 0 || left < s.requeue) {
			s.requeue = left
		}
		st.Phase, st.Message = v1alpha1.RolloutPhaseProgressing, msg
		r.setProgressConditions(ro, metav1.ConditionTrue, ReplicaSetUpdatedReason, msg, false)
		return outcome.ProgressErr(ReplicaSetUpdatedReason, s.requeue, fmt.Errorf("rollout is progressing: %s", msg))
	}
}

// progressDeadline reports whether a progressing rollout has made no
// progress for spec.progressDeadlineSeconds (600 when unset), and else how
// long it has left. Progress is a change of what the rollout waits for:
// the Progressing condition's message carries the replica counts, so its
// lastTransitionTime is the last time they moved. Pauses do not count, as
// in Argo Rollouts. A rollout past its deadline stays Degraded until its
// counts move again.
func progressDeadline(s *scope, msg string) (bool, time.Duration) {
	deadline := time.Duration(ptr.Deref(s.ro.Spec.ProgressDeadlineSeconds, 600)) * time.Second
	c := conditions.Get(s.ro, v1alpha1.RolloutProgressing)
	switch {
	case c == nil:
		return false, deadline
	case c.Reason == ProgressDeadlineExceededReason:
		return strings.HasSuffix(c.Message, ": "+msg), deadline
	case c.Reason == ReplicaSetUpdatedReason && c.Message == msg:
		since := s.now.Sub(c.LastTransitionTime.Time)
		if since >= deadline {
			return true, 0
		}
		return false, deadline - since
	}
	return false, deadline
}

// pauseMessage says where a paused rollout stands and how it goes on.
func pauseMessage(s *scope) string {
	st := &s.ro.Status
	where := ""
	if st.CurrentStepIndex != nil && s.ro.Spec.Strategy.Canary != nil {
		where = fmt.Sprintf(" at step %d/%d", *st.CurrentStepIndex+1, len(s.ro.Spec.Strategy.Canary.Steps))
	}
	switch {
	case s.pause == manualPauseMessage:
		return "paused by spec.paused" + where + ": set it to false to resume"
	case s.requeue > 0:
		return fmt.Sprintf("%s%s: resumes in %s", s.pause, where, s.requeue.Round(time.Second))
	default:
		return fmt.Sprintf("%s%s: promote to resume", s.pause, where)
	}
}

// progressMessage says what a progressing rollout waits for, in the words
// of Argo Rollouts' messages.
func progressMessage(st *v1alpha1.RolloutStatus, desired int32) string {
	switch {
	case st.UpdatedReplicas < desired:
		return fmt.Sprintf("more replicas need to be updated: %d of %d", st.UpdatedReplicas, desired)
	case st.AvailableReplicas < st.UpdatedReplicas || st.AvailableReplicas < desired:
		return fmt.Sprintf("updated replicas are still becoming available: %d of %d", st.AvailableReplicas, desired)
	case st.Replicas > st.UpdatedReplicas:
		return fmt.Sprintf("old replicas are pending termination: %d", st.Replicas-st.UpdatedReplicas)
	default:
		return "waiting for the rollout to finish"
	}
}

// setProgressConditions sets Progressing, Paused and Healthy together, so
// they never disagree.
func (r *Reconciler) setProgressConditions(ro *v1alpha1.Rollout, progressing metav1.ConditionStatus, reason, msg string, healthy bool) {
	conditions.Set(ro, &metav1.Condition{Type: v1alpha1.RolloutProgressing, Status: progressing, Reason: reason, Message: msg})
	setCondition(ro, v1alpha1.RolloutPaused, reason == PausedReason, PausedReason, msg)
	setCondition(ro, v1alpha1.RolloutHealthy, healthy, HealthyReason, msg)
}

// setCondition sets a True/False condition with one reason.
func setCondition(ro *v1alpha1.Rollout, t string, ok bool, reason, msg string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	if msg == "" {
		msg = reason
	}
	conditions.Set(ro, &metav1.Condition{Type: t, Status: status, Reason: reason, Message: msg})
}
