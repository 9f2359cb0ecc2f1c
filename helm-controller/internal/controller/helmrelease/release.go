package helmrelease

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	"github.com/ferrycd/ferry/pkg/outcome"

	"github.com/ferrycd/ferry/helm-controller/internal/action"
	"github.com/ferrycd/ferry/helm-controller/internal/release"
)

// maxActions bounds the actions of one reconcile; each kind runs at most
// once, so this is only a guard.
const maxActions = 8

// reconcileTarget uninstalls the release made under an earlier release
// name, target namespace or storage namespace, so that the next step
// installs it afresh where the spec now says (as Flux does).
func (r *Reconciler) reconcileTarget(ctx context.Context, s *scope) error {
	obj := s.obj
	last := obj.Status.History.Latest()
	storageNs := obj.Status.StorageNamespace
	if storageNs == "" {
		storageNs = obj.GetStorageNamespace()
	}
	if last == nil || last.Name == obj.GetReleaseName() && last.Namespace == obj.GetReleaseNamespace() &&
		storageNs == obj.GetStorageNamespace() {
		obj.Status.StorageNamespace = obj.GetStorageNamespace()
		return nil
	}
	_, cfg, err := r.helmConfig(ctx, obj, last.Namespace, storageNs)
	if err != nil {
		return outcome.RetryErr(helmv2.InitFailedReason, err)
	}
	old := obj.DeepCopy()
	old.Spec.ReleaseName, old.Spec.TargetNamespace = last.Name, last.Namespace
	if _, err := action.Uninstall(cfg, old); err != nil {
		return outcome.RetryErr(helmv2.UninstallFailedReason,
			fmt.Errorf("failed to uninstall release '%s/%s' after its target changed: %w", last.Namespace, last.Name, err))
	}
	r.Event(obj, "", corev1.EventTypeNormal, helmv2.UninstallSucceededReason,
		fmt.Sprintf("uninstalled release '%s/%s' because the release target changed", last.Namespace, last.Name))
	obj.Status.ClearHistory()
	obj.Status.ClearFailures()
	obj.Status.StorageNamespace = obj.GetStorageNamespace()
	return nil
}

// reconcileRelease runs the actions the state machine asks for until the
// release is in sync, stalls, or a remediation ran. Sets Released,
// TestSuccess, Remediated and, when in sync, Ready.
func (r *Reconciler) reconcileRelease(ctx context.Context, s *scope) error {
	obj := s.obj
	name := obj.GetReleaseName()
	prDigest := postRenderersDigest(obj)
	want := release.Desired{ChartName: s.chart.Metadata.Name, ChartVersion: s.chart.Metadata.Version,
		ConfigDigest: s.digest, Force: s.force,
		PostRenderersChanged: obj.Status.ObservedPostRenderersDigest != "" && obj.Status.ObservedPostRenderersDigest != prDigest}
	done := map[release.Action]bool{}
	var lastErr error
	for range maxActions {
		rel, history, err := action.Last(s.cfg, name)
		if err != nil {
			return outcome.RetryErr(helmv2.GetLastReleaseFailedReason,
				fmt.Errorf("failed to get the last release '%s' from storage: %w", name, err))
		}
		release.Sync(&obj.Status.History, rel, history)
		d := release.Decide(obj, want, release.Observe(rel, history, obj.Status.History))
		ctrl.LoggerFrom(ctx).V(1).Info("release decision", "action", d.Action, "reason", d.Message)
		if done[d.Action] {
			return r.retryAfter(lastErr, fmt.Errorf("%s: the '%s' action already ran in this reconcile", d.Message, d.Action))
		}
		done[d.Action] = true
		switch d.Action {
		case release.None:
			if err := r.detectDrift(ctx, s, rel); err != nil {
				return err
			}
			return r.inSync(obj, s)
		case release.Stall:
			msg := d.Message
			if c := conditions.Get(obj, helmv2.ReleasedCondition); c != nil && c.Status == "False" {
				msg += ": " + c.Message
			}
			return outcome.StallErr(helmv2.RetriesExceededReason, errors.New(msg))
		case release.Unlock:
			if err := action.Unlock(s.cfg, rel); err != nil {
				return outcome.RetryErr(helmv2.ReconciliationFailedReason,
					fmt.Errorf("failed to unlock release '%s' stuck in a pending state: %w", name, err))
			}
			r.Event(obj, "", corev1.EventTypeWarning, helmv2.ReconciliationFailedReason,
				fmt.Sprintf("unlocked release '%s/%s.v%d' left pending by an interrupted action", rel.Namespace, name, rel.Version))
		case release.Install, release.Upgrade:
			lastErr = r.runRelease(ctx, s, d.Action, want)
			if err := retryLater(obj, lastErr); err != nil {
				return err
			}
			if lastErr == nil {
				obj.Status.ObservedPostRenderersDigest = prDigest
				want.PostRenderersChanged = false
			}
			if lastErr == nil && s.force {
				obj.Status.LastHandledForceAt = obj.GetAnnotations()[helmv2.ForceRequestAnnotation]
				want.Force, s.force = false, false
			}
		case release.Test:
			lastErr = r.runTest(ctx, s)
			if err := retryLater(obj, lastErr); err != nil {
				return err
			}
		case release.Rollback, release.Uninstall:
			// A remediation ends the reconcile; the next one decides again
			// with backoff. A failed remediation is the error users see.
			remediate := r.runRemediationUninstall
			if d.Action == release.Rollback {
				remediate = func(ctx context.Context, s *scope) error { return r.runRollback(ctx, s, rel, history) }
			}
			if err := remediate(ctx, s); err != nil {
				return err
			}
			return r.retryAfter(lastErr, nil)
		}
		r.recordLatest(s)
	}
	return r.retryAfter(lastErr, errors.New("the release did not settle within one reconcile"))
}

