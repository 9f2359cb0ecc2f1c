package rollout

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// TestTrafficWeight: with a router, the canary of 10 replicas runs the
// step's share (ceil) while the stable keeps all 10, and the weight moves
// to a step's only once those replicas are available, as Argo Rollouts
// does; setCanaryScale sizes the canary apart from the weight.
func TestTrafficWeight(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	steps := canarySteps() // 20, pause 1m, 50, pause, 100
	tests := []struct {
		name        string
		steps       []v1alpha1.CanaryStep
		status      v1alpha1.RolloutStatus
		canary      rsCounts
		stable      rsCounts
		wantIndex   int32
		wantReplica [2]int32 // canary, stable targets
		wantWeight  int32
	}{{
		name:   "first weight, canary scaling up: no traffic yet",
		status: v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](0)},
		canary: rsCounts{2, 0}, stable: rsCounts{10, 10},
		wantIndex: 0, wantReplica: [2]int32{2, 10}, wantWeight: 0,
	}, {
		name:   "first weight, one of two canary pods available: still none",
		status: v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](0)},
		canary: rsCounts{2, 1}, stable: rsCounts{10, 10},
		wantIndex: 0, wantReplica: [2]int32{2, 10}, wantWeight: 0,
	}, {
		name:   "first weight reached: on to the pause at 20",
		status: v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](0)},
		canary: rsCounts{2, 2}, stable: rsCounts{10, 10},
		wantIndex: 1, wantReplica: [2]int32{2, 10}, wantWeight: 20,
	}, {
		name:   "second weight, canary at 3 of 5: traffic stays at 20",
		status: v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](2)},
		canary: rsCounts{5, 3}, stable: rsCounts{10, 10},
		wantIndex: 2, wantReplica: [2]int32{5, 10}, wantWeight: 20,
	}, {
		name:   "last weight, canary not yet full: traffic stays at 50",
		status: v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](4)},
		canary: rsCounts{10, 6}, stable: rsCounts{10, 10},
		wantIndex: 4, wantReplica: [2]int32{10, 10}, wantWeight: 50,
	}, {
		name:   "paused at 50 with a canary pod gone: traffic stays at 50",
		status: v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](3)},
		canary: rsCounts{5, 4}, stable: rsCounts{10, 10},
		wantIndex: 3, wantReplica: [2]int32{5, 10}, wantWeight: 50,
	}, {
		name:   "no canary pod available: no traffic",
		status: v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](3)},
		canary: rsCounts{5, 0}, stable: rsCounts{10, 10},
		wantIndex: 3, wantReplica: [2]int32{5, 10}, wantWeight: 0,
	}, {
		name: "promoteFull: the weight stays until the canary is full",
		status: v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](1), PromoteFull: true,
			Canary: v1alpha1.CanaryStatus{Weights: &v1alpha1.TrafficWeights{Canary: v1alpha1.WeightDestination{Weight: 20}}}},
		canary: rsCounts{10, 2}, stable: rsCounts{10, 10},
		wantIndex: 5, wantReplica: [2]int32{10, 10}, wantWeight: 20,
	}, {
		name: "setCanaryScale sizes the canary apart from the weight",
		steps: []v1alpha1.CanaryStep{
			{SetCanaryScale: &v1alpha1.SetCanaryScale{Replicas: ptr.To[int32](3)}},
			{SetWeight: ptr.To[int32](10)},
			{Pause: &v1alpha1.RolloutPause{}},
		},
		status: v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](0)},
		canary: rsCounts{3, 3}, stable: rsCounts{10, 10},
		wantIndex: 2, wantReplica: [2]int32{3, 10}, wantWeight: 10,
	}, {
		name:   "aborted: no traffic",
		status: v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](3), Abort: true},
		canary: rsCounts{5, 5}, stable: rsCounts{10, 10},
		wantIndex: 0, wantReplica: [2]int32{0, 10}, wantWeight: 0,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			in := canaryInput{Steps: steps, TrafficRouting: true, Desired: 10, Canary: tt.canary, Stable: &tt.stable,
				CanarySettled: true, Now: now}
			if tt.steps != nil {
				in.Steps = tt.steps
			}
			st := tt.status
			v, err := decideCanary(&st, in, nil)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(*st.CurrentStepIndex).To(Equal(tt.wantIndex))
			g.Expect([2]int32{v.CanaryTarget, v.StableTarget}).To(Equal(tt.wantReplica))
			g.Expect(trafficWeight(&st, in, v)).To(Equal(tt.wantWeight))
		})
	}
}

// TestRoutedReplicas: with a router the canary runs its share besides a
// fully scaled stable, which maxSurge would never allow (4 replicas, 25%
// surge: at most 5 pods, and 50% needs 2 canary pods next to 4 stable), so
// the targets are applied at once, as Argo Rollouts does; a replaced
// canary goes to zero.
func TestRoutedReplicas(t *testing.T) {
	g := NewWithT(t)
	p := replicaPlan{Desired: 4, CanaryTarget: 2, StableTarget: 4, MaxSurge: 1,
		Canary: rsCounts{1, 1}, Stable: &rsCounts{4, 4}, Others: []rsCounts{{1, 1}}}
	g.Expect(p.next().Canary).To(BeNumerically("<", 2), "the surge limit holds the canary back")
	g.Expect(routedReplicas(p)).To(Equal(replicaResult{Canary: 2, Stable: 4, Others: []int32{0}}))
}
