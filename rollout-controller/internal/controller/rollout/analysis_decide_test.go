package rollout

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// TestMergeTemplates: templates merge as Argo Rollouts merges them:
// metrics side by side, arguments flattened (a default fills an argument
// another template left open, two different values conflict), the
// rollout's values set declared arguments only, and an argument left open
// is an error naming it.
func TestMergeTemplates(t *testing.T) {
	tmpl := func(args []v1alpha1.Argument, metrics ...string) v1alpha1.AnalysisTemplateSpec {
		s := v1alpha1.AnalysisTemplateSpec{Args: args}
		for _, m := range metrics {
			s.Metrics = append(s.Metrics, idleMetric(m))
		}
		return s
	}
	for _, tt := range []struct {
		name     string
		specs    []v1alpha1.AnalysisTemplateSpec
		args     []v1alpha1.Argument
		wantArgs map[string]string
		wantErr  string
	}{
		{
			name: "metrics side by side, a default fills an open argument, rollout values win",
			specs: []v1alpha1.AnalysisTemplateSpec{
				tmpl([]v1alpha1.Argument{arg("service", nil), arg("window", nil)}, "errors"),
				tmpl([]v1alpha1.Argument{arg("window", ptr.To("5m")), arg("quantile", ptr.To("0.9"))}, "latency"),
			},
			args:     []v1alpha1.Argument{arg("service", ptr.To("web")), arg("quantile", ptr.To("0.99")), arg("unknown", ptr.To("x"))},
			wantArgs: map[string]string{"service": "web", "window": "5m", "quantile": "0.99"},
		},
		{
			name:    "two metrics of one name",
			specs:   []v1alpha1.AnalysisTemplateSpec{tmpl(nil, "errors"), tmpl(nil, "errors")},
			wantErr: "two metrics have the same name 'errors'",
		},
		{
			name: "one argument with two values",
			specs: []v1alpha1.AnalysisTemplateSpec{
				tmpl([]v1alpha1.Argument{arg("window", ptr.To("5m"))}, "errors"),
				tmpl([]v1alpha1.Argument{arg("window", ptr.To("1m"))}, "latency"),
			},
			wantErr: "argument 'window' specified multiple times with different values: '5m', '1m'",
		},
		{
			name:    "an argument without a value",
			specs:   []v1alpha1.AnalysisTemplateSpec{tmpl([]v1alpha1.Argument{arg("service", nil)}, "errors")},
			wantErr: "args.service was not resolved",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			spec, err := mergeTemplates(tt.specs, tt.args)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(spec.Metrics).To(HaveLen(2))
			got := map[string]string{}
			for _, a := range spec.Args {
				got[a.Name] = *a.Value
			}
			g.Expect(got).To(Equal(tt.wantArgs))
			// The templates are not changed by the merge.
			g.Expect(tt.specs[0].Args[0].Value).To(BeNil())
		})
	}
}

// TestResolveArgs: a rollout's arguments take literal values, the Stable
// and Latest pod-template hashes and downward-API fields of the rollout;
// an unsupported field path is an error that lists the supported ones.
func TestResolveArgs(t *testing.T) {
	g := NewWithT(t)
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u-1",
		Labels: map[string]string{"env": "prod"}, Annotations: map[string]string{"team": "pay"}},
		Status: v1alpha1.RolloutStatus{StableRS: "old"}}
	stable, latest := v1alpha1.Stable, v1alpha1.Latest
	field := func(path string) *v1alpha1.ArgumentValueFrom {
		return &v1alpha1.ArgumentValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: path}}
	}
	args, err := resolveArgs(ro, []v1alpha1.AnalysisRunArgument{
		{Name: "literal", Value: "x"},
		{Name: "stable", ValueFrom: &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: &stable}},
		{Name: "latest", ValueFrom: &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: &latest}},
		{Name: "name", ValueFrom: field("metadata.name")},
		{Name: "namespace", ValueFrom: field("metadata.namespace")},
		{Name: "uid", ValueFrom: field("metadata.uid")},
		{Name: "env", ValueFrom: field("metadata.labels['env']")},
		{Name: "team", ValueFrom: field(`metadata.annotations["team"]`)},
		{Name: "missing", ValueFrom: field("metadata.labels['none']")},
	}, "new")
	g.Expect(err).NotTo(HaveOccurred())
	got := map[string]string{}
	for _, a := range args {
		got[a.Name] = *a.Value
	}
	g.Expect(got).To(Equal(map[string]string{"literal": "x", "stable": "old", "latest": "new", "name": "web",
		"namespace": "shop", "uid": "u-1", "env": "prod", "team": "pay", "missing": ""}))

	_, err = resolveArgs(ro, []v1alpha1.AnalysisRunArgument{{Name: "image", ValueFrom: field("spec.template.spec.containers[0].image")}}, "new")
	g.Expect(err).To(MatchError(ContainSubstring(`args.image: fieldPath "spec.template.spec.containers[0].image" is not supported`)))
}

