package rollout

import (
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// bgNow is the clock of the blue-green decision tables.
var bgNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// bgInput is a 4-replica blue-green of template "new" whose new
// ReplicaSet runs spec replicas, available of them available.
func bgInput(spec, available int32, opts ...func(*blueGreenInput)) blueGreenInput {
	in := blueGreenInput{Hash: "new", Desired: 4, Preview: 4, AutoPromotion: true,
		New: rsCounts{spec, available}, NewSettled: true, Now: bgNow}
	for _, o := range opts {
		o(&in)
	}
	return in
}

// updating is the status of a rollout whose stable and active ReplicaSet
// is "old" and whose current template is "new".
func updating() *v1alpha1.RolloutStatus {
	return &v1alpha1.RolloutStatus{StableRS: "old", CurrentPodHash: "new",
		BlueGreen: v1alpha1.BlueGreenStatus{ActiveSelector: "old"}}
}

// phaseIs is an analyzeFunc that answers phase for the purpose it expects.
func phaseIs(t *testing.T, purpose string, phase v1alpha1.AnalysisPhase) analyzeFunc {
	return func(p string, _ *v1alpha1.RolloutAnalysis) (v1alpha1.AnalysisPhase, string, error) {
		if p != purpose {
			t.Fatalf("asked for the %s analysis, want %s", p, purpose)
		}
		return phase, "metric error-rate: value 0.3", nil
	}
}

var checkAnalysis = &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "check"}}}