// retryLater ends the reconcile after a failed action when the action's
// strategy is RetryOnFailure: nothing is remediated, and the next attempt
// comes after retryInterval rather than with the controller's backoff, or,
// with spec.retry, on its backoff (Finish schedules and counts it). It
// returns nil when err is nil or the failure is to be remediated.
func retryLater(obj *helmv2.HelmRelease, err error) error {
	retry := obj.GetActiveRetry()
	if err == nil || retry == nil {
		return nil
	}
	e := outcome.As(err, helmv2.ReconciliationFailedReason)
	if obj.GetRetry() != nil {
		return outcome.RetryErr(e.Reason, fmt.Errorf("%w; retrying with spec.retry's backoff (strategy RetryOnFailure)", e.Err))
	}
	return outcome.WaitErr(e.Reason, retry.GetRetryInterval(),
		fmt.Errorf("%w; retrying in %s (strategy RetryOnFailure)", e.Err, retry.GetRetryInterval()))
}

// retryAfter returns a retry error carrying the earlier failure when there
// was one, so Ready shows why the release is not in sync.
func (r *Reconciler) retryAfter(lastErr, err error) error {
	if lastErr != nil {
		return lastErr
	}
	if err == nil {
		err = errors.New("the release was remediated and will be retried")
	}
	return outcome.RetryErr(helmv2.ReconciliationFailedReason, err)
}

// recordLatest puts the newest release version from storage into history.
func (r *Reconciler) recordLatest(s *scope) {
	if rel, history, err := action.Last(s.cfg, s.obj.GetReleaseName()); err == nil {
		release.Sync(&s.obj.Status.History, rel, history)
	}
}

// inSync marks the release ready and trims history.
func (r *Reconciler) inSync(obj *helmv2.HelmRelease, s *scope) error {
	if s.force {
		obj.Status.LastHandledForceAt = obj.GetAnnotations()[helmv2.ForceRequestAnnotation]
	}
	obj.Status.History.Truncate(obj.GetActiveRemediation() != nil && obj.GetActiveRemediation().MustIgnoreTestFailures(obj.GetTest().IgnoreFailures))
	if max := obj.GetMaxHistory(); max > 0 && len(obj.Status.History) > max {
		obj.Status.History = obj.Status.History[:max]
	}
	obj.Status.StorageNamespace = obj.GetStorageNamespace()
	if obj.Status.ObservedPostRenderersDigest == "" {
		obj.Status.ObservedPostRenderersDigest = postRenderersDigest(obj)
	}
	latest := obj.Status.History.Latest()
	msg := fmt.Sprintf("Helm release '%s' is in sync with chart %s", latest.FullReleaseName(), latest.VersionedChartName())
	if c := conditions.Get(obj, helmv2.ReleasedCondition); c != nil && c.Status == "True" {
		msg = c.Message
	} else {
		conditions.MarkTrue(obj, helmv2.ReleasedCondition, helmv2.UpgradeSucceededReason, "%s", msg)
	}
	conditions.MarkTrue(obj, fluxmeta.ReadyCondition, c2r(obj), "%s", msg)
	return nil
}

