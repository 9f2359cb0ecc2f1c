// Package analysisrun runs AnalysisRuns (argoproj.io/v1alpha1) as Argo
// Rollouts does: each metric is measured on its own schedule (the first
// measurement after initialDelay, then one every interval, count times or
// until the run ends), each measurement is judged Successful, Failed,
// Inconclusive or Error by the metric's successCondition and
// failureCondition, and failureLimit, inconclusiveLimit and
// consecutiveErrorLimit decide the metric; the run takes its worst
// metric's phase. Rollouts create the runs and read status.phase and
// status.message.
//
// The conditions are expr-lang expressions, the language Argo Rollouts
// evaluates them in (see analysis/condition), so the AnalysisTemplates of
// Argo Rollouts' documentation and the ones teams already keep in Git work
// unchanged: `result[0] < 0.05` over a Prometheus vector, `result > 0.9`
// over a scalar, `len(result) > 0`, `result.ok == true` over a web
// metric's JSON.
//
// Everything the schedule needs is in status (each measurement's
// finishedAt, the counters), so the reconciler holds no state: a
// reconcile takes the measurements that are due and asks to be requeued
// when the next one is, and a restarted controller carries on where the
// status says the run is. The decisions (what is due, what a metric's
// counters mean, the run's verdict) are pure functions of the resolved
// metrics, the status and the clock, tested in tables.
package analysisrun

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// +kubebuilder:rbac:groups=argoproj.io,resources=analysisruns,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=analysisruns/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=analysisruns/finalizers,verbs=get;create;update;patch;delete

// Finalizer lets the controller forget a deleted run's metrics.
const Finalizer = "finalizers.fluxcd.io"

// Reconciler takes an AnalysisRun's measurements and decides it.
type Reconciler struct {
	Client client.Client
	// APIReader reads a run from the API server before measuring, so a
	// cache that has not yet seen the last measurement cannot make the
	// reconciler take it twice; nil trusts Client.
	APIReader client.Reader
	Finisher  outcome.Finisher
	// Concurrent is how many AnalysisRuns reconcile at once; one when zero.
	Concurrent int
	// HTTPClient sends web metrics' requests; http.DefaultClient when nil.
	HTTPClient *http.Client
	// Now is the clock of the schedule; time.Now when nil.
	Now func() time.Time
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// SetupWithManager registers the reconciler. A run is reconciled when it
// is created, its spec changes (spec.terminate), a reconcile is requested
// or it is deleted, and otherwise by its own requeues: its status writes
// are its own and need no reconcile. A decided run is not reconciled again
// when the controller starts: it would only repeat its verdict's event.
func (r *Reconciler) SetupWithManager(_ context.Context, mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.AnalysisRun{}, builder.WithPredicates(runPredicate())).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Concurrent}).
		Complete(r)
}

// runPredicate lets through what can change a run's course.
func runPredicate() predicate.Predicate {
	decided := func(o client.Object) bool {
		run, ok := o.(*v1alpha1.AnalysisRun)
		return ok && run.Status.Phase.Completed()
	}
	requested := func(e event.UpdateEvent) bool {
		a, _ := meta.ReconcileAnnotationValue(e.ObjectOld.GetAnnotations())
		b, ok := meta.ReconcileAnnotationValue(e.ObjectNew.GetAnnotations())
		return ok && a != b
	}
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool { return !decided(e.Object) },
		UpdateFunc: func(e event.UpdateEvent) bool {
			switch {
			case !e.ObjectNew.GetDeletionTimestamp().IsZero(), requested(e):
				return true
			}
			return e.ObjectNew.GetGeneration() != e.ObjectOld.GetGeneration() && !decided(e.ObjectNew)
		},
	}
}

// Reconcile runs the run's steps through the shared lifecycle.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return outcome.Lifecycle[*v1alpha1.AnalysisRun]{
		Client:    r.Client,
		Finisher:  &r.Finisher,
		Finalizer: Finalizer,
		Suspended: func(*v1alpha1.AnalysisRun) bool { return false },
		Steps: func(ctx context.Context, run *v1alpha1.AnalysisRun, _ *patch.SerialPatcher) error {
			return r.reconcile(ctx, run)
		},
	}.Run(ctx, req.NamespacedName, &v1alpha1.AnalysisRun{})
}

