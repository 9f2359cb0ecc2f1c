// Package rollouts shows and drives Rollouts (argoproj.io/v1alpha1) as
// Argo Rollouts' kubectl plugin does, so a team can use either tool on the
// same objects: `get` reads the Rollout, its ReplicaSets and AnalysisRuns
// and says where the rollout stands (strategy, phase, step N/M, set and
// actual weight, which ReplicaSet is stable, canary, active or preview);
// promote, abort, retry, pause and resume make exactly the plugin's writes
// (the same merge patches, status ones through the status subresource).
// Everything runs with the user's own client, so RBAC decides. The CLI's
// `ferry rollout` verbs, `ferry get` and the web UI's Rollout page share it.
//
// Describe is a pure function of the objects, so what the CLI and the UI
// show is tested in tables without a cluster.
package rollouts

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// RevisionAnnotation is the revision number Argo Rollouts (and Ferry's
// rollout-controller) write on each ReplicaSet of a Rollout.
const RevisionAnnotation = "rollout.argoproj.io/revision"

// Strategies, as the plugin names them.
const (
	StrategyCanary    = "Canary"
	StrategyBlueGreen = "BlueGreen"
)

// Roles a ReplicaSet plays, the plugin's tags.
const (
	RoleStable  = "stable"
	RoleCanary  = "canary"
	RoleActive  = "active"
	RolePreview = "preview"
)

// Step states, for the steps list.
const (
	StepDone    = "done"
	StepCurrent = "current"
	StepPending = "pending"
)

// Info is what `ferry rollout get` prints and the UI's Rollout page shows.
type Info struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Strategy is Canary or BlueGreen.
	Strategy string `json:"strategy"`
	// Phase is status.phase (Healthy, Progressing, Paused, Degraded); an
	// object no controller reported on yet is Progressing, as the plugin
	// shows it.
	Phase   string `json:"phase"`
	Message string `json:"message,omitempty"`
	// Paused is spec.paused (a pause by a person); PauseReasons are the
	// controller's status.pauseConditions.
	Paused       bool     `json:"paused"`
	PauseReasons []string `json:"pauseReasons,omitempty"`
	Aborted      bool     `json:"aborted"`
	PromoteFull  bool     `json:"promoteFull,omitempty"`
	// Step is "index/count" as the plugin prints it; empty without steps.
	Step  string     `json:"step,omitempty"`
	Steps []StepInfo `json:"steps,omitempty"`
	// SetWeight is the weight the current step asks for, ActualWeight the
	// one reached: the traffic router's when one is used, else the share
	// of available pods that are the canary's. Canary only.
	SetWeight    *int32 `json:"setWeight,omitempty"`
	ActualWeight *int32 `json:"actualWeight,omitempty"`
	// Images are the containers' images with the roles of the ReplicaSets
	// that run them.
	Images []ImageInfo `json:"images,omitempty"`

	Desired   int32 `json:"desired"`
	Current   int32 `json:"current"`
	Updated   int32 `json:"updated"`
	Ready     int32 `json:"ready"`
	Available int32 `json:"available"`

	StableRS        string `json:"stableRS,omitempty"`
	CurrentPodHash  string `json:"currentPodHash,omitempty"`
	ActiveSelector  string `json:"activeSelector,omitempty"`
	PreviewSelector string `json:"previewSelector,omitempty"`

	// ReplicaSets are newest revision first.
	ReplicaSets []ReplicaSetInfo `json:"replicaSets,omitempty"`
	// AnalysisRuns are the rollout's runs, newest first.
	AnalysisRuns []AnalysisRunInfo `json:"analysisRuns,omitempty"`
	// Notes say what could not be read (RBAC), so nothing is hidden
	// behind a silent failure.
	Notes []string `json:"notes,omitempty"`
}

// StepInfo is one canary step.
type StepInfo struct {
	Index int32  `json:"index"`
	Text  string `json:"text"`
	// State is done, current or pending.
	State string `json:"state"`
}

// ImageInfo is one image and the roles of the ReplicaSets running it.
type ImageInfo struct {
	Image string   `json:"image"`
	Roles []string `json:"roles,omitempty"`
}

