// Package rollouttest builds Rollouts in the state a rollout-controller
// leaves them in midway through a canary, for the CLI's and the UI's tests:
// the CLI and the UI read status, so the tests write it themselves (through
// the status subresource, as a controller does) instead of running one.
package rollouttest

import (
	"context"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/cli/internal/rollouts"
	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// Hashes of the fixture's two ReplicaSets.
const (
	StableHash = "6b9f7c5d4"
	CanaryHash = "7d8c9f6b5"
	// StableImage and CanaryImage are what each one runs.
	StableImage = "nginx:1.27"
	CanaryImage = "nginx:1.28"
	// Metric is the analysis's metric and MetricValue its last value.
	Metric      = "error-rate"
	MetricValue = "0.012"
)

// Steps are the fixture's canary steps: it stands at index 1, the pause
// until promoted, with the analysis of index 0's weight passed earlier in
// the background.
func Steps() []v1alpha1.CanaryStep {
	return []v1alpha1.CanaryStep{
		{SetWeight: ptr.To[int32](20)},
		{Pause: &v1alpha1.RolloutPause{}},
		{Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: Metric}}}},
		{SetWeight: ptr.To[int32](50)},
		{Pause: &v1alpha1.RolloutPause{Duration: ptr.To(intstr.FromString("1m"))}},
		{SetWeight: ptr.To[int32](100)},
	}
}

// Canary creates Rollout ns/name with 5 replicas paused at the pause step
// (index 1 of 6): the stable ReplicaSet runs 4 pods, the canary 1, and a
// successful background AnalysisRun has measured the error rate three
// times. It returns the Rollout as stored.
func Canary(t testing.TB, c client.Client, ns, name string) *v1alpha1.Rollout {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": name}
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](5),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: podTemplate(labels, CanaryImage),
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				Steps: Steps(),
				Analysis: &v1alpha1.RolloutAnalysisBackground{RolloutAnalysis: v1alpha1.RolloutAnalysis{
					Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: Metric}}}},
			}},
		},
	}
	must(t, c.Create(ctx, ro))
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	runName := name + "-" + CanaryHash + "-background"
	ro.Status = v1alpha1.RolloutStatus{
		Phase: v1alpha1.RolloutPhasePaused, Message: string(v1alpha1.PauseReasonCanaryPauseStep),
		PauseConditions: []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: now}},
		ControllerPause: true, CurrentStepIndex: ptr.To[int32](1),
		StableRS: StableHash, CurrentPodHash: CanaryHash,
		Replicas: 5, UpdatedReplicas: 1, ReadyReplicas: 5, AvailableReplicas: 5,
		Canary: v1alpha1.CanaryStatus{CurrentBackgroundAnalysisRunStatus: &v1alpha1.RolloutAnalysisRunStatus{
			Name: runName, Status: v1alpha1.AnalysisPhaseSuccessful}},
		Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionUnknown, Reason: "RolloutPaused",
			Message: "rollout is paused: CanaryPauseStep", LastTransitionTime: now}},
	}
	must(t, c.Status().Update(ctx, ro))
	owner := metav1.OwnerReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.RolloutKind,
		Name: ro.Name, UID: ro.UID, Controller: ptr.To(true)}
	replicaSet(t, c, ro, owner, StableHash, StableImage, 1, 4)
	replicaSet(t, c, ro, owner, CanaryHash, CanaryImage, 2, 1)

	run := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: runName, OwnerReferences: []metav1.OwnerReference{owner},
			Labels: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: CanaryHash, rollouts.RolloutTypeLabel: "Background"}},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{Name: Metric, Interval: "30s", SuccessCondition: "result[0] < 0.05",
			Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{Address: "http://prometheus:9090", Query: "error_rate"}}}}},
	}
	must(t, c.Create(ctx, run))
	var ms []v1alpha1.Measurement
	for _, v := range []string{"0.010", "0.011", MetricValue} {
		ms = append(ms, v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseSuccessful, Value: v, StartedAt: &now, FinishedAt: &now})
	}
	run.Status = v1alpha1.AnalysisRunStatus{Phase: v1alpha1.AnalysisPhaseSuccessful, StartedAt: &now,
		MetricResults: []v1alpha1.MetricResult{{Name: Metric, Phase: v1alpha1.AnalysisPhaseSuccessful, Count: 3, Successful: 3, Measurements: ms}}}
	must(t, c.Status().Update(ctx, run))
	return ro
}

func podTemplate(labels map[string]string, image string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}},
	}
}

// replicaSet creates the rollout's ReplicaSet of hash with all its pods
// ready and available.
func replicaSet(t testing.TB, c client.Client, ro *v1alpha1.Rollout, owner metav1.OwnerReference, hash, image string, revision, replicas int32) {
	t.Helper()
	labels := map[string]string{"app": ro.Name, v1alpha1.DefaultRolloutUniqueLabelKey: hash}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ro.Namespace, Name: ro.Name + "-" + hash, Labels: labels,
			Annotations:     map[string]string{rollouts.RevisionAnnotation: itoa(revision)},
			OwnerReferences: []metav1.OwnerReference{owner}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: *podTemplate(labels, image)},
	}
	must(t, c.Create(context.Background(), rs))
	rs.Status = appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas,
		FullyLabeledReplicas: replicas, ObservedGeneration: rs.Generation}
	must(t, c.Status().Update(context.Background(), rs))
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