// TestSlotOf: each purpose has Argo Rollouts' rollout-type, the part of
// the run's name after the revision and its status field.
func TestSlotOf(t *testing.T) {
	g := NewWithT(t)
	st := &v1alpha1.RolloutStatus{}
	for _, tt := range []struct {
		purpose, rolloutType, infix string
		field                       **v1alpha1.RolloutAnalysisRunStatus
	}{
		{StepPurpose(3), "Step", "3", &st.Canary.CurrentStepAnalysisRunStatus},
		{BackgroundPurpose, "Background", "", &st.Canary.CurrentBackgroundAnalysisRunStatus},
		{PrePromotionPurpose, "PrePromotion", "pre", &st.BlueGreen.PrePromotionAnalysisRunStatus},
		{PostPromotionPurpose, "PostPromotion", "post", &st.BlueGreen.PostPromotionAnalysisRunStatus},
	} {
		slot, err := slotOf(tt.purpose)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(slot.rolloutType).To(Equal(tt.rolloutType))
		g.Expect(slot.infix).To(Equal(tt.infix))
		g.Expect(slot.status(st)).To(BeIdenticalTo(tt.field))
	}
	for _, bad := range []string{"step-", "step-x", "step--1", "canary"} {
		_, err := slotOf(bad)
		g.Expect(err).To(HaveOccurred(), bad)
	}
}

// TestRunDetail: a decided run is described by its message and the
// deciding metric with its last value, once.
func TestRunDetail(t *testing.T) {
	g := NewWithT(t)
	run := &v1alpha1.AnalysisRun{Status: v1alpha1.AnalysisRunStatus{Phase: v1alpha1.AnalysisPhaseFailed,
		MetricResults: []v1alpha1.MetricResult{
			{Name: "latency", Phase: v1alpha1.AnalysisPhaseSuccessful, Measurements: []v1alpha1.Measurement{{Value: "[0.2]"}}},
			{Name: "errors", Phase: v1alpha1.AnalysisPhaseFailed, Measurements: []v1alpha1.Measurement{{Value: "[0.1]"}, {Value: "[0.31]"}}},
		}}}
	g.Expect(runDetail(run)).To(Equal(`metric "errors" is Failed with measured value [0.31]`))
	run.Status.Message = `metric "errors" assessed Failed due to failed (2) > failureLimit (1): value [0.31]`
	g.Expect(runDetail(run)).To(Equal(run.Status.Message))
	run.Status.Message = "two of two metrics decided"
	g.Expect(runDetail(run)).To(Equal(`two of two metrics decided; metric "errors" is Failed with measured value [0.31]`))
	run.Status.Phase = v1alpha1.AnalysisPhaseRunning
	g.Expect(runDetail(run)).To(Equal("two of two metrics decided"))
}