// ReplicaSetInfo is one ReplicaSet of the rollout.
type ReplicaSetInfo struct {
	Name     string    `json:"name"`
	Revision int       `json:"revision"`
	Hash     string    `json:"hash"`
	Roles    []string  `json:"roles,omitempty"`
	Status   string    `json:"status"`
	Images   []string  `json:"images,omitempty"`
	Created  time.Time `json:"created"`

	Desired   int32 `json:"desired"`
	Current   int32 `json:"current"`
	Ready     int32 `json:"ready"`
	Available int32 `json:"available"`
}

// AnalysisRunInfo is one AnalysisRun with its metrics' results.
type AnalysisRunInfo struct {
	Name    string    `json:"name"`
	Phase   string    `json:"phase"`
	Message string    `json:"message,omitempty"`
	Created time.Time `json:"created"`
	// Purpose is what the rollout runs it for: "step N", background,
	// pre-promotion or post-promotion, from the run's rollout-type label
	// (or the status field that names it).
	Purpose string `json:"purpose,omitempty"`
	// Current is true for the runs the rollout's status names: the ones
	// that decide the rollout now.
	Current bool         `json:"current,omitempty"`
	Hash    string       `json:"hash,omitempty"`
	Metrics []MetricInfo `json:"metrics,omitempty"`
}

// MetricInfo is one metric's result.
type MetricInfo struct {
	Name         string `json:"name"`
	Phase        string `json:"phase"`
	Message      string `json:"message,omitempty"`
	Count        int32  `json:"count"`
	Successful   int32  `json:"successful"`
	Failed       int32  `json:"failed"`
	Inconclusive int32  `json:"inconclusive"`
	Error        int32  `json:"error"`
	// LastValue is the value of the newest measurement.
	LastValue string `json:"lastValue,omitempty"`
}

// Strategy is Canary or BlueGreen; a rollout with neither rolls out as a
// canary without steps.
func Strategy(ro *v1alpha1.Rollout) string {
	if ro.Spec.Strategy.BlueGreen != nil {
		return StrategyBlueGreen
	}
	return StrategyCanary
}

// Phase is status.phase, Progressing before a controller reported.
func Phase(ro *v1alpha1.Rollout) string {
	if ro.Status.Phase == "" {
		return string(v1alpha1.RolloutPhaseProgressing)
	}
	return string(ro.Status.Phase)
}

func steps(ro *v1alpha1.Rollout) []v1alpha1.CanaryStep {
	if c := ro.Spec.Strategy.Canary; c != nil {
		return c.Steps
	}
	return nil
}

// StepIndex is status.currentStepIndex, 0 while unset, and the number of
// steps; ok is false without canary steps.
func StepIndex(ro *v1alpha1.Rollout) (index, count int32, ok bool) {
	s := steps(ro)
	if len(s) == 0 {
		return 0, 0, false
	}
	if ro.Status.CurrentStepIndex != nil {
		index = *ro.Status.CurrentStepIndex
	}
	return min(index, int32(len(s))), int32(len(s)), true
}

// Step is "index/count", as the plugin prints it; "" without steps.
func Step(ro *v1alpha1.Rollout) string {
	index, count, ok := StepIndex(ro)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d/%d", index, count)
}

// SetWeight is the canary weight the current step asks for: 0 when
// aborted, 100 once every step is done or the current template is the
// stable one, else the last setWeight up to the current step.
func SetWeight(ro *v1alpha1.Rollout) int32 {
	if ro.Status.Abort {
		return 0
	}
	if ro.Status.StableRS != "" && ro.Status.StableRS == ro.Status.CurrentPodHash {
		return 100
	}
	index, count, ok := StepIndex(ro)
	if !ok || index >= count {
		return 100
	}
	s := steps(ro)
	for i := index; i >= 0; i-- {
		if w := s[i].SetWeight; w != nil {
			return *w
		}
	}
	return 0
}

// StepText says what a step does, in the manifest's words.
func StepText(s v1alpha1.CanaryStep) string {
	switch {
	case s.SetWeight != nil:
		return fmt.Sprintf("setWeight: %d", *s.SetWeight)
	case s.Pause != nil:
		if s.Pause.Duration == nil {
			return "pause: {} (until promoted)"
		}
		return "pause: " + s.Pause.Duration.String()
	case s.SetCanaryScale != nil:
		c := s.SetCanaryScale
		switch {
		case c.Replicas != nil:
			return fmt.Sprintf("setCanaryScale: %d replicas", *c.Replicas)
		case c.Weight != nil:
			return fmt.Sprintf("setCanaryScale: %d%%", *c.Weight)
		default:
			return "setCanaryScale: matchTrafficWeight"
		}
	case s.Analysis != nil:
		return "analysis: " + templateNames(s.Analysis.Templates)
	}
	return "unknown step"
}

