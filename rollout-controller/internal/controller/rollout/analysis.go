package rollout

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// BackgroundPurpose is the Analyzer purpose of
// spec.strategy.canary.analysis, which runs during the whole rollout (the
// blue-green's are in bluegreen.go).
const BackgroundPurpose = "background"

// Labels of the AnalysisRuns a rollout creates, with Argo Rollouts' keys
// and values, so its kubectl plugin and dashboards find them: besides
// these, the run carries rollouts-pod-template-hash of the revision it
// judges and the rollout's selector labels.
const (
	// RolloutTypeLabel says what the run is for: Step, Background,
	// PrePromotion or PostPromotion.
	RolloutTypeLabel = "rollout-type"
	// StepIndexLabel is the index of the canary step of a Step run.
	StepIndexLabel = "step-index"
)

// Reasons of an analysis that cannot start.
const (
	// AnalysisTemplateNotFoundReason: a template the analysis names does
	// not exist.
	AnalysisTemplateNotFoundReason = "AnalysisTemplateNotFound"
	// InvalidAnalysisReason: the templates cannot be merged into one run
	// (two metrics of one name, arguments that conflict or have no value).
	InvalidAnalysisReason = "InvalidAnalysis"
)

// analysisRetry is how often an analysis that cannot start is tried again:
// templates are read from the API server when a run is created, not
// watched, so creating the missing one is seen on this schedule.
const analysisRetry = 15 * time.Second

// analysisSlot is what a purpose means: the rollout-type label, the part
// of the run's name after the revision, and the status field that records
// the run.
type analysisSlot struct {
	rolloutType string
	infix       string
	stepIndex   string
	status      func(*v1alpha1.RolloutStatus) **v1alpha1.RolloutAnalysisRunStatus
}

// slotOf maps an Analyzer purpose to its slot.
func slotOf(purpose string) (analysisSlot, error) {
	switch purpose {
	case BackgroundPurpose:
		return analysisSlot{rolloutType: "Background", status: func(st *v1alpha1.RolloutStatus) **v1alpha1.RolloutAnalysisRunStatus {
			return &st.Canary.CurrentBackgroundAnalysisRunStatus
		}}, nil
	case PrePromotionPurpose:
		return analysisSlot{rolloutType: "PrePromotion", infix: "pre", status: func(st *v1alpha1.RolloutStatus) **v1alpha1.RolloutAnalysisRunStatus {
			return &st.BlueGreen.PrePromotionAnalysisRunStatus
		}}, nil
	case PostPromotionPurpose:
		return analysisSlot{rolloutType: "PostPromotion", infix: "post", status: func(st *v1alpha1.RolloutStatus) **v1alpha1.RolloutAnalysisRunStatus {
			return &st.BlueGreen.PostPromotionAnalysisRunStatus
		}}, nil
	}
	if index, ok := strings.CutPrefix(purpose, "step-"); ok {
		if _, err := strconv.ParseUint(index, 10, 31); err == nil {
			return analysisSlot{rolloutType: "Step", infix: index, stepIndex: index, status: func(st *v1alpha1.RolloutStatus) **v1alpha1.RolloutAnalysisRunStatus {
				return &st.Canary.CurrentStepAnalysisRunStatus
			}}, nil
		}
	}
	return analysisSlot{}, fmt.Errorf("unknown analysis purpose %q", purpose)
}

// Analysis is the rollout-controller's Analyzer: each analysis is an
// AnalysisRun, created from the templates it names and owned by the
// rollout, that the AnalysisRun reconciler measures and judges. Analysis
// only creates runs and reads their verdict, so a rollout never waits on a
// metric provider.
type Analysis struct {
	// Client reads runs (cached, the Rollout reconciler watches them) and
	// creates them.
	Client client.Client
	// APIReader reads templates, and a run the cache has not seen yet;
	// Client when nil.
	APIReader client.Reader
	// Finisher records the events of run phase changes; none when nil.
	Finisher *outcome.Finisher
}

var _ Analyzer = (*Analysis)(nil)

