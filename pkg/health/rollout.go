package health

import (
	"context"
	"fmt"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/engine"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/event"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/statusreaders"
	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// rolloutKind is Argo Rollouts' Rollout, which Ferry's rollout-controller
// serves.
var rolloutKind = schema.GroupKind{Group: "argoproj.io", Kind: "Rollout"}

// RolloutReader returns a status reader for Rollouts. kstatus reads a
// Rollout's own status well (Ready, Reconciling, Stalled and
// observedGeneration), except for one case: a Rollout with
// spec.workloadRef rolls out its Deployment's template, and a commit that
// changes that template changes the Deployment, not the Rollout. Right
// after such an apply the Rollout still says Healthy for the old template,
// and a health check that looks before the rollout controller does would
// pass while the canary has not even started. The reader therefore counts
// such a Rollout as in progress until status.workloadObservedGeneration
// has reached the Deployment's generation. When the Deployment cannot be
// read (a health check naming the Rollout alone, whose poller caches only
// Rollouts) the Rollout's own status decides, as kstatus would.
func RolloutReader(mapper apimeta.RESTMapper) engine.StatusReader {
	return &rolloutReader{StatusReader: statusreaders.NewGenericStatusReader(mapper, status.Compute)}
}

type rolloutReader struct{ engine.StatusReader }

func (r *rolloutReader) Supports(gk schema.GroupKind) bool { return gk == rolloutKind }

func (r *rolloutReader) ReadStatus(ctx context.Context, reader engine.ClusterReader, id object.ObjMetadata) (*event.ResourceStatus, error) {
	rs, err := r.StatusReader.ReadStatus(ctx, reader, id)
	if err != nil || rs.Resource == nil {
		return rs, err
	}
	return withWorkload(ctx, reader, rs), nil
}

func (r *rolloutReader) ReadStatusForObject(ctx context.Context, reader engine.ClusterReader, u *unstructured.Unstructured) (*event.ResourceStatus, error) {
	rs, err := r.StatusReader.ReadStatusForObject(ctx, reader, u)
	if err != nil || rs.Resource == nil {
		return rs, err
	}
	return withWorkload(ctx, reader, rs), nil
}

// withWorkload turns a Current Rollout whose status has not yet seen its
// workloadRef Deployment's generation into InProgress.
func withWorkload(ctx context.Context, reader engine.ClusterReader, rs *event.ResourceStatus) *event.ResourceStatus {
	if rs.Status != status.CurrentStatus {
		return rs
	}
	if msg := workloadPending(ctx, reader, rs.Resource); msg != "" {
		rs.Status, rs.Message = status.InProgressStatus, msg
	}
	return rs
}

// workloadPending says why a Rollout's status does not describe its
// workloadRef Deployment yet, or "" when it does, has no workloadRef, or
// the Deployment cannot be read.
func workloadPending(ctx context.Context, reader engine.ClusterReader, ro *unstructured.Unstructured) string {
	name, found, _ := unstructured.NestedString(ro.Object, "spec", "workloadRef", "name")
	if !found || name == "" {
		return ""
	}
	d := &unstructured.Unstructured{}
	d.SetGroupVersionKind(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"})
	if err := reader.Get(ctx, client.ObjectKey{Namespace: ro.GetNamespace(), Name: name}, d); err != nil {
		return ""
	}
	seen, _, _ := unstructured.NestedInt64(ro.Object, "status", "workloadObservedGeneration")
	if seen >= d.GetGeneration() {
		return ""
	}
	return fmt.Sprintf("Rollout has not yet observed generation %d of Deployment '%s' (status.workloadObservedGeneration %d)",
		d.GetGeneration(), name, seen)
}
