package helmrelease

import (
	"context"
	"fmt"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	helmaction "helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	ctrl "sigs.k8s.io/controller-runtime"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	"github.com/ferrycd/ferry/pkg/dependency"
	"github.com/ferrycd/ferry/pkg/helmvalues"
	"github.com/ferrycd/ferry/pkg/kubeclient"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// scope is what the steps of one reconcile share.
type scope struct {
	obj     *helmv2.HelmRelease
	patcher *patch.SerialPatcher
	// sourceKind and artifact are the chart source's kind and artifact.
	sourceKind string
	artifact   *fluxmeta.Artifact
	// chart is the loaded chart.
	chart *chart.Chart
	// values are the composed values and digest their digest.
	values map[string]any
	digest string
	// force is set while a reconcile.fluxcd.io/forceAt request is pending.
	force bool
	// target is the client of the release's identity and cluster, and cfg
	// the Helm configuration on it.
	target *kubeclient.Target
	cfg    *helmaction.Configuration
}

// reconcile runs the steps in order and stops at the first error.
func (r *Reconciler) reconcile(ctx context.Context, obj *helmv2.HelmRelease, patcher *patch.SerialPatcher) error {
	s := &scope{obj: obj, patcher: patcher}
	if obj.Generation != obj.Status.ObservedGeneration {
		conditions.MarkReconciling(obj, fluxmeta.ProgressingReason, "reconciling new generation %d", obj.Generation)
	}
	for _, step := range []func(context.Context, *scope) error{
		r.checkSyncWindow,
		r.checkDependencies,
		r.reconcileHelmChart,
		r.getArtifact,
		r.loadChart,
		r.composeValues,
		r.observeRequests,
		r.buildConfig,
		r.reconcileTarget,
		r.reconcileRelease,
	} {
		if err := step(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// checkDependencies waits until every dependsOn entry, a HelmRelease or a
// Kustomization, is ready by the rule both kinds share (pkg/dependency):
// Ready for its current generation. Sets Ready=False with
// DependencyNotReady while waiting; stalls with DependencyCycle when
// dependsOn leads back here, and with AccessDenied on a dependency in
// another namespace under --no-cross-namespace-refs.
func (r *Reconciler) checkDependencies(ctx context.Context, s *scope) error {
	if err := dependency.CheckCycle(ctx, r.Client, helmv2.HelmReleaseKind, s.obj); err != nil {
		return err
	}
	err := dependency.CheckAcross(ctx, r.Client, helmv2.HelmReleaseKind, s.obj, nil,
		dependency.Options{NoCrossNamespaceRefs: r.NoCrossNamespaceRefs})
	return dependency.Outcome(err, r.dependencyRequeue())
}

// composeValues merges valuesFrom and values and digests the result.
func (r *Reconciler) composeValues(ctx context.Context, s *scope) error {
	vals, err := helmvalues.Compose(ctx, r.Client, s.obj)
	if err != nil {
		return outcome.RetryErr(helmv2.InitFailedReason, err)
	}
	s.values, s.digest = vals, helmvalues.Digest(vals)
	return nil
}

// observeRequests resets the failure counters when the chart or values
// changed or a reconcile.fluxcd.io/resetAt request is new, notes a new
// forceAt request, and records what this reconcile attempts.
func (r *Reconciler) observeRequests(_ context.Context, s *scope) error {
	obj := s.obj
	st := &obj.Status
	revision := s.chart.Metadata.Version
	if st.LastAttemptedRevision != revision || st.LastAttemptedConfigDigest != s.digest {
		st.ClearFailures()
	}
	annotations := obj.GetAnnotations()
	if v, ok := annotations[helmv2.ResetRequestAnnotation]; ok && v != st.LastHandledResetAt {
		st.ClearFailures()
		st.LastHandledResetAt = v
	}
	if v, ok := annotations[helmv2.ForceRequestAnnotation]; ok && v != st.LastHandledForceAt {
		s.force = true
	}
	st.LastAttemptedRevision = revision
	st.LastAttemptedConfigDigest = s.digest
	st.LastAttemptedGeneration = obj.Generation
	return nil
}

// buildConfig gets the client of the release's identity and cluster and
// builds the Helm configuration on it.
func (r *Reconciler) buildConfig(ctx context.Context, s *scope) error {
	target, cfg, err := r.helmConfig(ctx, s.obj, s.obj.GetReleaseNamespace(), s.obj.GetStorageNamespace())
	if err != nil {
		return outcome.RetryErr(helmv2.InitFailedReason, err)
	}
	s.target, s.cfg = target, cfg
	return nil
}

func (r *Reconciler) helmConfig(ctx context.Context, obj *helmv2.HelmRelease, releaseNs, storageNs string) (*kubeclient.Target, *helmaction.Configuration, error) {
	target, err := r.Clients.Get(ctx, r.Client, kubeclient.Options{
		Namespace:          obj.Namespace,
		ServiceAccountName: obj.Spec.ServiceAccountName,
		KubeConfig:         obj.Spec.KubeConfig,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("failed to build the client for the release: %w", err)
	}
	configFor := r.Configs.For
	if obj.Status.History.Latest() == nil {
		configFor = r.Configs.ForUnrecorded
	}
	cfg, err := configFor(target, releaseNs, storageNs, ctrl.LoggerFrom(ctx))
	if err != nil {
		return nil, nil, fmt.Errorf("failed to build the Helm configuration: %w", err)
	}
	return target, cfg, nil
}