// TestDecideBackgroundAnalysis: the background analysis runs from its
// startingStep until promotion, whatever step the canary is at; its
// failure aborts at any step (and the abort keeps naming it), an
// inconclusive run pauses, and before the starting step or once promoted
// there is none.
func TestDecideBackgroundAnalysis(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bg := &v1alpha1.RolloutAnalysisBackground{StartingStep: ptr.To[int32](1),
		RolloutAnalysis: v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "errors"}}}}
	in := func() canaryInput {
		return canaryInput{Steps: canarySteps(), Desired: 10, Canary: rsCounts{2, 2}, Stable: &rsCounts{8, 8},
			CanarySettled: true, Background: bg, Now: now}
	}
	analyze := func(phase v1alpha1.AnalysisPhase, asked *[]string) analyzeFunc {
		return func(purpose string, _ *v1alpha1.RolloutAnalysis) (v1alpha1.AnalysisPhase, string, error) {
			*asked = append(*asked, purpose)
			return phase, "AnalysisRun web-1-2 is " + string(phase), nil
		}
	}
	t.Run("not before the starting step", func(t *testing.T) {
		g := NewWithT(t)
		var asked []string
		st := &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](0),
			Canary: v1alpha1.CanaryStatus{CurrentBackgroundAnalysisRunStatus: &v1alpha1.RolloutAnalysisRunStatus{Name: "old"}}}
		_, err := decideCanary(st, in(), analyze(v1alpha1.AnalysisPhaseFailed, &asked))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(asked).To(BeEmpty())
		g.Expect(st.Abort).To(BeFalse())
		g.Expect(st.Canary.CurrentBackgroundAnalysisRunStatus).To(BeNil())
	})
	t.Run("running goes on with the steps", func(t *testing.T) {
		g := NewWithT(t)
		var asked []string
		st := &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](1)}
		v, err := decideCanary(st, in(), analyze(v1alpha1.AnalysisPhaseRunning, &asked))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(asked).To(ContainElement(BackgroundPurpose))
		g.Expect(v.Pause).To(Equal(string(v1alpha1.PauseReasonCanaryPauseStep)))
	})
	t.Run("failed aborts at any step and the abort names the run", func(t *testing.T) {
		g := NewWithT(t)
		var asked []string
		st := &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](2)}
		v, err := decideCanary(st, in(), analyze(v1alpha1.AnalysisPhaseFailed, &asked))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(v.Aborted).To(BeTrue())
		g.Expect(st.Abort).To(BeTrue())
		g.Expect(v.Message).To(HavePrefix("background analysis Failed: AnalysisRun web-1-2 is Failed"))
		g.Expect([]int32{v.CanaryTarget, v.StableTarget}).To(Equal([]int32{0, 10}))

		// Later reconciles still say which run aborted it.
		st.Canary.CurrentBackgroundAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{
			Name: "web-1-2", Status: v1alpha1.AnalysisPhaseFailed, Message: `metric "errors" is Failed with measured value [0.31]`}
		asked = nil
		v, _ = decideCanary(st, in(), analyze(v1alpha1.AnalysisPhaseFailed, &asked))
		g.Expect(asked).To(BeEmpty())
		g.Expect(v.Message).To(HavePrefix(`background analysis Failed: AnalysisRun web-1-2 is Failed: metric "errors" is Failed with measured value [0.31]`))
	})
	t.Run("inconclusive pauses until promoted", func(t *testing.T) {
		g := NewWithT(t)
		var asked []string
		st := &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](2)}
		v, _ := decideCanary(st, in(), analyze(v1alpha1.AnalysisPhaseInconclusive, &asked))
		g.Expect(v.Pause).To(Equal(string(v1alpha1.PauseReasonInconclusiveAnalysis)))
		g.Expect(st.PauseConditions).To(ConsistOf(HaveField("Reason", v1alpha1.PauseReasonInconclusiveAnalysis)))
		g.Expect(*st.CurrentStepIndex).To(Equal(int32(2)))
		asked = nil
		v, _ = decideCanary(st, in(), analyze(v1alpha1.AnalysisPhaseInconclusive, &asked))
		g.Expect(asked).To(BeEmpty())
		g.Expect(v.Pause).To(Equal(string(v1alpha1.PauseReasonInconclusiveAnalysis)))
	})
	t.Run("none once promoted", func(t *testing.T) {
		g := NewWithT(t)
		var asked []string
		i := in()
		i.Stable = nil
		st := &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](5),
			Canary: v1alpha1.CanaryStatus{CurrentBackgroundAnalysisRunStatus: &v1alpha1.RolloutAnalysisRunStatus{Name: "web-1-2"}}}
		_, _ = decideCanary(st, i, analyze(v1alpha1.AnalysisPhaseRunning, &asked))
		g.Expect(asked).To(BeEmpty())
		g.Expect(st.Canary.CurrentBackgroundAnalysisRunStatus).To(BeNil())
	})
}

// TestDecidePromotedPastInconclusive: a promote after an inconclusive
// step analysis goes past the step; a promote after the background
// analysis' inconclusive run does not skip the step's own analysis.
func TestDecidePromotedPastInconclusive(t *testing.T) {
	steps := []v1alpha1.CanaryStep{
		{SetWeight: ptr.To[int32](50)},
		{Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "error-rate"}}}},
		{Pause: &v1alpha1.RolloutPause{}},
	}
	in := canaryInput{Steps: steps, Desired: 2, Canary: rsCounts{1, 1}, Stable: &rsCounts{1, 1}, CanarySettled: true,
		Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var asked []string
	analyze := func(purpose string, _ *v1alpha1.RolloutAnalysis) (v1alpha1.AnalysisPhase, string, error) {
		asked = append(asked, purpose)
		return v1alpha1.AnalysisPhaseRunning, "AnalysisRun web-1-2-1 is Running", nil
	}
	// Promoted (pause conditions removed) after the step's run was
	// inconclusive: on to the pause step.
	g := NewWithT(t)
	st := &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](1), ControllerPause: true,
		Canary: v1alpha1.CanaryStatus{CurrentStepAnalysisRunStatus: &v1alpha1.RolloutAnalysisRunStatus{
			Name: "web-1-2-1", Status: v1alpha1.AnalysisPhaseInconclusive}}}
	_, err := decideCanary(st, in, analyze)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(asked).To(BeEmpty())
	g.Expect(*st.CurrentStepIndex).To(Equal(int32(2)))

	// Promoted after the background's run was inconclusive: the step's
	// run still decides.
	st = &v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](1), ControllerPause: true,
		Canary: v1alpha1.CanaryStatus{CurrentStepAnalysisRunStatus: &v1alpha1.RolloutAnalysisRunStatus{
			Name: "web-1-2-1", Status: v1alpha1.AnalysisPhaseRunning}}}
	_, err = decideCanary(st, in, analyze)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(asked).To(Equal([]string{StepPurpose(1)}))
	g.Expect(*st.CurrentStepIndex).To(Equal(int32(1)))
}
