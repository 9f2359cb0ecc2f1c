package objects

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ferrycd/ferry/cli/internal/rollouts"
	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// RolloutState is what `ferry get` adds for a Rollout beside its Ready
// condition: the columns of `kubectl argo rollouts list rollouts`.
type RolloutState struct {
	Strategy string `json:"strategy"`
	Phase    string `json:"phase"`
	// Step is "index/count"; empty without canary steps.
	Step string `json:"step,omitempty"`
	// SetWeight is the canary weight the current step asks for.
	SetWeight *int32 `json:"setWeight,omitempty"`
	Ready     int32  `json:"ready"`
	Desired   int32  `json:"desired"`
	Aborted   bool   `json:"aborted,omitempty"`
}

// String reads as one phrase of the table's message column.
func (r RolloutState) String() string {
	parts := []string{r.Phase}
	if r.Aborted {
		parts[0] += " (aborted)"
	}
	parts = append(parts, strings.ToLower(r.Strategy))
	if r.Step != "" {
		parts = append(parts, "step "+r.Step)
	}
	if r.SetWeight != nil {
		parts = append(parts, fmt.Sprintf("weight %d", *r.SetWeight))
	}
	parts = append(parts, fmt.Sprintf("%d/%d ready", r.Ready, r.Desired))
	return strings.Join(parts, ", ")
}

// summarizeRollout fills what a Rollout has instead of Flux's fields:
// spec.paused is its suspend, the pod-template hash being rolled out its
// revision. An object that does not convert (a newer Argo field of another
// type) keeps the plain summary.
func summarizeRollout(obj *unstructured.Unstructured, s *Summary) {
	ro := &v1alpha1.Rollout{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, ro); err != nil {
		return
	}
	s.Suspended = ro.Spec.Paused
	s.Revision = ro.Status.CurrentPodHash
	st := &RolloutState{Strategy: rollouts.Strategy(ro), Phase: rollouts.Phase(ro), Step: rollouts.Step(ro),
		Ready: ro.Status.ReadyReplicas, Desired: ro.GetReplicas(), Aborted: ro.Status.Abort}
	if st.Strategy == rollouts.StrategyCanary {
		w := rollouts.SetWeight(ro)
		st.SetWeight = &w
	}
	s.Rollout = st
}
