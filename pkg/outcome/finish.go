package outcome

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/events"
	"github.com/fluxcd/pkg/runtime/metrics"
	"github.com/fluxcd/pkg/runtime/patch"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	ctrl "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Object is what Finish needs of a Ferry API object.
type Object interface {
	ctrl.Object
	conditions.Setter
	GetRequeueAfter() time.Duration
	GetReconcileRequestStatus() *meta.ReconcileRequestStatus
}

// ReasonProgressingWithRetry marks an object whose last attempt failed and
// that will be retried.
const ReasonProgressingWithRetry = "ProgressingWithRetry"

// Finisher holds what every reconciler needs to end a reconcile.
type Finisher struct {
	// Scheme resolves an object's kind and group for events and metrics.
	Scheme   *runtime.Scheme
	Recorder events.Recorder
	Metrics  *metrics.Recorder
	// OwnedConditions are the condition types this controller writes; the
	// patch helper resolves conflicts on them in the controller's favour.
	OwnedConditions []string
	// FieldOwner is the field manager of status patches (the controller's
	// name); empty means "ferry".
	FieldOwner string
	// Now is the clock retries are scheduled by; nil means time.Now. Tests
	// fix it to check the backoff timing.
	Now func() time.Time
	// Quiet, when set, keeps the first expected wait of a new object to
	// itself for a moment (QuietWaits); nil writes every wait at once.
	Quiet *QuietWaits
}

// QuietWaits is how long an object that has reported no status yet keeps
// an expected wait (Error.Expected) to itself, from the first such wait
// this process saw: the wait is not written, and the object is looked at
// again when the period ends unless what it waits on wakes it first. A
// HelmRelease's first reconcile creates its HelmChart and waits for the
// artifact, which usually comes within the second; writing "waiting"
// first cost every new release a status write on the API server, the
// limit at scale.
type QuietWaits struct {
	period time.Duration
	mu     sync.Mutex
	// since is when each object in a quiet wait began it, by UID.
	since map[types.UID]time.Time
}

// NewQuietWaits returns quiet waits of period.
func NewQuietWaits(period time.Duration) *QuietWaits {
	return &QuietWaits{period: period, since: map[types.UID]time.Time{}}
}

// DefaultQuietWait is the quiet wait period the controllers run with.
const DefaultQuietWait = 2 * time.Second

func (f *Finisher) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Finish records the result of a reconcile that started at start and whose
// steps returned err, patches the status once through patcher, and returns
// what controller-runtime should do next. Under Lifecycle a status that
// alone changed is one request (writeStatus).
//
// On success the caller has already set Ready=True with its own message; on
// failure Ready=False carries the error's reason and message. Stalled and
// Reconciling are set only while true, as kstatus expects, and
// observedGeneration only when this generation's reconcile finished
// (success, progress or stall). A Progress error is no failure: Ready is
// Unknown and Reconciling True while the object converges. An object that implements Retrier is not handed
// back to the rate limiter on a Retry error: it is requeued after its retry
// policy's backoff (or its retry interval), counted in its status.
func (f *Finisher) Finish(ctx context.Context, patcher *patch.SerialPatcher, obj Object, start time.Time, err error) (reconcile.Result, error) {
	if v, ok := meta.ReconcileAnnotationValue(obj.GetAnnotations()); ok {
		obj.GetReconcileRequestStatus().SetLastHandledReconcileRequest(v)
	}

	result := reconcile.Result{RequeueAfter: obj.GetRequeueAfter()}
	finished := true
	// Before the conditions change: whether the object has reported
	// anything is read from them.
	quietFor, quiet := f.quietWait(obj, err)
	var retErr error
	if e := As(err, ""); err != nil && e.Kind == Hold {
		conditions.Delete(obj, meta.ReconcilingCondition)
		conditions.Delete(obj, meta.StalledCondition)
		if e.RequeueAfter > 0 {
			result.RequeueAfter = e.RequeueAfter
		}
		finished = false
		f.Event(obj, "", corev1.EventTypeNormal, e.Reason, e.Error())
	} else if err != nil && e.Kind == Progress {
		// Nothing failed: the object converges by itself, so Ready is
		// Unknown and Reconciling stays True between reconciles, which is
		// what kstatus reads as InProgress; the generation was acted on.
		conditions.Delete(obj, meta.StalledCondition)
		conditions.MarkUnknown(obj, meta.ReadyCondition, e.Reason, "%s", e.Error())
		conditions.MarkReconciling(obj, e.Reason, "%s", e.Error())
		if e.RequeueAfter > 0 {
			result.RequeueAfter = e.RequeueAfter
		}
		retrySucceeded(obj)
	} else if err == nil {
		conditions.Delete(obj, meta.ReconcilingCondition)
		conditions.Delete(obj, meta.StalledCondition)
		retrySucceeded(obj)
	} else {
		e := As(err, meta.FailedReason)
		conditions.MarkFalse(obj, meta.ReadyCondition, e.Reason, "%s", e.Error())
		retrier, retries := ownRetrier(obj)
		switch {
		case e.Kind == Stall:
			conditions.MarkStalled(obj, e.Reason, "%s", e.Error())
			conditions.Delete(obj, meta.ReconcilingCondition)
			result = reconcile.Result{}
			if retries {
				retrier.GetRetryStatus().NextRetryAt = nil
			}
		case e.Kind == Wait:
			if quiet {
				result.RequeueAfter = quietFor
				if e.RequeueAfter > 0 && e.RequeueAfter < quietFor {
					result.RequeueAfter = e.RequeueAfter
				}
			} else if e.RequeueAfter > 0 {
				result.RequeueAfter = e.RequeueAfter
			}
			conditions.Delete(obj, meta.StalledCondition)
			conditions.MarkReconciling(obj, ReasonProgressingWithRetry, "%s", e.Error())
			finished = false
		case retries:
			// The object retries on its own schedule, not the rate
			// limiter's: the error is not returned.
			delay, note := scheduleRetry(retrier, obj.GetGeneration(), obj.GetRequeueAfter(), f.now())
			msg := e.Error()
			if note != "" {
				msg += "; " + note
				conditions.MarkFalse(obj, meta.ReadyCondition, e.Reason, "%s", msg)
			}
			conditions.Delete(obj, meta.StalledCondition)
			conditions.MarkReconciling(obj, ReasonProgressingWithRetry, "%s", msg)
			result.RequeueAfter = delay
			finished = false
		default:
			conditions.Delete(obj, meta.StalledCondition)
			conditions.MarkReconciling(obj, ReasonProgressingWithRetry, "%s", e.Error())
			result = reconcile.Result{}
			retErr = e
			finished = false
		}
		if !e.Expected {
			f.Event(obj, "", corev1.EventTypeWarning, e.Reason, e.Error())
		}
	}

	if !quiet {
		if perr := f.writeStatus(ctx, patcher, obj, finished); perr != nil {
			if apierrors.IsNotFound(perr) || !obj.GetDeletionTimestamp().IsZero() && errors.Is(perr, context.Canceled) {
				return reconcile.Result{}, nil
			}
			retErr = kerrors.NewAggregate([]error{retErr, perr})
		}
	}
	if retErr != nil {
		result = reconcile.Result{}
	}
	if f.Metrics != nil {
		ref := f.metricsRef(obj)
		f.Metrics.RecordDuration(ref, start)
		if c := conditions.Get(obj, meta.ReadyCondition); c != nil {
			f.Metrics.RecordCondition(ref, *c)
		}
	}
	return result, retErr
}

