package rollout

import (
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

func TestWeightedCounts(t *testing.T) {
	tests := []struct {
		replicas, weight int32
		surge            bool
		canary, stable   int32
	}{
		{10, 41, true, 4, 6},
		{10, 45, false, 5, 5}, // a tie rounds up
		{3, 50, true, 2, 2},   // one surge pod makes 50% exact
		{3, 50, false, 2, 1},
		{1, 20, true, 0, 1},
		{4, 0, true, 0, 4},
		{4, 100, true, 4, 0},
		{0, 50, true, 0, 0},
	}
	for _, tt := range tests {
		c, s := weightedCounts(tt.replicas, tt.weight, tt.surge)
		if c != tt.canary || s != tt.stable {
			t.Errorf("weightedCounts(%d, %d, %v) = %d, %d; want %d, %d", tt.replicas, tt.weight, tt.surge, c, s, tt.canary, tt.stable)
		}
	}
}

func TestSurgeAndUnavailable(t *testing.T) {
	g := NewWithT(t)
	s, u := surgeAndUnavailable(nil, nil, 4)
	g.Expect([]int32{s, u}).To(Equal([]int32{1, 1}))
	s, u = surgeAndUnavailable(nil, nil, 1)
	g.Expect([]int32{s, u}).To(Equal([]int32{1, 0}), "25% of 1: surge rounds up, unavailable down")
	zero := intstr.FromInt32(0)
	s, u = surgeAndUnavailable(&zero, &zero, 3)
	g.Expect([]int32{s, u}).To(Equal([]int32{0, 1}), "both zero would never move")
	two, half := intstr.FromInt32(2), intstr.FromString("50%")
	s, u = surgeAndUnavailable(&two, &half, 5)
	g.Expect([]int32{s, u}).To(Equal([]int32{2, 2}))
}

func TestReplicaPlanNext(t *testing.T) {
	tests := []struct {
		name string
		plan replicaPlan
		want replicaResult
	}{
		{
			name: "canary scales up within surge",
			plan: replicaPlan{Desired: 4, CanaryTarget: 2, StableTarget: 2, MaxSurge: 1, MaxUnavailable: 0,
				Canary: rsCounts{0, 0}, Stable: &rsCounts{4, 4}},
			want: replicaResult{Canary: 1, Stable: 4, Others: []int32{}},
		},
		{
			name: "stable scales down once canary pods are available",
			plan: replicaPlan{Desired: 4, CanaryTarget: 2, StableTarget: 2, MaxSurge: 1, MaxUnavailable: 0,
				Canary: rsCounts{1, 1}, Stable: &rsCounts{4, 4}},
			want: replicaResult{Canary: 1, Stable: 3, Others: []int32{}},
		},
		{
			name: "abort: stable back first, canary down as availability allows",
			plan: replicaPlan{Desired: 4, CanaryTarget: 0, StableTarget: 4, MaxSurge: 1, MaxUnavailable: 1,
				Canary: rsCounts{2, 2}, Stable: &rsCounts{2, 2}},
			want: replicaResult{Canary: 1, Stable: 3, Others: []int32{}},
		},
		{
			name: "older ReplicaSets go first, unavailable pods at once",
			plan: replicaPlan{Desired: 2, CanaryTarget: 2, MaxSurge: 0, MaxUnavailable: 1,
				Canary: rsCounts{2, 2}, Others: []rsCounts{{2, 0}, {1, 1}}},
			want: replicaResult{Canary: 2, Others: []int32{0, 0}},
		},
		{
			name: "nothing below minimum availability",
			plan: replicaPlan{Desired: 3, CanaryTarget: 3, MaxSurge: 1, MaxUnavailable: 0,
				Canary: rsCounts{1, 0}, Others: []rsCounts{{3, 3}}},
			want: replicaResult{Canary: 1, Others: []int32{3}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(tt.plan.next()).To(Equal(tt.want))
		})
	}
}

// canarySteps are the steps of the example, without analysis.
func canarySteps() []v1alpha1.CanaryStep {
	return []v1alpha1.CanaryStep{
		{SetWeight: ptr.To[int32](20)},
		{Pause: &v1alpha1.RolloutPause{Duration: ptr.To(intstr.FromString("1m"))}},
		{SetWeight: ptr.To[int32](50)},
		{Pause: &v1alpha1.RolloutPause{}},
		{SetWeight: ptr.To[int32](100)},
	}
}

func TestDecideCanary(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	steps := canarySteps()
	in := func(canary, stable rsCounts) canaryInput {
		return canaryInput{Steps: steps, Desired: 10, Surge: true, Canary: canary, Stable: &stable,
			CanarySettled: true, Now: now}
	}
	t.Run("waits for the first weight", func(t *testing.T) {
		g := NewWithT(t)
		st := &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](0)}
		v, err := decideCanary(st, in(rsCounts{1, 0}, rsCounts{10, 10}), nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(v.CanaryTarget).To(Equal(int32(2)))
		g.Expect(v.StableTarget).To(Equal(int32(8)))
		g.Expect(*st.CurrentStepIndex).To(BeZero())
		g.Expect(v.Message).To(ContainSubstring("step 1/5"))
	})
	t.Run("weight reached: on to a timed pause", func(t *testing.T) {
		g := NewWithT(t)
		st := &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](0)}
		v, err := decideCanary(st, in(rsCounts{2, 2}, rsCounts{8, 8}), nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(*st.CurrentStepIndex).To(Equal(int32(1)))
		g.Expect(v.Pause).To(Equal(string(v1alpha1.PauseReasonCanaryPauseStep)))
		g.Expect(v.Requeue).To(Equal(time.Minute))
		g.Expect(st.ControllerPause).To(BeTrue())
		g.Expect(st.PauseConditions).To(ConsistOf(v1alpha1.PauseCondition{
			Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.Time{Time: now}}))
	})
	t.Run("timed pause over: on to the next weight", func(t *testing.T) {
		g := NewWithT(t)
		st := &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](1), ControllerPause: true,
			PauseConditions: []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep,
				StartTime: metav1.Time{Time: now.Add(-61 * time.Second)}}}}
		v, err := decideCanary(st, in(rsCounts{2, 2}, rsCounts{8, 8}), nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(*st.CurrentStepIndex).To(Equal(int32(2)))
		g.Expect(st.PauseConditions).To(BeEmpty())
		g.Expect(v.Pause).To(BeEmpty())
		g.Expect([]int32{v.CanaryTarget, v.StableTarget}).To(Equal([]int32{5, 5}))
	})
	t.Run("pause without duration holds until promoted", func(t *testing.T) {
		g := NewWithT(t)
		st := &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](3)}
		v, err := decideCanary(st, in(rsCounts{5, 5}, rsCounts{5, 5}), nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(v.Pause).NotTo(BeEmpty())
		g.Expect(v.Requeue).To(BeZero())
		// Later, still paused.
		v, _ = decideCanary(st, in(rsCounts{5, 5}, rsCounts{5, 5}), nil)
		g.Expect(v.Pause).NotTo(BeEmpty())
		// Promote: the pause condition is removed.
		st.PauseConditions = nil
		v, err = decideCanary(st, in(rsCounts{5, 5}, rsCounts{5, 5}), nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(v.Pause).To(BeEmpty())
		g.Expect(*st.CurrentStepIndex).To(Equal(int32(4)))
		g.Expect([]int32{v.CanaryTarget, v.StableTarget}).To(Equal([]int32{10, 0}))
		g.Expect(v.Promote).To(BeFalse())
	})
	t.Run("all steps done and available: promote", func(t *testing.T) {
		g := NewWithT(t)
		st := &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](4)}
		v, _ := decideCanary(st, in(rsCounts{10, 10}, rsCounts{0, 0}), nil)
		g.Expect(*st.CurrentStepIndex).To(Equal(int32(5)))
		g.Expect(v.Promote).To(BeTrue())
	})
	t.Run("promoteFull skips the steps", func(t *testing.T) {
		g := NewWithT(t)
		st := &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](1), PromoteFull: true, ControllerPause: true,
			PauseConditions: []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.Time{Time: now}}}}
		v, _ := decideCanary(st, in(rsCounts{2, 2}, rsCounts{8, 8}), nil)
		g.Expect(*st.CurrentStepIndex).To(Equal(int32(5)))
		g.Expect(st.PauseConditions).To(BeEmpty())
		g.Expect([]int32{v.CanaryTarget, v.StableTarget}).To(Equal([]int32{10, 0}))
	})
	t.Run("abort sends everything back to stable", func(t *testing.T) {
		g := NewWithT(t)
		st := &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](3), Abort: true}
		v, _ := decideCanary(st, in(rsCounts{5, 5}, rsCounts{5, 5}), nil)
		g.Expect(v.Aborted).To(BeTrue())
		g.Expect([]int32{v.CanaryTarget, v.StableTarget}).To(Equal([]int32{0, 10}))
		g.Expect(st.AbortedAt.Time).To(Equal(now))
		g.Expect(*st.CurrentStepIndex).To(BeZero())

		// Retried: abort cleared, and with it the time of the abort.
		st.Abort = false
		v, _ = decideCanary(st, in(rsCounts{0, 0}, rsCounts{10, 10}), nil)
		g.Expect(v.Aborted).To(BeFalse())
		g.Expect(st.AbortedAt).To(BeNil())
	})
	t.Run("spec.paused holds the steps", func(t *testing.T) {
		g := NewWithT(t)
		st := &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](0)}
		i := in(rsCounts{2, 2}, rsCounts{8, 8})
		i.Paused = true
		v, _ := decideCanary(st, i, nil)
		g.Expect(v.Pause).To(Equal(manualPauseMessage))
		g.Expect(*st.CurrentStepIndex).To(BeZero())
	})
	t.Run("a pause duration that does not parse stalls", func(t *testing.T) {
		g := NewWithT(t)
		i := in(rsCounts{2, 2}, rsCounts{8, 8})
		i.Steps = []v1alpha1.CanaryStep{{Pause: &v1alpha1.RolloutPause{Duration: ptr.To(intstr.FromString("soon"))}}}
		_, err := decideCanary(&v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](0)}, i, nil)
		g.Expect(err).To(MatchError(ContainSubstring(`pause duration "soon"`)))
	})
}