func TestDecideBlueGreen(t *testing.T) {
	t.Run("the first template is active and stable at once", func(t *testing.T) {
		g := NewWithT(t)
		st := &v1alpha1.RolloutStatus{CurrentPodHash: "new"}
		v, err := decideBlueGreen(st, bgInput(4, 0), nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.StableRS).To(Equal("new"))
		g.Expect(st.BlueGreen.ActiveSelector).To(Equal("new"))
		g.Expect(v).To(Equal(blueGreenVerdict{NewTarget: 4, Active: "new", Preview: "new"}))
	})
	t.Run("the preview selects the new ReplicaSet while it scales up", func(t *testing.T) {
		g := NewWithT(t)
		st := updating()
		v, _ := decideBlueGreen(st, bgInput(4, 2), nil)
		g.Expect(v.Active).To(Equal("old"))
		g.Expect(v.Preview).To(Equal("new"))
		g.Expect([]int32{v.NewTarget, v.StableTarget}).To(Equal([]int32{4, 4}))
		g.Expect(v.Message).To(ContainSubstring("2 of 4"))
		g.Expect(v.Promote).To(BeFalse())
		g.Expect(st.BlueGreen.ActiveSelector).To(Equal("old"))
	})
	t.Run("auto promotion switches and promotes once the preview is available", func(t *testing.T) {
		g := NewWithT(t)
		st := updating()
		v, _ := decideBlueGreen(st, bgInput(4, 4), nil)
		g.Expect(v.Active).To(Equal("new"))
		g.Expect(v.Promote).To(BeTrue())
		g.Expect([]int32{v.NewTarget, v.StableTarget}).To(Equal([]int32{4, 4}), "the old one stays for its scale-down delay")
		g.Expect(st.BlueGreen.ActiveSelector).To(Equal("new"))
		g.Expect(st.PauseConditions).To(BeEmpty())
	})
	t.Run("autoPromotionEnabled false pauses until the condition is removed", func(t *testing.T) {
		g := NewWithT(t)
		st := updating()
		manual := func(in *blueGreenInput) { in.AutoPromotion = false; in.AutoPromotionAfter = time.Second }
		v, _ := decideBlueGreen(st, bgInput(4, 4, manual), nil)
		g.Expect(v.Pause).To(Equal(string(v1alpha1.PauseReasonBlueGreenPause)))
		g.Expect(v.Requeue).To(BeZero(), "autoPromotionSeconds is ignored without auto promotion")
		g.Expect(v.Active).To(Equal("old"))
		g.Expect(st.ControllerPause).To(BeTrue())
		g.Expect(st.PauseConditions).To(ConsistOf(v1alpha1.PauseCondition{
			Reason: v1alpha1.PauseReasonBlueGreenPause, StartTime: metav1.Time{Time: bgNow}}))
		// An hour later, still paused.
		later := func(in *blueGreenInput) { in.Now = bgNow.Add(time.Hour) }
		v, _ = decideBlueGreen(st, bgInput(4, 4, manual, later), nil)
		g.Expect(v.Pause).NotTo(BeEmpty())
		// Promoted.
		st.PauseConditions = nil
		v, _ = decideBlueGreen(st, bgInput(4, 4, manual, later), nil)
		g.Expect(v.Pause).To(BeEmpty())
		g.Expect(v.Active).To(Equal("new"))
		g.Expect(v.Promote).To(BeTrue())
		g.Expect(st.ControllerPause).To(BeFalse())
	})
	t.Run("autoPromotionSeconds pauses that long", func(t *testing.T) {
		g := NewWithT(t)
		st := updating()
		timed := func(in *blueGreenInput) { in.AutoPromotionAfter = 30 * time.Second }
		v, _ := decideBlueGreen(st, bgInput(4, 4, timed), nil)
		g.Expect(v.Pause).To(Equal(string(v1alpha1.PauseReasonBlueGreenPause)))
		g.Expect(v.Requeue).To(Equal(30 * time.Second))
		at := func(d time.Duration) func(*blueGreenInput) { return func(in *blueGreenInput) { in.Now = bgNow.Add(d) } }
		v, _ = decideBlueGreen(st, bgInput(4, 4, timed, at(20*time.Second)), nil)
		g.Expect(v.Requeue).To(Equal(10 * time.Second))
		g.Expect(v.Active).To(Equal("old"))
		v, _ = decideBlueGreen(st, bgInput(4, 4, timed, at(30*time.Second)), nil)
		g.Expect(v.Pause).To(BeEmpty())
		g.Expect(v.Active).To(Equal("new"))
		g.Expect(st.PauseConditions).To(BeEmpty())
	})
	t.Run("previewReplicaCount: the preview runs that many, then full size before the switch", func(t *testing.T) {
		g := NewWithT(t)
		st := updating()
		preview := func(in *blueGreenInput) { in.Preview = 1; in.AutoPromotion = false }
		v, _ := decideBlueGreen(st, bgInput(0, 0, preview), nil)
		g.Expect(v.NewTarget).To(Equal(int32(1)))
		v, _ = decideBlueGreen(st, bgInput(1, 1, preview), nil)
		g.Expect(v.NewTarget).To(Equal(int32(1)))
		g.Expect(v.Pause).NotTo(BeEmpty())
		st.PauseConditions = nil
		v, _ = decideBlueGreen(st, bgInput(1, 1, preview), nil)
		g.Expect(st.BlueGreen.ScaleUpPreviewCheckPoint).To(BeTrue())
		g.Expect(v.NewTarget).To(Equal(int32(4)))
		g.Expect(v.Active).To(Equal("old"))
		v, _ = decideBlueGreen(st, bgInput(4, 3, preview), nil)
		g.Expect(v.NewTarget).To(Equal(int32(4)))
		g.Expect(v.Active).To(Equal("old"))
		g.Expect(v.Pause).To(BeEmpty(), "promoted once: no second pause")
		v, _ = decideBlueGreen(st, bgInput(4, 4, preview), nil)
		g.Expect(v.Active).To(Equal("new"))
		g.Expect(v.Promote).To(BeTrue())
		g.Expect(st.BlueGreen.ScaleUpPreviewCheckPoint).To(BeFalse())
	})
	t.Run("spec.paused holds the switch", func(t *testing.T) {
		g := NewWithT(t)
		st := updating()
		v, _ := decideBlueGreen(st, bgInput(4, 4, func(in *blueGreenInput) { in.Paused = true }), nil)
		g.Expect(v.Pause).To(Equal(manualPauseMessage))
		g.Expect(v.Active).To(Equal("old"))
	})
	t.Run("promoteFull skips the pause and the analyses", func(t *testing.T) {
		g := NewWithT(t)
		st := updating()
		st.PromoteFull = true
		full := func(in *blueGreenInput) {
			in.AutoPromotion, in.Preview = false, 1
			in.PrePromotion, in.PostPromotion = checkAnalysis, checkAnalysis
		}
		v, _ := decideBlueGreen(st, bgInput(1, 1, full), nil)
		g.Expect(v.NewTarget).To(Equal(int32(4)))
		g.Expect(v.Active).To(Equal("old"))
		v, _ = decideBlueGreen(st, bgInput(4, 4, full), nil)
		g.Expect(v.Active).To(Equal("new"))
		g.Expect(v.Promote).To(BeTrue())
		g.Expect(st.PromoteFull).To(BeFalse())
	})
	t.Run("abort: active stays on stable and the preview goes", func(t *testing.T) {
		g := NewWithT(t)
		st := updating()
		st.Abort = true
		v, _ := decideBlueGreen(st, bgInput(4, 4), nil)
		g.Expect(v.Aborted).To(BeTrue())
		g.Expect(v).To(HaveField("Active", "old"))
		g.Expect(v).To(HaveField("Preview", "old"))
		g.Expect([]int32{v.NewTarget, v.StableTarget}).To(Equal([]int32{0, 4}))
		g.Expect(st.AbortedAt.Time).To(Equal(bgNow))
		// Retry: abort cleared, the preview comes back.
		st.Abort = false
		v, _ = decideBlueGreen(st, bgInput(0, 0), nil)
		g.Expect(v.Aborted).To(BeFalse())
		g.Expect(v.NewTarget).To(Equal(int32(4)))
		g.Expect(st.AbortedAt).To(BeNil())
	})
}