func templateNames(refs []v1alpha1.AnalysisTemplateRef) string {
	names := make([]string, 0, len(refs))
	for _, t := range refs {
		n := t.TemplateName
		if t.ClusterScope {
			n += " (cluster)"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

// Describe puts a Rollout, its ReplicaSets and its AnalysisRuns together
// as the plugin shows them. rss and runs may hold objects of other
// rollouts; only the ones the rollout owns are kept.
func Describe(ro *v1alpha1.Rollout, rss []appsv1.ReplicaSet, runs []v1alpha1.AnalysisRun) Info {
	st := ro.Status
	in := Info{Namespace: ro.Namespace, Name: ro.Name, Strategy: Strategy(ro), Phase: Phase(ro), Message: st.Message,
		Paused: ro.Spec.Paused, Aborted: st.Abort, PromoteFull: st.PromoteFull, Step: Step(ro),
		Desired: ro.GetReplicas(), Current: st.Replicas, Updated: st.UpdatedReplicas, Ready: st.ReadyReplicas,
		Available: st.AvailableReplicas, StableRS: st.StableRS, CurrentPodHash: st.CurrentPodHash,
		ActiveSelector: st.BlueGreen.ActiveSelector, PreviewSelector: st.BlueGreen.PreviewSelector}
	for _, c := range st.PauseConditions {
		in.PauseReasons = append(in.PauseReasons, string(c.Reason))
	}
	if index, _, ok := StepIndex(ro); ok {
		for i, s := range steps(ro) {
			state := StepPending
			switch {
			case int32(i) < index:
				state = StepDone
			case int32(i) == index:
				state = StepCurrent
			}
			in.Steps = append(in.Steps, StepInfo{Index: int32(i), Text: StepText(s), State: state})
		}
	}
	for i := range rss {
		if ownedBy(rss[i].OwnerReferences, ro) {
			in.ReplicaSets = append(in.ReplicaSets, replicaSetInfo(ro, &rss[i]))
		}
	}
	sort.SliceStable(in.ReplicaSets, func(i, j int) bool { return in.ReplicaSets[i].Revision > in.ReplicaSets[j].Revision })
	in.Images = images(in.ReplicaSets)
	if in.Strategy == StrategyCanary {
		set := SetWeight(ro)
		actual := actualWeight(ro, in.ReplicaSets)
		in.SetWeight, in.ActualWeight = &set, &actual
	}
	in.AnalysisRuns = analysisRuns(ro, runs)
	return in
}

// ownedBy is true when refs name the rollout as the owner (by UID when
// both have one, else by kind and name).
func ownedBy(refs []metav1.OwnerReference, ro *v1alpha1.Rollout) bool {
	for _, r := range refs {
		if r.Kind != v1alpha1.RolloutKind {
			continue
		}
		if ro.UID != "" && r.UID != "" {
			if r.UID == ro.UID {
				return true
			}
			continue
		}
		if r.Name == ro.Name {
			return true
		}
	}
	return false
}

func replicaSetInfo(ro *v1alpha1.Rollout, rs *appsv1.ReplicaSet) ReplicaSetInfo {
	st := ro.Status
	hash := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	rev, _ := strconv.Atoi(rs.Annotations[RevisionAnnotation])
	info := ReplicaSetInfo{Name: rs.Name, Revision: rev, Hash: hash, Created: rs.CreationTimestamp.Time,
		Current: rs.Status.Replicas, Ready: rs.Status.ReadyReplicas, Available: rs.Status.AvailableReplicas}
	if rs.Spec.Replicas != nil {
		info.Desired = *rs.Spec.Replicas
	}
	if hash != "" {
		if hash == st.StableRS {
			info.Roles = append(info.Roles, RoleStable)
		}
		if Strategy(ro) == StrategyBlueGreen {
			if hash == st.BlueGreen.ActiveSelector {
				info.Roles = append(info.Roles, RoleActive)
			} else if hash == st.BlueGreen.PreviewSelector {
				info.Roles = append(info.Roles, RolePreview)
			}
		} else if hash == st.CurrentPodHash && hash != st.StableRS {
			info.Roles = append(info.Roles, RoleCanary)
		}
	}
	for _, c := range rs.Spec.Template.Spec.Containers {
		info.Images = append(info.Images, c.Image)
	}
	switch {
	case info.Desired == 0 && info.Current == 0:
		info.Status = "ScaledDown"
	case info.Available >= info.Desired && info.Current == info.Desired:
		info.Status = "Healthy"
	default:
		info.Status = "Progressing"
	}
	return info
}

// images lists each image once with the roles of the ReplicaSets that run
// it; ReplicaSets without a role are left out, as the plugin does.
func images(rss []ReplicaSetInfo) []ImageInfo {
	var out []ImageInfo
	index := map[string]int{}
	for _, rs := range rss {
		if len(rs.Roles) == 0 {
			continue
		}
		for _, img := range rs.Images {
			i, ok := index[img]
			if !ok {
				i = len(out)
				index[img] = i
				out = append(out, ImageInfo{Image: img})
			}
			for _, r := range rs.Roles {
				if !contains(out[i].Roles, r) {
					out[i].Roles = append(out[i].Roles, r)
				}
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// actualWeight is the traffic router's canary weight when the controller
// reported one, else the canary's share of the available pods.
func actualWeight(ro *v1alpha1.Rollout, rss []ReplicaSetInfo) int32 {
	if w := ro.Status.Canary.Weights; w != nil {
		return w.Canary.Weight
	}
	if ro.Status.AvailableReplicas <= 0 {
		return 0
	}
	for _, rs := range rss {
		if rs.Hash != "" && rs.Hash == ro.Status.CurrentPodHash {
			return rs.Available * 100 / ro.Status.AvailableReplicas
		}
	}
	return 0
}

// purposes maps the AnalysisRun names the status records to what each is
// for.
func purposes(ro *v1alpha1.Rollout) map[string]string {
	out := map[string]string{}
	add := func(s *v1alpha1.RolloutAnalysisRunStatus, purpose string) {
		if s != nil && s.Name != "" {
			out[s.Name] = purpose
		}
	}
	add(ro.Status.Canary.CurrentStepAnalysisRunStatus, "step")
	add(ro.Status.Canary.CurrentBackgroundAnalysisRunStatus, "background")
	add(ro.Status.BlueGreen.PrePromotionAnalysisRunStatus, "pre-promotion")
	add(ro.Status.BlueGreen.PostPromotionAnalysisRunStatus, "post-promotion")
	return out
}

// Labels Argo Rollouts (and Ferry's rollout-controller) put on the
// AnalysisRuns of a rollout: what each is for and, for a step's, which.
const (
	RolloutTypeLabel = "rollout-type"
	StepIndexLabel   = "step-index"
)

// labelPurpose words the rollout-type label of a run; "" without one.
func labelPurpose(labels map[string]string) string {
	switch labels[RolloutTypeLabel] {
	case "Step":
		return strings.TrimSpace("step " + labels[StepIndexLabel])
	case "Background":
		return "background"
	case "PrePromotion":
		return "pre-promotion"
	case "PostPromotion":
		return "post-promotion"
	}
	return ""
}

func analysisRuns(ro *v1alpha1.Rollout, runs []v1alpha1.AnalysisRun) []AnalysisRunInfo {
	named := purposes(ro)
	var out []AnalysisRunInfo
	for i := range runs {
		ar := &runs[i]
		purpose, current := named[ar.Name]
		if !current && !ownedBy(ar.OwnerReferences, ro) {
			continue
		}
		if p := labelPurpose(ar.Labels); p != "" {
			purpose = p
		}
		info := AnalysisRunInfo{Name: ar.Name, Phase: string(ar.Status.Phase), Message: ar.Status.Message,
			Created: ar.CreationTimestamp.Time, Purpose: purpose, Current: current, Hash: ar.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]}
		if info.Phase == "" {
			info.Phase = string(v1alpha1.AnalysisPhasePending)
		}
		for _, m := range ar.Status.MetricResults {
			mi := MetricInfo{Name: m.Name, Phase: string(m.Phase), Message: m.Message, Count: m.Count,
				Successful: m.Successful, Failed: m.Failed, Inconclusive: m.Inconclusive, Error: m.Error}
			if n := len(m.Measurements); n > 0 {
				mi.LastValue = m.Measurements[n-1].Value
			}
			info.Metrics = append(info.Metrics, mi)
		}
		out = append(out, info)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].Name > out[j].Name
	})
	return out
}