func TestDecideCanaryAnalysis(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	steps := []v1alpha1.CanaryStep{
		{SetWeight: ptr.To[int32](50)},
		{Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "error-rate"}}}},
	}
	in := canaryInput{Steps: steps, Desired: 2, Canary: rsCounts{1, 1}, Stable: &rsCounts{1, 1}, CanarySettled: true, Now: now}
	verdict := func(phase v1alpha1.AnalysisPhase, err error) analyzeFunc {
		return func(purpose string, a *v1alpha1.RolloutAnalysis) (v1alpha1.AnalysisPhase, string, error) {
			if a.Templates[0].TemplateName != "error-rate" || purpose != "step-1" {
				t.Fatalf("analysis of the wrong step: %s %+v", purpose, a)
			}
			return phase, "metric error-rate: value 0.3", err
		}
	}
	tests := []struct {
		name      string
		analyze   analyzeFunc
		wantIndex int32
		wantPause bool
		wantAbort bool
		wantErr   bool
	}{
		{name: "no analysis available holds", analyze: nil, wantIndex: 1},
		{name: "running holds", analyze: verdict(v1alpha1.AnalysisPhaseRunning, nil), wantIndex: 1},
		{name: "successful goes on", analyze: verdict(v1alpha1.AnalysisPhaseSuccessful, nil), wantIndex: 2},
		{name: "inconclusive pauses", analyze: verdict(v1alpha1.AnalysisPhaseInconclusive, nil), wantIndex: 1, wantPause: true},
		{name: "failed aborts", analyze: verdict(v1alpha1.AnalysisPhaseFailed, nil), wantIndex: 0, wantAbort: true},
		{name: "error of the hook is returned", analyze: verdict("", errors.New("api down")), wantIndex: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			st := &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](0)}
			v, err := decideCanary(st, in, tt.analyze)
			g.Expect(err != nil).To(Equal(tt.wantErr))
			g.Expect(*st.CurrentStepIndex).To(Equal(tt.wantIndex))
			g.Expect(v.Pause != "").To(Equal(tt.wantPause))
			g.Expect(v.Aborted).To(Equal(tt.wantAbort))
			g.Expect(st.Abort).To(Equal(tt.wantAbort))
			if tt.wantAbort {
				g.Expect(v.Message).To(ContainSubstring("metric error-rate: value 0.3"))
				g.Expect([]int32{v.CanaryTarget, v.StableTarget}).To(Equal([]int32{0, 2}))
			}
		})
	}
}

func TestRestartIfChanged(t *testing.T) {
	g := NewWithT(t)
	st := &v1alpha1.RolloutStatus{StableRS: "a", CurrentPodHash: "b", CurrentStepHash: "s", CurrentStepIndex: ptr.To[int32](3),
		Abort: true, PromoteFull: true, ControllerPause: true,
		PauseConditions: []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}}
	g.Expect(restartIfChanged(st, "b", "s", 5)).To(BeFalse())
	g.Expect(restartIfChanged(st, "c", "s", 5)).To(BeTrue())
	g.Expect(*st.CurrentStepIndex).To(BeZero())
	g.Expect(st.Abort || st.PromoteFull || st.ControllerPause).To(BeFalse())
	g.Expect(st.PauseConditions).To(BeEmpty())
	// Back to the stable template: nothing to step through.
	st.CurrentPodHash = "c"
	g.Expect(restartIfChanged(st, "a", "s", 5)).To(BeTrue())
	g.Expect(*st.CurrentStepIndex).To(Equal(int32(5)))
}
