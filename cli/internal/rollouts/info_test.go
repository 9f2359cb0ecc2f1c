package rollouts

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

func canary(index *int32, steps ...v1alpha1.CanaryStep) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: "u1"}}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: steps}
	ro.Status.CurrentStepIndex = index
	ro.Status.StableRS, ro.Status.CurrentPodHash = "old", "new"
	return ro
}

var (
	w20   = v1alpha1.CanaryStep{SetWeight: ptr.To[int32](20)}
	w50   = v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)}
	pause = v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}}
)

// TestPromotePatches: the plugin's decision of what a promote writes.
func TestPromotePatches(t *testing.T) {
	paused := canary(ptr.To[int32](1), w20, pause, w50)
	paused.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
	manual := canary(ptr.To[int32](0), w20, pause, w50)
	manual.Spec.Paused = true
	done := canary(ptr.To[int32](3), w20, pause, w50)
	noSteps := canary(nil)
	stable := canary(ptr.To[int32](3), w20)
	stable.Status.StableRS = "new"
	bg := &v1alpha1.Rollout{}
	bg.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "active"}
	bg.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonBlueGreenPause}}
	for _, tc := range []struct {
		name         string
		ro           *v1alpha1.Rollout
		full         bool
		spec, status map[string]any
	}{
		{"pause step: clear the pause conditions", paused, false, nil, clearPauseConditionsPatch},
		{"paused by hand mid-step: unpause and step on", manual, false, unpausePatch,
			map[string]any{"status": map[string]any{"pauseConditions": nil, "currentStepIndex": int32(1)}}},
		{"all steps done: the index stays", done, false, nil,
			map[string]any{"status": map[string]any{"pauseConditions": nil, "currentStepIndex": int32(3)}}},
		{"no steps: nothing", noSteps, false, nil, nil},
		{"blue-green waiting: clear the pause conditions", bg, false, nil, clearPauseConditionsPatch},
		{"full", paused, true, nil, promoteFullPatch},
		{"full on a stable template: nothing", stable, true, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, status := PromotePatches(tc.ro, tc.full)
			g := NewWithT(t)
			g.Expect(spec).To(Equal(tc.spec))
			g.Expect(status).To(Equal(tc.status))
		})
	}
}

// TestSetWeight: the last setWeight up to the current step; 100 when done
// or stable, 0 when aborted or before the first setWeight.
func TestSetWeight(t *testing.T) {
	aborted := canary(ptr.To[int32](2), w20, pause, w50)
	aborted.Status.Abort = true
	promoted := canary(ptr.To[int32](0), w20)
	promoted.Status.StableRS = "new"
	for _, tc := range []struct {
		name string
		ro   *v1alpha1.Rollout
		want int32
	}{
		{"at the setWeight", canary(ptr.To[int32](0), w20, pause, w50), 20},
		{"at the pause after it", canary(ptr.To[int32](1), w20, pause, w50), 20},
		{"at the second setWeight", canary(ptr.To[int32](2), w20, pause, w50), 50},
		{"index unset is step 0", canary(nil, pause, w20), 0},
		{"all steps done", canary(ptr.To[int32](3), w20, pause, w50), 100},
		{"no steps", canary(nil), 100},
		{"aborted", aborted, 0},
		{"stable template", promoted, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(SetWeight(tc.ro)).To(Equal(tc.want))
		})
	}
}

func rs(name, hash, rev string, owner types.UID, replicas int32) appsv1.ReplicaSet {
	r := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels:          map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash},
		Annotations:     map[string]string{RevisionAnnotation: rev},
		OwnerReferences: []metav1.OwnerReference{{Kind: v1alpha1.RolloutKind, Name: "web", UID: owner}}}}
	r.Spec.Replicas = &replicas
	r.Status.Replicas, r.Status.AvailableReplicas = replicas, replicas
	return r
}

