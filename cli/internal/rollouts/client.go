package rollouts

import (
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// Get reads the rollout ns/name with its ReplicaSets and AnalysisRuns. A
// list the user may not make is a note in Info.Notes, not a failure: the
// rollout's own status is still worth showing.
func Get(ctx context.Context, c client.Reader, ns, name string) (Info, error) {
	ro := &v1alpha1.Rollout{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ro); err != nil {
		return Info{}, describe(ns, name, "get", "rollouts", err)
	}
	return Related(ctx, c, ro), nil
}

// Related describes ro with the ReplicaSets and AnalysisRuns listed in its
// namespace.
func Related(ctx context.Context, c client.Reader, ro *v1alpha1.Rollout) Info {
	var notes []string
	var rsList appsv1.ReplicaSetList
	if err := c.List(ctx, &rsList, client.InNamespace(ro.Namespace)); err != nil {
		notes = append(notes, listNote("replicasets.apps", ro.Namespace, err))
	}
	var arList v1alpha1.AnalysisRunList
	if err := c.List(ctx, &arList, client.InNamespace(ro.Namespace)); err != nil {
		notes = append(notes, listNote("analysisruns.argoproj.io", ro.Namespace, err))
	}
	info := Describe(ro, rsList.Items, arList.Items)
	info.Notes = notes
	return info
}

func listNote(resource, ns string, err error) string {
	if apierrors.IsForbidden(err) {
		return fmt.Sprintf("forbidden by RBAC: you may not list %s in namespace %s", resource, ns)
	}
	return fmt.Sprintf("cannot list %s in namespace %s: %v", resource, ns, err)
}

// Result says what a write did, in the plugin's words ("promoted").
type Result struct {
	Name string
	// Done is the past participle the plugin prints: "rollout 'NAME' <Done>".
	Done string
}

func (r Result) String() string { return fmt.Sprintf("rollout '%s' %s", r.Name, r.Done) }

// Patches the plugin makes, as merge patches.
var (
	pausePatch                = map[string]any{"spec": map[string]any{"paused": true}}
	unpausePatch              = map[string]any{"spec": map[string]any{"paused": false}}
	abortPatch                = map[string]any{"status": map[string]any{"abort": true}}
	retryPatch                = map[string]any{"status": map[string]any{"abort": false}}
	promoteFullPatch          = map[string]any{"status": map[string]any{"promoteFull": true}}
	clearPauseConditionsPatch = map[string]any{"status": map[string]any{"pauseConditions": nil}}
)

// Promote does what `kubectl argo rollouts promote` does. Without full:
// when the controller paused the rollout (status.pauseConditions) those
// conditions are removed; else a canary in the middle of its steps (an
// analysis, a weight not reached yet) moves on to the next step
// (status.currentStepIndex + 1); and spec.paused is cleared when set. With
// full: status.promoteFull, which skips every remaining step, pause and
// analysis, unless the current template already is the stable one. Status
// patches go through the status subresource, so they need `patch` on
// rollouts/status; clearing spec.paused needs `patch` on rollouts.
func Promote(ctx context.Context, c client.Client, ns, name string, full bool) (Result, error) {
	ro := &v1alpha1.Rollout{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ro); err != nil {
		return Result{}, describe(ns, name, "get", "rollouts", err)
	}
	spec, status := PromotePatches(ro, full)
	if status != nil {
		if err := patch(ctx, c, ns, name, status, true); err != nil {
			return Result{}, err
		}
	}
	if spec != nil {
		if err := patch(ctx, c, ns, name, spec, false); err != nil {
			return Result{}, err
		}
	}
	if full {
		return Result{Name: name, Done: "fully promoted"}, nil
	}
	return Result{Name: name, Done: "promoted"}, nil
}

// PromotePatches are the spec and status merge patches of a promote of ro
// (nil for none), decided as the plugin decides them.
func PromotePatches(ro *v1alpha1.Rollout, full bool) (spec, status map[string]any) {
	if full {
		if ro.Status.CurrentPodHash != ro.Status.StableRS {
			status = promoteFullPatch
		}
		return nil, status
	}
	if ro.Spec.Paused {
		spec = unpausePatch
	}
	if len(ro.Status.PauseConditions) > 0 {
		return spec, clearPauseConditionsPatch
	}
	if index, count, ok := StepIndex(ro); ok && ro.Spec.Strategy.Canary != nil {
		if index < count {
			index++
		}
		status = map[string]any{"status": map[string]any{"pauseConditions": nil, "currentStepIndex": index}}
	}
	return spec, status
}

// Abort sets status.abort: the controller scales the canary down and
// sends all traffic back to the stable ReplicaSet.
func Abort(ctx context.Context, c client.Client, ns, name string) (Result, error) {
	return Result{Name: name, Done: "aborted"}, patch(ctx, c, ns, name, abortPatch, true)
}

// Retry clears status.abort, so an aborted rollout starts its steps again.
func Retry(ctx context.Context, c client.Client, ns, name string) (Result, error) {
	return Result{Name: name, Done: "retried"}, patch(ctx, c, ns, name, retryPatch, true)
}

// Pause sets spec.paused: the rollout stays where it is until resumed or
// promoted.
func Pause(ctx context.Context, c client.Client, ns, name string) (Result, error) {
	return Result{Name: name, Done: "paused"}, patch(ctx, c, ns, name, pausePatch, false)
}

// Resume clears spec.paused, as the plugin's resume did.
func Resume(ctx context.Context, c client.Client, ns, name string) (Result, error) {
	return Result{Name: name, Done: "resumed"}, patch(ctx, c, ns, name, unpausePatch, false)
}

// patch sends body as a merge patch to the rollout, or to its status
// subresource.
func patch(ctx context.Context, c client.Client, ns, name string, body map[string]any, status bool) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	p := client.RawPatch(types.MergePatchType, data)
	if status {
		err = c.Status().Patch(ctx, ro, p)
	} else {
		err = c.Patch(ctx, ro, p)
	}
	if err != nil {
		resource := "rollouts"
		if status {
			resource = "rollouts/status"
		}
		return describe(ns, name, "patch", resource, err)
	}
	return nil
}

// describe names the rollout and the next step in an API error; a denial
// keeps the API server's own message.
func describe(ns, name, verb, resource string, err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("rollout %s/%s not found: check the name and namespace (-n)", ns, name)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("forbidden by RBAC: cannot %s %s in namespace %s: %w", verb, resource, ns, err)
	}
	return fmt.Errorf("%s rollout %s/%s: %w", verb, ns, name, err)
}