// Analyze reports the run of purpose for the revision in
// status.currentPodHash (which the strategy sets before it asks), and
// creates it when there is none. A recorded run is reused unless it was
// terminated, judges another revision, or ended Failed, Error or
// Inconclusive: the rollout acted on that verdict (aborted or paused), so
// being asked again is a retry or a promotion past it, and a new run (its
// name with a ".N" suffix, as Argo Rollouts does) measures again.
func (a *Analysis) Analyze(ctx context.Context, ro *v1alpha1.Rollout, purpose string, ra *v1alpha1.RolloutAnalysis) (v1alpha1.AnalysisPhase, string, error) {
	slot, err := slotOf(purpose)
	if err != nil {
		return "", "", err
	}
	hash := ro.Status.CurrentPodHash
	if hash == "" {
		return "", "", errors.New("analysis asked for before status.currentPodHash was set")
	}
	field := slot.status(&ro.Status)
	prev := *field
	if prev == nil {
		if prev, err = a.liveRecord(ctx, ro, slot); err != nil {
			return "", "", err
		}
	}
	run, err := a.recorded(ctx, ro, prev, slot, hash)
	if err != nil {
		return "", "", err
	}
	if run == nil {
		if run, err = a.create(ctx, ro, ra, slot, hash); err != nil {
			var oe *outcome.Error
			if errors.As(err, &oe) {
				ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseDegraded, oe.Reason+": "+err.Error()
			}
			return "", "", err
		}
	}
	phase := run.Status.Phase
	if phase == "" {
		phase = v1alpha1.AnalysisPhasePending
	}
	now := &v1alpha1.RolloutAnalysisRunStatus{Name: run.Name, Status: phase, Message: runDetail(run)}
	*field = now
	if prev == nil || prev.Name != now.Name || prev.Status != now.Status {
		a.event(ro, slot, now)
	}
	return phase, runMessage(now), nil
}

// liveRecord is the slot's record in the rollout as the API server has
// it. A reconcile that read the rollout from a cache that has not seen
// the last status write yet would otherwise not know the run that write
// recorded, find its name taken by a run that may have completed since,
// and start a second one; so a run is only created when the live status
// records none either.
func (a *Analysis) liveRecord(ctx context.Context, ro *v1alpha1.Rollout, slot analysisSlot) (*v1alpha1.RolloutAnalysisRunStatus, error) {
	live := &v1alpha1.Rollout{}
	if err := a.reader().Get(ctx, client.ObjectKeyFromObject(ro), live); err != nil {
		return nil, fmt.Errorf("reading the rollout: %w", err)
	}
	if live.UID != ro.UID || live.ResourceVersion == ro.ResourceVersion {
		return nil, nil
	}
	return *slot.status(&live.Status), nil
}

// recorded is the run the status records for the slot if it may be
// reused, nil when a new one is needed.
func (a *Analysis) recorded(ctx context.Context, ro *v1alpha1.Rollout, prev *v1alpha1.RolloutAnalysisRunStatus, slot analysisSlot, hash string) (*v1alpha1.AnalysisRun, error) {
	if prev == nil {
		return nil, nil
	}
	switch prev.Status {
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive:
		return nil, nil
	}
	run := &v1alpha1.AnalysisRun{}
	key := client.ObjectKey{Namespace: ro.Namespace, Name: prev.Name}
	err := a.Client.Get(ctx, key, run)
	if apierrors.IsNotFound(err) {
		// Created by the last reconcile, not in the cache yet.
		err = a.reader().Get(ctx, key, run)
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading AnalysisRun '%s': %w", prev.Name, err)
	}
	if !ours(run, ro, slot, hash) || run.Spec.Terminate {
		return nil, nil
	}
	return run, nil
}

// ours reports whether run was created by the rollout for the slot and
// revision.
func ours(run *v1alpha1.AnalysisRun, ro *v1alpha1.Rollout, slot analysisSlot, hash string) bool {
	l := run.Labels
	return metav1.IsControlledBy(run, ro) && l[v1alpha1.DefaultRolloutUniqueLabelKey] == hash &&
		l[RolloutTypeLabel] == slot.rolloutType && l[StepIndexLabel] == slot.stepIndex
}