func TestDecideBlueGreenAnalysis(t *testing.T) {
	pre := func(in *blueGreenInput) { in.PrePromotion = checkAnalysis }
	post := func(in *blueGreenInput) { in.PostPromotion = checkAnalysis }
	t.Run("without an analyzer the switch holds with a message", func(t *testing.T) {
		g := NewWithT(t)
		st := updating()
		v, err := decideBlueGreen(st, bgInput(4, 4, pre), nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(v.Active).To(Equal("old"))
		g.Expect(v.Message).To(Equal("pre-promotion analysis is waiting: this rollout-controller runs no analysis"))
	})
	t.Run("the pre-promotion analysis waits for the preview", func(t *testing.T) {
		g := NewWithT(t)
		st := updating()
		v, _ := decideBlueGreen(st, bgInput(4, 2, pre), func(string, *v1alpha1.RolloutAnalysis) (v1alpha1.AnalysisPhase, string, error) {
			t.Fatal("analysis started before the preview was available")
			return "", "", nil
		})
		g.Expect(v.Active).To(Equal("old"))
	})
	tests := []struct {
		name        string
		opt         func(*blueGreenInput)
		purpose     string
		phase       v1alpha1.AnalysisPhase
		wantActive  string
		wantPromote bool
		wantAbort   bool
		wantPause   bool
	}{
		{"pre-promotion running holds", pre, PrePromotionPurpose, v1alpha1.AnalysisPhaseRunning, "old", false, false, false},
		{"pre-promotion successful switches", pre, PrePromotionPurpose, v1alpha1.AnalysisPhaseSuccessful, "new", true, false, false},
		{"pre-promotion inconclusive pauses", pre, PrePromotionPurpose, v1alpha1.AnalysisPhaseInconclusive, "old", false, false, true},
		{"pre-promotion failed aborts", pre, PrePromotionPurpose, v1alpha1.AnalysisPhaseFailed, "old", false, true, false},
		{"post-promotion running: switched, not stable", post, PostPromotionPurpose, v1alpha1.AnalysisPhaseRunning, "new", false, false, false},
		{"post-promotion successful promotes", post, PostPromotionPurpose, v1alpha1.AnalysisPhaseSuccessful, "new", true, false, false},
		{"post-promotion failed switches back", post, PostPromotionPurpose, v1alpha1.AnalysisPhaseError, "old", false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			st := updating()
			v, err := decideBlueGreen(st, bgInput(4, 4, tt.opt), phaseIs(t, tt.purpose, tt.phase))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(v.Active).To(Equal(tt.wantActive))
			g.Expect(st.BlueGreen.ActiveSelector).To(Equal(tt.wantActive))
			g.Expect(v.Promote).To(Equal(tt.wantPromote))
			g.Expect(v.Aborted).To(Equal(tt.wantAbort))
			g.Expect(st.Abort).To(Equal(tt.wantAbort))
			g.Expect(v.Pause != "").To(Equal(tt.wantPause))
			g.Expect(v.Analyzing).To(Equal(tt.phase == v1alpha1.AnalysisPhaseRunning),
				"only an undecided analysis stops the progress deadline")
			if tt.wantAbort {
				g.Expect(v.Message).To(ContainSubstring(tt.purpose + " analysis " + string(tt.phase)))
				g.Expect(v.Message).To(ContainSubstring("metric error-rate: value 0.3"))
				g.Expect([]int32{v.NewTarget, v.StableTarget}).To(Equal([]int32{0, 4}))
			}
		})
	}
	t.Run("an error of the hook is returned", func(t *testing.T) {
		g := NewWithT(t)
		_, err := decideBlueGreen(updating(), bgInput(4, 4, pre), func(string, *v1alpha1.RolloutAnalysis) (v1alpha1.AnalysisPhase, string, error) {
			return "", "", errors.New("api down")
		})
		g.Expect(err).To(MatchError("api down"))
	})
}

