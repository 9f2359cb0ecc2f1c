package rollout

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// fakeRouter records the weights it is given.
type fakeRouter struct{ weights []int32 }

func (f *fakeRouter) SetWeight(_ context.Context, _ *v1alpha1.Rollout, weight int32) (bool, error) {
	f.weights = append(f.weights, weight)
	return true, nil
}

func TestRouteTraffic(t *testing.T) {
	routed := func() *v1alpha1.Rollout {
		return &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
			StableService: "web-stable", CanaryService: "web-canary",
			TrafficRouting: &v1alpha1.RolloutTrafficRouting{},
		}}}, Status: v1alpha1.RolloutStatus{StableRS: "old"}}
	}
	tests := []struct {
		name       string
		scope      scope
		wantWeight int32
	}{
		{name: "the step's weight", scope: scope{hash: "new", weight: 20}, wantWeight: 20},
		{name: "aborted: all to stable", scope: scope{hash: "new", weight: 20, aborted: true}, wantWeight: 0},
		{name: "promoted: all to stable", scope: scope{hash: "old", weight: 100}, wantWeight: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			router := &fakeRouter{}
			r := &Reconciler{Traffic: router}
			s := tt.scope
			s.ro = routed()
			g.Expect(r.routeTraffic(context.Background(), &s)).To(Succeed())
			g.Expect(router.weights).To(Equal([]int32{tt.wantWeight}))
			w := s.ro.Status.Canary.Weights
			g.Expect(w).NotTo(BeNil())
			g.Expect(w.Canary).To(Equal(v1alpha1.WeightDestination{Weight: tt.wantWeight, ServiceName: "web-canary", PodTemplateHash: s.hash}))
			g.Expect(w.Stable).To(Equal(v1alpha1.WeightDestination{Weight: 100 - tt.wantWeight, ServiceName: "web-stable", PodTemplateHash: "old"}))
			g.Expect(w.Verified).To(Equal(ptr.To(true)))
		})
	}

	// Without a router a rollout with traffic routing stalls.
	g := NewWithT(t)
	err := (&Reconciler{}).routeTraffic(context.Background(), &scope{ro: routed(), hash: "new"})
	g.Expect(err).To(MatchError(ContainSubstring("no traffic router")))
}