// create makes the run of the slot from the templates: named
// <rollout>-<hash>-<revision>[-<step index>|-pre|-post] as Argo Rollouts
// names them, with a ".N" suffix when that name is taken by a run that
// cannot be reused.
func (a *Analysis) create(ctx context.Context, ro *v1alpha1.Rollout, ra *v1alpha1.RolloutAnalysis, slot analysisSlot, hash string) (*v1alpha1.AnalysisRun, error) {
	spec, err := a.runSpec(ctx, ro, ra, hash)
	if err != nil {
		return nil, err
	}
	parts := []string{ro.Name, hash}
	annotations := map[string]string{}
	if rev := a.revision(ctx, ro, hash); rev != "" {
		parts = append(parts, rev)
		annotations[RevisionAnnotation] = rev
	}
	if slot.infix != "" {
		parts = append(parts, slot.infix)
	}
	base := strings.Join(parts, "-")
	labels := map[string]string{}
	if ro.Spec.Selector != nil {
		maps.Copy(labels, ro.Spec.Selector.MatchLabels)
	}
	labels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	labels[RolloutTypeLabel] = slot.rolloutType
	if slot.stepIndex != "" {
		labels[StepIndexLabel] = slot.stepIndex
	}
	for n := 0; n < 100; n++ {
		name := base
		if n > 0 {
			name = fmt.Sprintf("%s.%d", base, n)
		}
		run := &v1alpha1.AnalysisRun{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ro.Namespace,
				Labels: maps.Clone(labels), Annotations: maps.Clone(annotations)},
			Spec: *spec.DeepCopy(),
		}
		if err := controllerutil.SetControllerReference(ro, run, a.Client.Scheme()); err != nil {
			return nil, err
		}
		err := a.Client.Create(ctx, run)
		if err == nil {
			return run, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating AnalysisRun '%s': %w", name, err)
		}
		existing := &v1alpha1.AnalysisRun{}
		if err := a.reader().Get(ctx, client.ObjectKeyFromObject(run), existing); err != nil {
			return nil, fmt.Errorf("reading AnalysisRun '%s': %w", name, err)
		}
		// This reconcile's run, created by the last one and not yet
		// recorded (its status write lost) or cached.
		if ours(existing, ro, slot, hash) && !existing.Spec.Terminate && !existing.Status.Phase.Completed() &&
			equality.Semantic.DeepEqual(existing.Spec, run.Spec) {
			return existing, nil
		}
	}
	return nil, fmt.Errorf("no free name for a new AnalysisRun %s.N", base)
}

// revision is the revision annotation of the ReplicaSet of hash, empty
// when it cannot be read.
func (a *Analysis) revision(ctx context.Context, ro *v1alpha1.Rollout, hash string) string {
	rs := &appsv1.ReplicaSet{}
	if err := a.Client.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ro.Name + "-" + hash}, rs); err != nil {
		return ""
	}
	return rs.Annotations[RevisionAnnotation]
}

// runDetail is what a run says about its verdict: its message, and for a
// run that failed, erred or was inconclusive the deciding metric with its
// last measured value.
func runDetail(run *v1alpha1.AnalysisRun) string {
	msg := run.Status.Message
	var decided *v1alpha1.MetricResult
	switch run.Status.Phase {
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive:
		for i := range run.Status.MetricResults {
			if run.Status.MetricResults[i].Phase == run.Status.Phase {
				decided = &run.Status.MetricResults[i]
				break
			}
		}
	}
	if decided == nil {
		return msg
	}
	what, found := fmt.Sprintf("metric %q is %s", decided.Name, decided.Phase), ""
	if n := len(decided.Measurements); n > 0 {
		last := decided.Measurements[n-1]
		switch {
		case last.Value != "":
			what, found = what+" with measured value "+last.Value, last.Value
		case last.Message != "":
			what, found = what+": "+last.Message, last.Message
		}
	}
	switch {
	case msg == "":
		return what
	case strings.Contains(msg, strconv.Quote(decided.Name)) && strings.Contains(msg, found):
		// The run's message names the metric and what it found already.
		return msg
	}
	return msg + "; " + what
}

// runMessage is how the rollout's messages name a run and its verdict.
func runMessage(s *v1alpha1.RolloutAnalysisRunStatus) string {
	if s.Message == "" {
		return fmt.Sprintf("AnalysisRun %s is %s", s.Name, s.Status)
	}
	return fmt.Sprintf("AnalysisRun %s is %s: %s", s.Name, s.Status, s.Message)
}