// c2r is the reason Ready takes from Released.
func c2r(obj *helmv2.HelmRelease) string {
	if c := conditions.Get(obj, helmv2.ReleasedCondition); c != nil {
		return c.Reason
	}
	return helmv2.ReconciliationSucceededReason
}

// runRelease installs or upgrades, counting a failure against the active
// remediation.
func (r *Reconciler) runRelease(ctx context.Context, s *scope, a release.Action, want release.Desired) error {
	obj := s.obj
	verb := "install"
	reasonOK, reasonFail := helmv2.InstallSucceededReason, helmv2.InstallFailedReason
	obj.Status.LastAttemptedReleaseAction = helmv2.ReleaseActionInstall
	timeout := obj.GetInstall().GetTimeout(defaultTimeout(obj))
	if a == release.Upgrade {
		verb = "upgrade"
		reasonOK, reasonFail = helmv2.UpgradeSucceededReason, helmv2.UpgradeFailedReason
		obj.Status.LastAttemptedReleaseAction = helmv2.ReleaseActionUpgrade
		timeout = obj.GetUpgrade().GetTimeout(defaultTimeout(obj))
	}
	done := r.progress(ctx, s, "running '%s' action with timeout of %s", verb, timeout.Duration)
	var rel *helmrelease.Release
	var err error
	if a == release.Install {
		rel, err = action.Install(ctx, s.cfg, obj, s.chart, s.values)
	} else {
		rel, err = action.Upgrade(ctx, s.cfg, obj, s.chart, s.values)
	}
	done()
	revision := want.ChartVersion
	chartName := chartRevision(s.chart)
	if err != nil {
		obj.GetActiveRemediation().IncrementFailureCount(obj)
		obj.Status.Failures++
		msg := fmt.Sprintf("Helm %s failed for release %s/%s with chart %s: %s",
			verb, obj.GetReleaseNamespace(), obj.GetReleaseName(), chartName, strings.TrimSpace(err.Error()))
		conditions.MarkFalse(obj, helmv2.ReleasedCondition, reasonFail, "%s", msg)
		r.Event(obj, revision, corev1.EventTypeWarning, reasonFail, msg)
		return outcome.RetryErr(reasonFail, errors.New(msg))
	}
	r.recordLatest(s)
	release.SetConfigDigest(obj.Status.History, rel, s.digest)
	if snap := obj.Status.History.Latest(); snap != nil && obj.Status.LastAttemptedRevisionDigest != "" {
		snap.OCIDigest = obj.Status.LastAttemptedRevisionDigest
	}
	msg := fmt.Sprintf("Helm %s succeeded for release %s/%s.v%d with chart %s",
		verb, rel.Namespace, rel.Name, rel.Version, chartName)
	conditions.MarkTrue(obj, helmv2.ReleasedCondition, reasonOK, "%s", msg)
	conditions.Delete(obj, helmv2.TestSuccessCondition)
	conditions.Delete(obj, helmv2.RemediatedCondition)
	r.Event(obj, revision, corev1.EventTypeNormal, reasonOK, msg)
	return nil
}

// runTest runs the release's tests; a failure that is not ignored counts
// against the active remediation.
func (r *Reconciler) runTest(ctx context.Context, s *scope) error {
	obj := s.obj
	done := r.progress(ctx, s, "running 'test' action with timeout of %s", obj.GetTest().GetTimeout(defaultTimeout(obj)).Duration)
	rel, err := action.Test(s.cfg, obj)
	done()
	revision := s.chart.Metadata.Version
	if err != nil {
		msg := fmt.Sprintf("Helm test failed for release %s/%s with chart %s: %s",
			obj.GetReleaseNamespace(), obj.GetReleaseName(), chartRevision(s.chart), err)
		conditions.MarkFalse(obj, helmv2.TestSuccessCondition, helmv2.TestFailedReason, "%s", msg)
		r.Event(obj, revision, corev1.EventTypeWarning, helmv2.TestFailedReason, msg)
		rem := obj.GetActiveRemediation()
		if rem != nil && rem.MustIgnoreTestFailures(obj.GetTest().IgnoreFailures) {
			return nil
		}
		if rem != nil {
			rem.IncrementFailureCount(obj)
		}
		obj.Status.Failures++
		return outcome.RetryErr(helmv2.TestFailedReason, errors.New(msg))
	}
	ran := "no test hooks"
	if n := release.MarkTested(obj.Status.History, rel); n > 0 {
		ran = fmt.Sprintf("%d test hooks completed successfully", n)
	}
	msg := fmt.Sprintf("Helm test succeeded for release %s/%s.v%d with chart %s: %s",
		rel.Namespace, rel.Name, rel.Version, chartRevision(s.chart), ran)
	conditions.MarkTrue(obj, helmv2.TestSuccessCondition, helmv2.TestSucceededReason, "%s", msg)
	r.Event(obj, revision, corev1.EventTypeNormal, helmv2.TestSucceededReason, msg)
	return nil
}