// reconcile resolves the run's arguments, takes the measurements that are
// due, assesses the metrics and the run, and reports.
func (r *Reconciler) reconcile(ctx context.Context, run *v1alpha1.AnalysisRun) error {
	if run.Status.Phase.Completed() {
		return r.report(run, "", time.Time{})
	}
	was := run.Status.Phase
	metrics, err := resolve(run)
	if err != nil {
		run.Status.Phase = v1alpha1.AnalysisPhaseError
		run.Status.Message = fmt.Sprintf("unable to resolve metric arguments: %v", err)
		return r.report(run, was, time.Time{})
	}
	now := r.now()
	if run.Status.StartedAt == nil {
		run.Status.StartedAt = metaTime(now)
	}
	dueNow := r.dueMetrics(run, metrics, now)
	if len(dueNow) > 0 {
		fresh, err := r.refresh(ctx, run)
		if err != nil {
			return err
		}
		if fresh {
			// The cache was behind: decide again on what the API server
			// holds.
			return r.reconcile(ctx, run)
		}
	}
	for _, m := range dueNow {
		record(result(&run.Status, m.Name), r.measure(ctx, m))
	}
	run.Status.Phase, run.Status.Message = assess(run, metrics)
	return r.report(run, was, next(run, metrics, r.now()))
}

// dueMetrics are the metrics to measure now; none once the run
// terminates.
func (r *Reconciler) dueMetrics(run *v1alpha1.AnalysisRun, metrics []metric, now time.Time) []metric {
	if terminating(run) {
		return nil
	}
	var out []metric
	for _, m := range metrics {
		if ok, _ := due(m, result(&run.Status, m.Name), run.Status.StartedAt.Time, now); ok {
			out = append(out, m)
		}
	}
	return out
}

// refresh replaces run with the API server's copy when that is newer than
// the cached one, and reports whether it did.
func (r *Reconciler) refresh(ctx context.Context, run *v1alpha1.AnalysisRun) (bool, error) {
	if r.APIReader == nil {
		return false, nil
	}
	live := &v1alpha1.AnalysisRun{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(run), live); err != nil {
		return false, outcome.RetryErr(meta.FailedReason, fmt.Errorf("reading the run: %w", err))
	}
	if live.ResourceVersion == run.ResourceVersion {
		return false, nil
	}
	live.DeepCopyInto(run)
	return true, nil
}

// report ends the reconcile by the run's phase: Running is progress
// (Ready Unknown, Reconciling) requeued for the next measurement at;
// Successful is Ready True; Failed, Inconclusive and Error are final
// (Ready False, Stalled) with the message that names the metric and the
// value, recorded as a Warning event by Finish. was is the phase the
// reconcile started from: a run that has just succeeded says so in a
// Normal event.
func (r *Reconciler) report(run *v1alpha1.AnalysisRun, was v1alpha1.AnalysisPhase, at time.Time) error {
	reason := phaseReason(run.Status.Phase)
	switch run.Status.Phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		msg := "analysis successful"
		if run.Status.Message != "" {
			msg += ": " + run.Status.Message
		}
		conditions.MarkTrue(run, meta.ReadyCondition, reason, "%s", msg)
		if was != run.Status.Phase {
			r.Finisher.Event(run, "", corev1.EventTypeNormal, reason, msg)
		}
		return nil
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseInconclusive, v1alpha1.AnalysisPhaseError:
		msg := run.Status.Message
		if msg == "" {
			msg = fmt.Sprintf("analysis %s", run.Status.Phase)
		}
		return outcome.StallErr(reason, errors.New(msg))
	}
	after := errorRetryInterval
	if !at.IsZero() {
		after = max(at.Sub(r.now()), time.Millisecond)
	}
	return outcome.ProgressErr(reason, after, errors.New(runningMessage(run, after)))
}

// runningMessage says how far a running run is.
func runningMessage(run *v1alpha1.AnalysisRun, after time.Duration) string {
	var taken int32
	for _, res := range run.Status.MetricResults {
		taken += res.Count + res.Error
	}
	return fmt.Sprintf("analysis running: %d measurements taken, next in %s", taken, after.Round(time.Millisecond))
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