// event records a run's new phase on the rollout (reason AnalysisRun<Phase>,
// as Argo Rollouts names it), a Warning when it failed or erred.
func (a *Analysis) event(ro *v1alpha1.Rollout, slot analysisSlot, s *v1alpha1.RolloutAnalysisRunStatus) {
	if a.Finisher == nil {
		return
	}
	kind := corev1.EventTypeNormal
	if s.Status == v1alpha1.AnalysisPhaseFailed || s.Status == v1alpha1.AnalysisPhaseError {
		kind = corev1.EventTypeWarning
	}
	what := slot.rolloutType + " analysis"
	if slot.stepIndex != "" {
		what = "analysis of step " + slot.stepIndex
	}
	a.Finisher.Event(ro, "", kind, "AnalysisRun"+string(s.Status), what+": "+runMessage(s))
}

func (a *Analysis) reader() client.Reader {
	if a.APIReader != nil {
		return a.APIReader
	}
	return a.Client
}

// +kubebuilder:rbac:groups=argoproj.io,resources=analysisruns,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=argoproj.io,resources=analysistemplates;clusteranalysistemplates,verbs=get;list;watch

// Argo Rollouts' defaults of analysis.successfulRunHistoryLimit and
// analysis.unsuccessfulRunHistoryLimit: how many decided runs a rollout
// keeps besides those its status records, so that runs do not pile up
// with every revision.
const (
	successfulRunHistory   = 5
	unsuccessfulRunHistory = 5
)

// cleanUpAnalysisRuns stops the rollout's AnalysisRuns that are no longer
// needed: every one the status does not record (the rollout moved past
// the step, a new revision started, the canary was promoted), and every
// one of an aborted rollout. Terminated runs end with what they measured.
// Of the decided runs the status does not record it keeps the newest
// successfulRunHistory Successful and unsuccessfulRunHistory others, and
// deletes the rest.
func (r *Reconciler) cleanUpAnalysisRuns(ctx context.Context, s *scope) error {
	if r.Analysis == nil {
		return nil
	}
	ro := s.ro
	recorded := map[string]bool{}
	for _, rs := range []*v1alpha1.RolloutAnalysisRunStatus{
		ro.Status.Canary.CurrentStepAnalysisRunStatus, ro.Status.Canary.CurrentBackgroundAnalysisRunStatus,
		ro.Status.BlueGreen.PrePromotionAnalysisRunStatus, ro.Status.BlueGreen.PostPromotionAnalysisRunStatus,
	} {
		if rs != nil {
			recorded[rs.Name] = true
		}
	}
	var list v1alpha1.AnalysisRunList
	if err := r.Client.List(ctx, &list, client.InNamespace(ro.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("listing AnalysisRuns: %w", err)
	}
	var successful, unsuccessful []*v1alpha1.AnalysisRun
	for i := range list.Items {
		run := &list.Items[i]
		switch {
		case !metav1.IsControlledBy(run, ro) || !run.DeletionTimestamp.IsZero():
		case run.Status.Phase.Completed() && !recorded[run.Name]:
			if run.Status.Phase == v1alpha1.AnalysisPhaseSuccessful {
				successful = append(successful, run)
			} else {
				unsuccessful = append(unsuccessful, run)
			}
		case !run.Status.Phase.Completed() && !run.Spec.Terminate && (ro.Status.Abort || !recorded[run.Name]):
			stop := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: run.Namespace, Name: run.Name}}
			patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"terminate":true}}`))
			if err := r.Client.Patch(ctx, stop, patch); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("terminating AnalysisRun '%s': %w", run.Name, err)
			}
		}
	}
	for _, old := range [][]*v1alpha1.AnalysisRun{
		beyondHistory(successful, successfulRunHistory), beyondHistory(unsuccessful, unsuccessfulRunHistory),
	} {
		for _, run := range old {
			err := r.Client.Delete(ctx, &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: run.Namespace, Name: run.Name}},
				client.Preconditions{UID: &run.UID})
			if client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting old AnalysisRun '%s': %w", run.Name, err)
			}
		}
	}
	return nil
}

// beyondHistory is what is left of runs after the newest keep.
func beyondHistory(runs []*v1alpha1.AnalysisRun, keep int) []*v1alpha1.AnalysisRun {
	if len(runs) <= keep {
		return nil
	}
	slices.SortFunc(runs, func(a, b *v1alpha1.AnalysisRun) int {
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name)
	})
	return runs[keep:]
}