// runRollback returns a failed release to its previous successful version.
func (r *Reconciler) runRollback(ctx context.Context, s *scope, cur *helmrelease.Release, history []*helmrelease.Release) error {
	obj := s.obj
	version := action.PreviousSuccessful(history, cur.Version)
	done := r.progress(ctx, s, "running 'rollback' action with timeout of %s", obj.GetRollback().GetTimeout(defaultTimeout(obj)).Duration)
	err := action.Rollback(s.cfg, obj, version)
	done()
	r.recordLatest(s)
	target := fmt.Sprintf("%s/%s.v%d", cur.Namespace, cur.Name, version)
	if err != nil {
		msg := fmt.Sprintf("Helm rollback to previous release %s failed: %s", target, err)
		conditions.MarkFalse(obj, helmv2.RemediatedCondition, helmv2.RollbackFailedReason, "%s", msg)
		r.Event(obj, "", corev1.EventTypeWarning, helmv2.RollbackFailedReason, msg)
		return outcome.RetryErr(helmv2.RollbackFailedReason, errors.New(msg))
	}
	msg := fmt.Sprintf("Helm rollback to previous release %s succeeded", target)
	conditions.MarkTrue(obj, helmv2.RemediatedCondition, helmv2.RollbackSucceededReason, "%s", msg)
	r.Event(obj, "", corev1.EventTypeNormal, helmv2.RollbackSucceededReason, msg)
	return nil
}

// runRemediationUninstall removes a failed release so it can be installed
// again.
func (r *Reconciler) runRemediationUninstall(ctx context.Context, s *scope) error {
	obj := s.obj
	done := r.progress(ctx, s, "running 'uninstall' action with timeout of %s", obj.GetUninstall().GetTimeout(defaultTimeout(obj)).Duration)
	_, err := action.Uninstall(s.cfg, obj)
	done()
	r.recordLatest(s)
	target := obj.GetReleaseNamespace() + "/" + obj.GetReleaseName()
	if err != nil {
		msg := fmt.Sprintf("Helm uninstall remediation of release %s failed: %s", target, err)
		conditions.MarkFalse(obj, helmv2.RemediatedCondition, helmv2.UninstallFailedReason, "%s", msg)
		r.Event(obj, "", corev1.EventTypeWarning, helmv2.UninstallFailedReason, msg)
		return outcome.RetryErr(helmv2.UninstallFailedReason, errors.New(msg))
	}
	msg := fmt.Sprintf("Helm uninstall remediation of release %s succeeded", target)
	conditions.MarkTrue(obj, helmv2.RemediatedCondition, helmv2.UninstallSucceededReason, "%s", msg)
	r.Event(obj, "", corev1.EventTypeNormal, helmv2.UninstallSucceededReason, msg)
	return nil
}

// progress shows a long action on Reconciling while it runs. The status is
// written only when the action is still running after progressDelay: most
// actions (a chart of ConfigMaps and Secrets, nothing to wait for) finish
// sooner, and writing the status before each of them put a status write on
// every release's critical path that no one could see before the end
// result replaced it. Call done when the action returns; it waits for a
// write under way, so the patcher is never used by two goroutines.
func (r *Reconciler) progress(ctx context.Context, s *scope, format string, args ...any) (done func()) {
	conditions.MarkReconciling(s.obj, fluxmeta.ProgressingReason, format, args...)
	// The write patches a copy: the action reads the object while it runs.
	snapshot := s.obj.DeepCopy()
	written := make(chan struct{})
	timer := time.AfterFunc(r.progressDelay(), func() {
		defer close(written)
		r.Progress(ctx, s.patcher, snapshot)
	})
	return func() {
		if !timer.Stop() {
			<-written
		}
	}
}

func defaultTimeout(obj *helmv2.HelmRelease) metav1.Duration {
	return metav1.Duration{Duration: obj.GetTimeout()}
}

// postRenderersDigest fingerprints spec.postRenderers, so a change to them
// alone upgrades the release.
func postRenderersDigest(obj *helmv2.HelmRelease) string {
	b, _ := json.Marshal(obj.Spec.PostRenderers)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