// quietWait says whether the wait err of obj goes unwritten (Quiet) and
// for how long at most: err is an expected wait, obj has no Ready
// condition, and its first quiet wait began less than the period ago.
// Anything else ends the object's quiet wait.
func (f *Finisher) quietWait(obj Object, err error) (time.Duration, bool) {
	q := f.Quiet
	if q == nil {
		return 0, false
	}
	var e *Error
	if err != nil {
		e = As(err, "")
	}
	now := f.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	since, waiting := q.since[obj.GetUID()]
	if e == nil || e.Kind != Wait || !e.Expected || conditions.Get(obj, meta.ReadyCondition) != nil ||
		waiting && now.Sub(since) >= q.period {
		delete(q.since, obj.GetUID())
		return 0, false
	}
	if !waiting {
		since = now
		q.since[obj.GetUID()] = now
	}
	return q.period - now.Sub(since), true
}

// recordSuspend sets the gotk_suspend_status series of obj.
func (f *Finisher) recordSuspend(obj Object, suspended bool) {
	if f.Metrics != nil {
		f.Metrics.RecordSuspend(f.metricsRef(obj), suspended)
	}
}

// Forget deletes every metric series of obj (reconcile duration, condition
// gauges, suspend status). Lifecycle calls it when a deleted object's
// finalizer is removed: left behind, the series of deleted objects would
// grow without bound and dashboards would show objects that are gone.
func (f *Finisher) Forget(obj Object) {
	if q := f.Quiet; q != nil {
		q.mu.Lock()
		delete(q.since, obj.GetUID())
		q.mu.Unlock()
	}
	if f.Metrics == nil {
		return
	}
	ref := f.metricsRef(obj)
	f.Metrics.DeleteDuration(ref)
	f.Metrics.DeleteSuspend(ref)
	for _, t := range append([]string{meta.ReadyCondition, meta.ReconcilingCondition, meta.StalledCondition}, f.OwnedConditions...) {
		f.Metrics.DeleteCondition(ref, t)
	}
}

func (f *Finisher) metricsRef(obj Object) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: f.gvk(obj).Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// Progress patches the status mid-reconcile, so users see a long step
// (a health check) while it runs. Failures are left to Finish.
func (f *Finisher) Progress(ctx context.Context, patcher *patch.SerialPatcher, obj Object) {
	_ = f.writeStatus(ctx, patcher, obj, false)
}

func (f *Finisher) patchOptions() []patch.Option {
	return []patch.Option{patch.WithOwnedConditions{Conditions: f.OwnedConditions}, patch.WithFieldOwner(f.fieldOwner())}
}

// fieldOwner is the field manager of status patches: the controller name
// the recorder reports, or "ferry".
func (f *Finisher) fieldOwner() string {
	if f.FieldOwner != "" {
		return f.FieldOwner
	}
	return "ferry"
}

// Event records a Kubernetes event on obj and, when the controller has an
// events address, posts it to the notification-controller. A non-empty
// revision goes into the event metadata, keyed by the object's API group as
// Flux does, so commit-status providers can find it.
func (f *Finisher) Event(obj Object, revision, eventType, reason, message string) {
	if f.Recorder == nil {
		return
	}
	var annotations map[string]string
	if revision != "" {
		group := f.gvk(obj).Group
		annotations = map[string]string{group + "/revision": revision}
	}
	f.Recorder.AnnotatedEventf(obj, nil, annotations, eventType, reason, "Reconcile", "%s", message)
}

func (f *Finisher) gvk(obj Object) schema.GroupVersionKind {
	if f.Scheme != nil {
		if gvk, err := apiutil.GVKForObject(obj, f.Scheme); err == nil {
			return gvk
		}
	}
	return obj.GetObjectKind().GroupVersionKind()
}
