package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// Analyzer runs the analyses a rollout asks for. Each is one AnalysisRun
// per purpose and revision (pod-template hash) of the rollout: purpose says
// what it is for, "step-<index>" for a canary step, "background" for
// strategy.canary.analysis, "pre-promotion" and "post-promotion" for a
// blue-green's. Analyze starts the run if there is none yet, records it in
// the status (status.canary.currentStepAnalysisRunStatus and the others),
// and reports the run's phase (Pending or Running while undecided) and a
// message that names the deciding metric and its value. The caller holds
// while the phase is not completed, goes on when Successful, pauses on
// Inconclusive and aborts on Failed or Error. Reconciler.Analysis nil holds
// every analysis.
type Analyzer interface {
	Analyze(ctx context.Context, ro *v1alpha1.Rollout, purpose string, a *v1alpha1.RolloutAnalysis) (v1alpha1.AnalysisPhase, string, error)
}

// StepPurpose is the Analyzer purpose of the analysis of canary step index.
func StepPurpose(index int32) string { return fmt.Sprintf("step-%d", index) }

// TrafficRouter sets the canary's traffic weight in the router that
// spec.strategy.canary.trafficRouting configures (the Gateway API plugin's
// HTTPRoute): weight percent to canaryService, the rest to stableService.
// It is called on every reconcile of a rollout with traffic routing, with
// the weight the current step says (0 when aborted, 100 once all steps are
// done), and returns whether the router applied it. Reconciler.Traffic nil
// stalls such rollouts.
type TrafficRouter interface {
	SetWeight(ctx context.Context, ro *v1alpha1.Rollout, weight int32) (verified bool, err error)
}

// TrafficRoutingUnavailableReason: a rollout asks for traffic routing and
// this controller has no router.
const TrafficRoutingUnavailableReason = "TrafficRoutingUnavailable"

// TrafficWeightUpdatedReason is the event of the router's canary weight
// changing, named as Argo Rollouts names it.
const TrafficWeightUpdatedReason = "TrafficWeightUpdated"

// analyzeFunc is Analyzer bound to one reconcile.
type analyzeFunc func(purpose string, a *v1alpha1.RolloutAnalysis) (v1alpha1.AnalysisPhase, string, error)

// manualPauseMessage is Argo Rollouts' status.message of a rollout paused
// by spec.paused.
const manualPauseMessage = "manually paused"

// canaryInput is what the canary's decision looks at besides the status.
type canaryInput struct {
	Steps []v1alpha1.CanaryStep
	// Paused is spec.paused.
	Paused bool
	// TrafficRouting: weights go to a router, so the stable keeps all its
	// replicas and setCanaryScale decides the canary's.
	TrafficRouting bool
	Desired        int32
	// Surge: maxSurge allows a pod over Desired, so weights may be
	// approximated with one.
	Surge bool
	// Canary and Stable are the observed new and stable ReplicaSets
	// (Stable nil when the new one is the stable one); CanarySettled says
	// the canary's status describes its spec.
	Canary        rsCounts
	Stable        *rsCounts
	CanarySettled bool
	// Background is spec.strategy.canary.analysis.
	Background *v1alpha1.RolloutAnalysisBackground
	Now        time.Time
}

// canaryVerdict is what the canary does in this reconcile.
type canaryVerdict struct {
	// CanaryTarget and StableTarget are the replica targets.
	CanaryTarget, StableTarget int32
	// Weight is the canary's traffic weight (percent).
	Weight int32
	// Pause is status.message while paused, Aborted says the update is
	// aborted, Message what a progressing rollout waits for.
	Pause   string
	Aborted bool
	Message string
	// Promote makes the canary the stable ReplicaSet.
	Promote bool
	// Requeue is when a timed pause ends.
	Requeue time.Duration
	// Analyzing: the steps wait for an analysis to decide.
	Analyzing bool
}

