package ui

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ferrycd/ferry/cli/internal/kube"
	"github.com/ferrycd/ferry/cli/internal/objects"
	"github.com/ferrycd/ferry/cli/internal/rollouts"
	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// rolloutView is the Rollout part of an object page: what `ferry rollout
// get` prints, with ages and weights worded for the page.
type rolloutView struct {
	rollouts.Info
	// Weights reads "20% set, 20% actual" for a canary.
	Weights string
	// ReplicaSets and AnalysisRuns carry their ages.
	ReplicaSets  []replicaSetView
	AnalysisRuns []analysisRunView
	// Note says why the Rollout could not be read as one (a field of a
	// newer Argo Rollouts of another type).
	Note string
}

type replicaSetView struct {
	rollouts.ReplicaSetInfo
	Role, Age string
}

type analysisRunView struct {
	rollouts.AnalysisRunInfo
	Age string
}

// rolloutOf reads the cached Rollout with the ReplicaSets and
// AnalysisRuns the user's client lists now; these are not cached, only the
// page of a Rollout needs them.
func (s *Server) rolloutOf(ctx context.Context, kc *kube.Clients, obj *unstructured.Unstructured) *rolloutView {
	ro := &v1alpha1.Rollout{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, ro); err != nil {
		return &rolloutView{Note: fmt.Sprintf("this Rollout cannot be read as argoproj.io/v1alpha1: %v", err)}
	}
	now := s.now()
	v := &rolloutView{Info: rollouts.Related(ctx, kc.Client, ro)}
	if v.SetWeight != nil && v.ActualWeight != nil {
		v.Weights = fmt.Sprintf("%d%% set, %d%% actual", *v.SetWeight, *v.ActualWeight)
	}
	for _, rs := range v.Info.ReplicaSets {
		v.ReplicaSets = append(v.ReplicaSets, replicaSetView{ReplicaSetInfo: rs, Role: strings.Join(rs.Roles, ", "),
			Age: objects.Age(rs.Created, now)})
	}
	for _, ar := range v.Info.AnalysisRuns {
		v.AnalysisRuns = append(v.AnalysisRuns, analysisRunView{AnalysisRunInfo: ar, Age: objects.Age(ar.Created, now)})
	}
	return v
}

// rolloutFields are the bookkeeping fields of a Rollout's summary.
func rolloutFields(obj *unstructured.Unstructured) []field {
	var out []field
	for _, f := range []struct{ name, path string }{
		{"stable ReplicaSet hash", "stableRS"}, {"current pod hash", "currentPodHash"},
	} {
		if v, _, _ := unstructured.NestedString(obj.Object, "status", f.path); v != "" {
			out = append(out, field{f.name, v})
		}
	}
	return out
}

// rolloutAction runs one of the Rollout buttons with the user's client:
// the writes of `ferry rollout` and Argo Rollouts' kubectl plugin. ok is
// false for an action that is not a Rollout's.
func rolloutAction(ctx context.Context, kc *kube.Clients, action, ns, name string) (done string, ok bool, err error) {
	var res rollouts.Result
	switch action {
	case "promote":
		res, err = rollouts.Promote(ctx, kc.Client, ns, name, false)
	case "promote-full":
		res, err = rollouts.Promote(ctx, kc.Client, ns, name, true)
	case "abort":
		res, err = rollouts.Abort(ctx, kc.Client, ns, name)
	case "retry":
		res, err = rollouts.Retry(ctx, kc.Client, ns, name)
	case "pause":
		res, err = rollouts.Pause(ctx, kc.Client, ns, name)
	case "unpause":
		res, err = rollouts.Resume(ctx, kc.Client, ns, name)
	default:
		return "", false, nil
	}
	return res.String(), true, err
}
