// Package rollout reconciles Rollouts (argoproj.io/v1alpha1): each pod
// template gets a ReplicaSet of its own, named and labelled by its
// pod-template hash as Argo Rollouts does, and the strategy decides how
// many replicas the new, the stable and any older ReplicaSets run. The
// decisions (replica counts, the step a canary is at, what the status
// says) are pure functions of the spec and the observed ReplicaSets; the
// reconciler reads, decides and writes.
package rollout

import (
	"context"
	"time"

	"github.com/fluxcd/pkg/runtime/patch"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts/finalizers,verbs=get;create;update;patch;delete
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;update;patch

// Finalizer is the Rollout's finalizer; it lets the controller forget a
// deleted Rollout's metrics. The ReplicaSets go with the Rollout through
// their owner references.
const Finalizer = "finalizers.fluxcd.io"

// workloadRefIndex indexes Rollouts by the Deployment their workloadRef
// names, so a change of the Deployment's template starts a rollout.
const workloadRefIndex = ".spec.workloadRef.name"

// Reconciler rolls a Rollout's pod template out.
type Reconciler struct {
	Client client.Client
	// APIReader reads what is not cached (Services); Client when nil.
	APIReader client.Reader
	Finisher  outcome.Finisher
	// Concurrent is how many Rollouts reconcile at once; one when zero.
	Concurrent int
	// Analysis runs the analyses of canaries and blue-greens; nil holds
	// every analysis with a message that analysis is not available.
	Analysis Analyzer
	// Traffic sets canary weights in a traffic router; nil stalls rollouts
	// with spec.strategy.canary.trafficRouting.
	Traffic TrafficRouter
	// Now is the clock of pauses and timestamps; time.Now when nil.
	Now func() time.Time
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// SetupWithManager registers the reconciler. Rollouts are reconciled on
// every change, status included: promoting (removing pauseConditions) and
// aborting (status.abort) are status edits by users and their tools. A
// change of an owned AnalysisRun reconciles it too: a run's verdict moves
// the rollout on.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.Rollout{}, workloadRefIndex,
		func(o client.Object) []string {
			ro := o.(*v1alpha1.Rollout)
			if ro.Spec.WorkloadRef == nil {
				return nil
			}
			return []string{ro.Spec.WorkloadRef.Name}
		}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Rollout{}).
		Owns(&appsv1.ReplicaSet{}).
		Owns(&v1alpha1.AnalysisRun{}).
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsOfDeployment)).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Concurrent}).
		Complete(r)
}

// rolloutsOfDeployment maps a Deployment to the Rollouts that use its
// template.
func (r *Reconciler) rolloutsOfDeployment(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1alpha1.RolloutList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()),
		client.MatchingFields{workloadRefIndex: o.GetName()}); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, ro := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ro)})
	}
	return reqs
}

// scope is what one reconcile of one Rollout knows.
type scope struct {
	ro *v1alpha1.Rollout
	// template and selector are the resolved pod template (from the spec or
	// the workloadRef) and the selector of the rollout's pods.
	template corev1.PodTemplateSpec
	selector *metav1.LabelSelector
	// hash is the pod-template hash of template.
	hash string
	// newRS runs template; stableRS is the ReplicaSet of status.stableRS
	// (nil before the first rollout finished, or newRS itself once it is
	// stable); olds are all the rollout's other ReplicaSets.
	newRS    *appsv1.ReplicaSet
	stableRS *appsv1.ReplicaSet
	olds     []*appsv1.ReplicaSet
	// The strategy's verdict for report: pause is the reason the rollout
	// is paused (empty when it is not), aborted says it was aborted, and
	// message says what it waits for (empty: report words it from the
	// replica counts).
	pause   string
	aborted bool
	message string
	// weight is the canary's traffic weight in percent, for a traffic
	// router.
	weight int32
	// requeue asks for a reconcile after this long (a timed pause).
	requeue time.Duration
	// analyzing says the strategy waits for an analysis to decide, which
	// the progress deadline does not count.
	analyzing bool
	// wake asks for a reconcile after this long whatever the outcome, a
	// healthy one included: an old ReplicaSet's scale-down deadline.
	wake time.Duration
	now  time.Time
}

// Reconcile runs the rollout's steps through the shared lifecycle. A
// paused rollout is reconciled too: its status must say it is paused.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var wake time.Duration
	res, err := outcome.Lifecycle[*v1alpha1.Rollout]{
		Client:    r.Client,
		Finisher:  &r.Finisher,
		Finalizer: Finalizer,
		Suspended: func(*v1alpha1.Rollout) bool { return false },
		Steps: func(ctx context.Context, ro *v1alpha1.Rollout, _ *patch.SerialPatcher) error {
			return r.reconcile(ctx, ro, &wake)
		},
	}.Run(ctx, req.NamespacedName, &v1alpha1.Rollout{})
	if err == nil && wake > 0 && (res.RequeueAfter == 0 || wake < res.RequeueAfter) {
		res.RequeueAfter = wake
	}
	return res, err
}

// reconcile resolves the template, brings the ReplicaSets to what the
// strategy says and reports the result; it stops at the first error. It
// sets wake to the scope's.
func (r *Reconciler) reconcile(ctx context.Context, ro *v1alpha1.Rollout, wake *time.Duration) error {
	s := &scope{ro: ro, now: r.now()}
	defer func() { *wake = s.wake }()
	for _, step := range []func(context.Context, *scope) error{
		r.resolveWorkload,
		r.syncReplicaSets,
		r.rollOut,
		r.cleanUpAnalysisRuns,
		r.cleanupHistory,
	} {
		if err := step(ctx, s); err != nil {
			return err
		}
	}
	return r.report(s)
}

// reader is APIReader, or Client when that is nil.
func (r *Reconciler) reader() client.Reader {
	if r.APIReader != nil {
		return r.APIReader
	}
	return r.Client
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
