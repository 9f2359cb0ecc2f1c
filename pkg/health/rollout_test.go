package health

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// deployments is a ClusterReader holding Deployments by name, as the
// poller's cache does when the health-checked set lists them; none means
// the cache has no Deployments.
type deployments map[string]int64

func (d deployments) Get(_ context.Context, key client.ObjectKey, obj *unstructured.Unstructured) error {
	gen, ok := d[key.Name]
	if !ok {
		return errors.New("GVK apps/v1, Kind=Deployment not found in cache")
	}
	obj.SetName(key.Name)
	obj.SetGeneration(gen)
	return nil
}

func (deployments) ListNamespaceScoped(context.Context, *unstructured.UnstructuredList, string, labels.Selector) error {
	return nil
}
func (deployments) ListClusterScoped(context.Context, *unstructured.UnstructuredList, labels.Selector) error {
	return nil
}
func (deployments) Sync(context.Context) error { return nil }

func TestRolloutReader(t *testing.T) {
	healthy := `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: apps, generation: 1}
spec:
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}
status:
  observedGeneration: 1
  workloadObservedGeneration: 3
  phase: Healthy
  conditions:
  - {type: Ready, status: "True", reason: RolloutHealthy, message: rollout is healthy}
`
	tests := []struct {
		name     string
		manifest string
		cluster  deployments
		want     status.Status
		message  string
	}{
		{"healthy on the Deployment's generation", healthy, deployments{"web": 3}, status.CurrentStatus, "Resource is Ready"},
		{"healthy on an older generation of the Deployment", healthy, deployments{"web": 4}, status.InProgressStatus,
			"Rollout has not yet observed generation 4 of Deployment 'web' (status.workloadObservedGeneration 3)"},
		{"the Deployment is not in the cache: the Rollout's own status", healthy, deployments{}, status.CurrentStatus, "Resource is Ready"},
		{"paused", `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: apps, generation: 1}
spec:
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}
status:
  observedGeneration: 1
  workloadObservedGeneration: 4
  conditions:
  - {type: Ready, status: Unknown, reason: RolloutPaused, message: "rollout is paused: CanaryPauseStep at step 2/3"}
  - {type: Reconciling, status: "True", reason: RolloutPaused, message: "rollout is paused: CanaryPauseStep at step 2/3"}
`, deployments{"web": 4}, status.InProgressStatus, "rollout is paused"},
		{"aborted", `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: apps, generation: 1}
spec:
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}
status:
  observedGeneration: 1
  workloadObservedGeneration: 4
  conditions:
  - {type: Ready, status: "False", reason: RolloutAborted, message: "rollout aborted: by the user"}
  - {type: Stalled, status: "True", reason: RolloutAborted, message: "rollout aborted: by the user"}
`, deployments{"web": 4}, status.FailedStatus, "rollout aborted"},
		{"inline template: no Deployment to wait for", `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: apps, generation: 2}
spec:
  template: {metadata: {labels: {app: web}}}
status:
  observedGeneration: 2
  conditions:
  - {type: Ready, status: "True", reason: RolloutHealthy, message: rollout is healthy}
`, deployments{}, status.CurrentStatus, "Resource is Ready"},
	}
	r := RolloutReader(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := yaml.YAMLToJSON([]byte(tt.manifest))
			if err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(data); err != nil {
				t.Fatal(err)
			}
			if !r.Supports(u.GroupVersionKind().GroupKind()) {
				t.Fatal("the reader must support Rollouts")
			}
			rs, err := r.ReadStatusForObject(context.Background(), tt.cluster, u)
			if err != nil {
				t.Fatal(err)
			}
			if rs.Status != tt.want || !strings.Contains(rs.Message, tt.message) {
				t.Errorf("got %s %q (%v), want %s with %q", rs.Status, rs.Message, rs.Error, tt.want, tt.message)
			}
		})
	}
}