// TestDescribeBlueGreen: the active and preview ReplicaSets are tagged,
// newest revision first; a scaled-down one has no role and no image line;
// a ReplicaSet of another rollout of the same name (another UID) is left
// out; a blue-green has no weights.
func TestDescribeBlueGreen(t *testing.T) {
	g := NewWithT(t)
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: "u1"}}
	ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "active", PreviewService: "preview"}
	ro.Status.StableRS, ro.Status.CurrentPodHash = "aaa", "bbb"
	ro.Status.BlueGreen.ActiveSelector, ro.Status.BlueGreen.PreviewSelector = "aaa", "bbb"
	sets := []appsv1.ReplicaSet{rs("web-old", "zzz", "1", "u1", 0), rs("web-aaa", "aaa", "2", "u1", 3),
		rs("web-bbb", "bbb", "3", "u1", 3), rs("web-ccc", "ccc", "9", "u2", 3)}
	sets[1].Spec.Template.Spec.Containers = append(sets[1].Spec.Template.Spec.Containers, corev1.Container{Image: "app:1"})
	sets[2].Spec.Template.Spec.Containers = append(sets[2].Spec.Template.Spec.Containers, corev1.Container{Image: "app:2"})
	in := Describe(ro, sets, nil)
	g.Expect(in.Strategy).To(Equal(StrategyBlueGreen))
	g.Expect(in.SetWeight).To(BeNil())
	g.Expect(in.Steps).To(BeEmpty())
	var names []string
	for _, r := range in.ReplicaSets {
		names = append(names, r.Name)
	}
	g.Expect(names).To(Equal([]string{"web-bbb", "web-aaa", "web-old"}))
	g.Expect(in.ReplicaSets[0].Roles).To(Equal([]string{RolePreview}))
	g.Expect(in.ReplicaSets[1].Roles).To(Equal([]string{RoleStable, RoleActive}))
	g.Expect(in.ReplicaSets[2].Roles).To(BeEmpty())
	g.Expect(in.ReplicaSets[2].Status).To(Equal("ScaledDown"))
	g.Expect(in.Images).To(Equal([]ImageInfo{{Image: "app:2", Roles: []string{RolePreview}}, {Image: "app:1", Roles: []string{RoleStable, RoleActive}}}))
}

// TestDescribeAnalysisRuns: runs are the rollout's own, newest first, with
// what each is for from its rollout-type label; the ones the status names
// are current; a metric's last value is its newest measurement's.
func TestDescribeAnalysisRuns(t *testing.T) {
	g := NewWithT(t)
	ro := canary(ptr.To[int32](2), w20, pause, v1alpha1.CanaryStep{Analysis: &v1alpha1.RolloutAnalysis{}})
	ro.Status.Canary.CurrentStepAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: "web-new-2.1"}
	run := func(name string, age time.Duration, owner types.UID, labels map[string]string) v1alpha1.AnalysisRun {
		return v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels,
			CreationTimestamp: metav1.NewTime(time.Unix(1e9, 0).Add(-age)),
			OwnerReferences:   []metav1.OwnerReference{{Kind: v1alpha1.RolloutKind, Name: "web", UID: owner}}}}
	}
	step := map[string]string{RolloutTypeLabel: "Step", StepIndexLabel: "2"}
	old := run("web-new-2", time.Hour, "u1", step)
	old.Status.Phase = v1alpha1.AnalysisPhaseFailed
	old.Status.MetricResults = []v1alpha1.MetricResult{{Name: "errors", Phase: v1alpha1.AnalysisPhaseFailed, Count: 2, Failed: 2,
		Measurements: []v1alpha1.Measurement{{Value: "0.3"}, {Value: "0.4"}}}}
	runs := []v1alpha1.AnalysisRun{old, run("web-new-2.1", time.Minute, "u1", step),
		run("web-bg", 2*time.Hour, "u1", map[string]string{RolloutTypeLabel: "Background"}), run("other", 0, "u2", nil)}
	in := Describe(ro, nil, runs)
	g.Expect(in.AnalysisRuns).To(HaveLen(3))
	g.Expect(in.AnalysisRuns[0]).To(MatchFields(IgnoreExtras, Fields{"Name": Equal("web-new-2.1"), "Phase": Equal("Pending"),
		"Purpose": Equal("step 2"), "Current": BeTrue()}))
	g.Expect(in.AnalysisRuns[1]).To(MatchFields(IgnoreExtras, Fields{"Name": Equal("web-new-2"), "Phase": Equal("Failed"), "Current": BeFalse()}))
	g.Expect(in.AnalysisRuns[1].Metrics).To(Equal([]MetricInfo{{Name: "errors", Phase: "Failed", Count: 2, Failed: 2, LastValue: "0.4"}}))
	g.Expect(in.AnalysisRuns[2].Purpose).To(Equal("background"))
	g.Expect(in.Steps[2].State).To(Equal(StepCurrent))
}