func TestRestartBlueGreen(t *testing.T) {
	g := NewWithT(t)
	st := &v1alpha1.RolloutStatus{StableRS: "old", CurrentPodHash: "new", Abort: true, PromoteFull: true,
		ControllerPause: true, PauseConditions: []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonBlueGreenPause}},
		BlueGreen: v1alpha1.BlueGreenStatus{ActiveSelector: "new", ScaleUpPreviewCheckPoint: true,
			PostPromotionAnalysisRunStatus: &v1alpha1.RolloutAnalysisRunStatus{Name: "run"}}}
	g.Expect(restartBlueGreen(st, "new")).To(BeFalse())
	g.Expect(st.Abort).To(BeTrue())
	g.Expect(restartBlueGreen(st, "newer")).To(BeTrue())
	g.Expect(st.CurrentPodHash).To(Equal("newer"))
	g.Expect(st.Abort || st.PromoteFull || st.ControllerPause || st.BlueGreen.ScaleUpPreviewCheckPoint).To(BeFalse())
	g.Expect(st.PauseConditions).To(BeEmpty())
	g.Expect(st.BlueGreen.PostPromotionAnalysisRunStatus).To(BeNil())
	g.Expect(st.BlueGreen.ActiveSelector).To(Equal("old"), "an unfinished promotion goes back to the stable ReplicaSet")
}

func TestDelayedScaleDown(t *testing.T) {
	rs := func(annotation string) *appsv1.ReplicaSet {
		r := &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](3)}}
		if annotation != "" {
			r.Annotations = map[string]string{ScaleDownDeadlineAnnotation: annotation}
		}
		return r
	}
	tests := []struct {
		name       string
		annotation string
		want       int32
		left       time.Duration
	}{
		{"no deadline: down at once", "", 0, 0},
		{"deadline ahead: kept", bgNow.Add(20 * time.Second).Format(time.RFC3339), 3, 20 * time.Second},
		{"deadline passed: down", bgNow.Add(-time.Second).Format(time.RFC3339), 0, 0},
		{"deadline that does not parse: down", "tomorrow", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, left := delayedScaleDown(rs(tt.annotation), bgNow)
			NewWithT(t).Expect([]any{n, left}).To(Equal([]any{tt.want, tt.left}))
		})
	}
}