// stepsHash is status.currentStepHash: a change of the steps restarts
// them, as a change of the template does.
func stepsHash(steps []v1alpha1.CanaryStep) string {
	data, _ := json.Marshal(steps)
	h := fnv.New32a()
	_, _ = h.Write(data)
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// restartIfChanged starts the steps over for a template (hash) or steps
// (stepHash) the status does not describe yet: step 0, no pause, no
// abort, no promoteFull. A template equal to the stable one needs no
// steps: it is the stable one (a rollback to stable is immediate).
func restartIfChanged(st *v1alpha1.RolloutStatus, hash, stepHash string, steps int) bool {
	if st.CurrentPodHash == hash && st.CurrentStepHash == stepHash && st.CurrentStepIndex != nil {
		return false
	}
	index := int32(0)
	if st.StableRS == "" || st.StableRS == hash {
		index = int32(steps)
	}
	st.CurrentStepIndex = &index
	st.CurrentStepHash = stepHash
	st.PauseConditions = nil
	st.ControllerPause = false
	st.Abort = false
	st.AbortedAt = nil
	st.PromoteFull = false
	st.Canary.CurrentStepAnalysisRunStatus = nil
	st.Canary.CurrentBackgroundAnalysisRunStatus = nil
	return true
}

// decideCanary is the canary's step machine, a pure function of the status
// (which it updates: step index, pause conditions, abort) and what was
// observed. It moves through every step that is already done in one call,
// and stops at the first that is not: replicas not yet at a weight, a
// pause, an undecided analysis. analyze is asked only about the step the
// rollout stops at.
func decideCanary(st *v1alpha1.RolloutStatus, in canaryInput, analyze analyzeFunc) (canaryVerdict, error) {
	n := int32(len(in.Steps))
	if st.Abort {
		return abort(st, in, abortReason(st)), nil
	}
	// Retried (status.abort cleared): the abort's time goes with it, as
	// Argo Rollouts clears it.
	st.AbortedAt = nil
	if st.PromoteFull {
		st.CurrentStepIndex = ptrInt32(n)
		st.PauseConditions, st.ControllerPause = nil, false
		st.Canary.CurrentStepAnalysisRunStatus = nil
	}
	var bg canaryVerdict
	if hold, err := backgroundAnalysis(st, in, analyze, &bg); bg.Aborted {
		return abort(st, in, bg.Message), nil
	} else if err != nil || hold {
		v := weightsAt(in, *st.CurrentStepIndex)
		v.Pause, v.Message = bg.Pause, bg.Message
		return v, err
	}
	for {
		index := *st.CurrentStepIndex
		v := weightsAt(in, index)
		if index >= n {
			// Every step is done: the canary takes everything and becomes
			// stable once all its replicas are available.
			v.Promote = reached(in, v)
			if v.Promote {
				// Promoted: the background analysis is over.
				st.PromoteFull = false
				st.Canary.CurrentBackgroundAnalysisRunStatus = nil
			}
			return v, nil
		}
		if in.Paused {
			v.Pause = manualPauseMessage
			return v, nil
		}
		step := in.Steps[index]
		switch {
		case step.SetWeight != nil || step.SetCanaryScale != nil:
			if !reached(in, v) {
				v.Message = fmt.Sprintf("step %d/%d: waiting for %d canary and %d stable replicas to be available",
					index+1, n, v.CanaryTarget, v.StableTarget)
				return v, nil
			}
		case step.Pause != nil:
			done, err := pauseDone(st, step.Pause, in.Now, &v)
			if err != nil || !done {
				return v, err
			}
		case step.Analysis != nil:
			done, err := analysisDone(st, StepPurpose(index), step.Analysis, in.Now, analyze, &v)
			if v.Aborted {
				return abort(st, in, v.Message), nil
			}
			if err != nil || !done {
				return v, err
			}
		}
		st.CurrentStepIndex = ptrInt32(index + 1)
		st.ControllerPause = false
		st.Canary.CurrentStepAnalysisRunStatus = nil
	}
}

// abort is the verdict of an aborted update: no canary, every replica on
// the stable ReplicaSet, the steps back at 0 for a retry (which clears
// status.abort).
func abort(st *v1alpha1.RolloutStatus, in canaryInput, why string) canaryVerdict {
	if st.AbortedAt == nil {
		st.AbortedAt = &metav1.Time{Time: in.Now}
	}
	st.PauseConditions, st.ControllerPause = nil, false
	st.CurrentStepIndex = ptrInt32(0)
	return canaryVerdict{CanaryTarget: 0, StableTarget: in.Desired, Aborted: true,
		Message: why + "; all traffic and replicas are back on the stable ReplicaSet"}
}

// pauseDone handles a pause step: the first time it adds a CanaryPauseStep
// pause condition; it is done when its duration has passed or when the
// condition was removed (promoted) while the controller had paused.
func pauseDone(st *v1alpha1.RolloutStatus, p *v1alpha1.RolloutPause, now time.Time, v *canaryVerdict) (bool, error) {
	var d time.Duration
	timed := p.Duration != nil
	if timed {
		var ok bool
		if d, ok = p.DurationSeconds(); !ok {
			return false, outcome.StallErr(InvalidSpecReason,
				fmt.Errorf("pause duration %q is neither a number of seconds nor a duration with unit s, m or h", p.Duration.String()))
		}
	}
	cond := pauseCondition(st, v1alpha1.PauseReasonCanaryPauseStep)
	switch {
	case cond == nil && st.ControllerPause:
		return true, nil
	case cond == nil:
		st.PauseConditions = append(st.PauseConditions,
			v1alpha1.PauseCondition{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.Time{Time: now}})
		st.ControllerPause = true
		cond = &st.PauseConditions[len(st.PauseConditions)-1]
	}
	if timed {
		if left := cond.StartTime.Add(d).Sub(now); left > 0 {
			v.Requeue = left
		} else {
			removePauseCondition(st, v1alpha1.PauseReasonCanaryPauseStep)
			return true, nil
		}
	}
	v.Pause = string(v1alpha1.PauseReasonCanaryPauseStep)
	return false, nil
}

// weightsAt is the canary's weight and replica targets at step index:
// the last setWeight up to and including it (100 after the last step), and
// with traffic routing the last setCanaryScale for the canary's replicas.
func weightsAt(in canaryInput, index int32) canaryVerdict {
	n := int32(len(in.Steps))
	if index >= n {
		v := canaryVerdict{Weight: 100, CanaryTarget: in.Desired}
		if in.TrafficRouting {
			// The stable serves until the router's switch is done; it is
			// scaled down once the canary is promoted.
			v.StableTarget = in.Desired
		}
		return v
	}
	weight := int32(0)
	var scale *v1alpha1.SetCanaryScale
	for i := int32(0); i <= index; i++ {
		s := in.Steps[i]
		if s.SetWeight != nil {
			weight = *s.SetWeight
		}
		if s.SetCanaryScale != nil {
			scale = s.SetCanaryScale
			if scale.MatchTrafficWeight {
				scale = nil
			}
		}
	}
	v := canaryVerdict{Weight: weight}
	if !in.TrafficRouting {
		v.CanaryTarget, v.StableTarget = weightedCounts(in.Desired, weight, in.Surge)
		return v
	}
	// With a router the stable keeps every replica until promotion; the
	// canary runs its share of the traffic, or what setCanaryScale says.
	v.StableTarget = in.Desired
	v.CanaryTarget = ceilPercent(in.Desired, weight)
	if scale != nil {
		switch {
		case scale.Replicas != nil:
			v.CanaryTarget = *scale.Replicas
		case scale.Weight != nil:
			v.CanaryTarget = ceilPercent(in.Desired, *scale.Weight)
		}
	}
	return v
}

// trafficWeight is the weight a router gets, by Argo Rollouts' rules:
// traffic moves to a step's weight only once the canary and stable run the
// replicas of that step, and until then stays at the last setWeight before
// it (so a canary never gets more traffic than its available pods were
// sized for); a canary without an available pod gets none; on promoteFull
// the weight stays where it was until the canary runs every replica. v is
// decideCanary's verdict for st.
func trafficWeight(st *v1alpha1.RolloutStatus, in canaryInput, v canaryVerdict) int32 {
	if v.Aborted || in.Canary.Available == 0 {
		return 0
	}
	if reached(in, v) {
		return v.Weight
	}
	if st.PromoteFull {
		if st.Canary.Weights != nil {
			return st.Canary.Weights.Canary.Weight
		}
		return 0
	}
	weight := int32(0)
	for i := int32(0); i < *st.CurrentStepIndex && i < int32(len(in.Steps)); i++ {
		if w := in.Steps[i].SetWeight; w != nil {
			weight = *w
		}
	}
	return weight
}

// routedReplicas is what the ReplicaSets are scaled to with a traffic
// router: the step's targets at once, as Argo Rollouts does. maxSurge and
// maxUnavailable pace only a canary whose weight is its share of the pods;
// with a router the stable keeps every replica while the canary runs its
// share besides, which no surge limit below the canary's share would ever
// allow, and traffic follows the router's weight, not the pod counts.
// ReplicaSets that are neither go to zero: no Service selects them.
func routedReplicas(p replicaPlan) replicaResult {
	return replicaResult{Canary: p.CanaryTarget, Stable: p.StableTarget, Others: make([]int32, len(p.Others))}
}

func ceilPercent(replicas, percent int32) int32 {
	return (replicas*percent + 99) / 100
}

// reached reports whether the canary and stable run their targets with
// every one of those replicas available.
func reached(in canaryInput, v canaryVerdict) bool {
	if !in.CanarySettled || in.Canary.Spec != v.CanaryTarget || in.Canary.Available < v.CanaryTarget {
		return false
	}
	if in.Stable == nil {
		return true
	}
	return in.Stable.Spec == v.StableTarget && in.Stable.Available >= v.StableTarget
}

func pauseCondition(st *v1alpha1.RolloutStatus, reason v1alpha1.PauseReason) *v1alpha1.PauseCondition {
	for i := range st.PauseConditions {
		if st.PauseConditions[i].Reason == reason {
			return &st.PauseConditions[i]
		}
	}
	return nil
}

func removePauseCondition(st *v1alpha1.RolloutStatus, reason v1alpha1.PauseReason) {
	kept := st.PauseConditions[:0]
	for _, c := range st.PauseConditions {
		if c.Reason != reason {
			kept = append(kept, c)
		}
	}
	st.PauseConditions = kept
	if len(kept) == 0 {
		st.PauseConditions = nil
	}
}

func ptrInt32(v int32) *int32 { return &v }

// rollOutCanary runs the canary strategy: it restarts the steps for a new
// template, lets decideCanary say where the rollout stands, scales the
// ReplicaSets towards that within maxSurge and maxUnavailable, and points
// the stable and canary Services at their ReplicaSets. Without steps the
// new template goes to 100% at once, as a rolling update.
func (r *Reconciler) rollOutCanary(ctx context.Context, s *scope) error {
	ro := s.ro
	st := &ro.Status
	var steps []v1alpha1.CanaryStep
	canary := ro.Spec.Strategy.Canary
	if canary != nil {
		steps = canary.Steps
	}
	if restartIfChanged(st, s.hash, stepsHash(steps), len(steps)) && st.StableRS == "" {
		// The first template has nothing to roll from: it is stable at once.
		st.StableRS = s.hash
	}
	// The analyses judge this revision.
	st.CurrentPodHash = s.hash
	if st.StableRS == s.hash {
		s.stableRS = s.newRS
	}
	p := s.plan(0, 0)
	in := canaryInput{
		Steps: steps, Paused: ro.Spec.Paused, TrafficRouting: canary != nil && canary.TrafficRouting != nil,
		Desired: p.Desired, Surge: p.MaxSurge > 0, Canary: p.Canary, Stable: p.Stable,
		CanarySettled: settled(s.newRS), Now: s.now,
	}
	if canary != nil {
		in.Background = canary.Analysis
	}
	var analyze analyzeFunc
	if r.Analysis != nil {
		analyze = func(purpose string, a *v1alpha1.RolloutAnalysis) (v1alpha1.AnalysisPhase, string, error) {
			return r.Analysis.Analyze(ctx, ro, purpose, a)
		}
	}
	v, err := decideCanary(st, in, analyze)
	if err != nil {
		return err
	}
	if in.TrafficRouting {
		v.Weight = trafficWeight(st, in, v)
	}
	s.weight, s.pause, s.aborted, s.message, s.requeue = v.Weight, v.Pause, v.Aborted, v.Message, v.Requeue
	s.analyzing = v.Analyzing
	if in.Paused && !v.Aborted {
		// A manually paused rollout keeps its replicas as they are.
		if v.Pause == "" && s.stableRS != s.newRS {
			s.pause = manualPauseMessage
		}
	} else {
		p.CanaryTarget, p.StableTarget = v.CanaryTarget, v.StableTarget
		res := p.next()
		if in.TrafficRouting {
			res = routedReplicas(p)
		}
		if err := r.applyReplicas(ctx, s, res); err != nil {
			return err
		}
	}
	if v.Promote && st.StableRS != s.hash {
		st.StableRS = s.hash
		s.stableRS = s.newRS
		r.Finisher.Event(ro, "", corev1.EventTypeNormal, PromotedReason,
			fmt.Sprintf("ReplicaSet %s is promoted to stable", s.newRS.Name))
	}
	if err := r.syncServices(ctx, s); err != nil {
		return err
	}
	return r.routeTraffic(ctx, s)
}

// routeTraffic hands the step's weight to the traffic router and records
// it in status.canary.weights, as Argo Rollouts reports it.
func (r *Reconciler) routeTraffic(ctx context.Context, s *scope) error {
	ro := s.ro
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil {
		ro.Status.Canary.Weights = nil
		return nil
	}
	if r.Traffic == nil {
		return outcome.StallErr(TrafficRoutingUnavailableReason,
			errors.New("spec.strategy.canary.trafficRouting is set, and this rollout-controller has no traffic router"))
	}
	// Aborted, or promoted (the stable Service selects the new pods now),
	// all traffic goes to stable.
	weight, canaryHash := s.weight, s.hash
	if s.aborted || ro.Status.StableRS == s.hash {
		weight = 0
	}
	verified, err := r.Traffic.SetWeight(ctx, ro, weight)
	if err != nil {
		return err
	}
	if prev := ro.Status.Canary.Weights; prev == nil || prev.Canary.Weight != weight {
		msg := fmt.Sprintf("Traffic weight updated to %d", weight)
		if prev != nil {
			msg = fmt.Sprintf("Traffic weight updated from %d to %d", prev.Canary.Weight, weight)
		}
		r.Finisher.Event(ro, "", corev1.EventTypeNormal, TrafficWeightUpdatedReason, msg)
	}
	ro.Status.Canary.Weights = &v1alpha1.TrafficWeights{
		Canary:   v1alpha1.WeightDestination{Weight: weight, ServiceName: c.CanaryService, PodTemplateHash: canaryHash},
		Stable:   v1alpha1.WeightDestination{Weight: 100 - weight, ServiceName: c.StableService, PodTemplateHash: ro.Status.StableRS},
		Verified: &verified,
	}
	return nil
}
