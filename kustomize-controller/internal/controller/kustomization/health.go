package kustomization

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/event"
	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	fluxkustomize "github.com/fluxcd/pkg/apis/kustomize"
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	fluxcel "github.com/fluxcd/pkg/runtime/cel"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/ssa"
	ssautils "github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/runtime/schema"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/kubeclient"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// healthPoll is how often health is polled while waiting.
const healthPoll = time.Second

// checkHealth waits, up to spec.timeout, until the applied objects (wait:
// true) or the spec.healthChecks objects are healthy by kstatus. A new
// source revision cancels the wait, so a fix pushed while a broken revision
// is timing out is applied at once. Sets Healthy; a long wait is written as
// in progress while it runs (markHealthWait).
func (r *Reconciler) checkHealth(ctx context.Context, s *scope) error {
	obj := s.obj
	set := r.healthSet(s)
	if len(set) == 0 {
		conditions.Delete(obj, kustomizev1.HealthyCondition)
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, obj.GetTimeout())
	defer cancel()
	canceled := make(chan string, 1)
	go r.cancelOnNewRevision(wctx, cancel, obj, s.artifact.Revision, canceled)

	// A wait that outlasts healthProgressAfter is shown while it runs
	// (Reconciling=True, Ready=Unknown, as kstatus, kubectl wait and the
	// flux CLI read it); a short one costs no status write of its own.
	progressed := make(chan struct{})
	progress := time.AfterFunc(healthProgressAfter, func() {
		defer close(progressed)
		r.markHealthWait(ctx, s)
	})
	err := s.manager.WaitForSetWithContext(wctx, set, ssa.WaitOptions{Interval: healthPoll, Timeout: obj.GetTimeout(), FailFast: true})
	if !progress.Stop() {
		<-progressed
	}
	if err == nil {
		conditions.MarkTrue(obj, kustomizev1.HealthyCondition, fluxmeta.SucceededReason, "all health checks passed")
		return nil
	}
	select {
	case rev := <-canceled:
		err = fmt.Errorf("health check canceled: new source revision '%s' is available", rev)
		conditions.MarkFalse(obj, kustomizev1.HealthyCondition, kustomizev1.HealthCheckCanceledReason, "%s", err)
		return outcome.WaitErr(kustomizev1.HealthCheckCanceledReason, time.Millisecond, err)
	default:
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return outcome.RetryErr(kustomizev1.HealthCheckFailedReason, err)
	}
	if why := r.notHealthy(ctx, s, set); why != "" {
		err = fmt.Errorf("%w: %s", err, why)
	}
	err = fmt.Errorf("health check failed after %s: %w", obj.GetTimeout(), err)
	conditions.MarkFalse(obj, kustomizev1.HealthyCondition, kustomizev1.HealthCheckFailedReason, "%s", err)
	return outcome.RetryErr(kustomizev1.HealthCheckFailedReason, err)
}

// healthProgressAfter is how long a health wait runs before it is written
// to the status as in progress.
const healthProgressAfter = 2 * time.Second

// markHealthWait shows a running health wait in the status: Healthy and
// Ready Unknown, Reconciling True, all with reason Progressing.
func (r *Reconciler) markHealthWait(ctx context.Context, s *scope) {
	obj := s.obj
	msg := fmt.Sprintf("running health checks for revision '%s' with a timeout of %s", s.artifact.Revision, obj.GetTimeout())
	conditions.MarkUnknown(obj, kustomizev1.HealthyCondition, fluxmeta.ProgressingReason, "%s", msg)
	conditions.MarkUnknown(obj, fluxmeta.ReadyCondition, fluxmeta.ProgressingReason, "reconciliation in progress: %s", msg)
	conditions.MarkReconciling(obj, fluxmeta.ProgressingReason, "%s", msg)
	r.Progress(ctx, s.patcher, obj)
}

// healthSet is what to wait for: everything applied when spec.wait or
// spec.pruneLast is set (prune waits for all of it), else the
// spec.healthChecks references. Skipped objects are not waited
// for: the user left them to the cluster (an ssa: Ignore object may not
// even exist), so their health is not this Kustomization's to report.
func (r *Reconciler) healthSet(s *scope) object.ObjMetadataSet {
	obj := s.obj
	var set object.ObjMetadataSet
	if obj.Spec.Wait || obj.Spec.PruneLast {
		for _, e := range s.applied.Entries {
			if e.Action != ssa.SkippedAction {
				set = append(set, e.ObjMetadata)
			}
		}
		return set
	}
	for _, hc := range obj.Spec.HealthChecks {
		gv, err := schema.ParseGroupVersion(hc.APIVersion)
		if err != nil {
			continue
		}
		ns := hc.Namespace
		if ns == "" {
			ns = obj.Namespace
		}
		set = append(set, object.ObjMetadata{
			Namespace: ns, Name: hc.Name, GroupKind: schema.GroupKind{Group: gv.Group, Kind: hc.Kind},
		})
	}
	return set
}

// cancelOnNewRevision polls the source while a health wait runs and cancels
// it when the source moves past revision.
func (r *Reconciler) cancelOnNewRevision(ctx context.Context, cancel context.CancelFunc, obj *kustomizev1.Kustomization, revision string, canceled chan<- string) {
	t := time.NewTicker(healthPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a, err := r.sourceArtifact(ctx, obj)
			if err == nil && a != nil && a.Revision != revision {
				canceled <- a.Revision
				cancel()
				return
			}
		}
	}
}

// healthPoller returns the Target's status poller, extended with the
// Kustomization's spec.healthCheckExprs (CEL) for the kinds they name.
func healthPoller(obj *kustomizev1.Kustomization, target *kubeclient.Target) (*polling.StatusPoller, error) {
	if len(obj.Spec.HealthCheckExprs) == 0 {
		return target.Poller, nil
	}
	checks := make([]fluxkustomize.CustomHealthCheck, 0, len(obj.Spec.HealthCheckExprs))
	for _, e := range obj.Spec.HealthCheckExprs {
		checks = append(checks, fluxkustomize.CustomHealthCheck{
			APIVersion: e.APIVersion, Kind: e.Kind,
			HealthCheckExpressions: fluxkustomize.HealthCheckExpressions{Current: e.Current, InProgress: e.InProgress, Failed: e.Failed},
		})
	}
	reader, err := fluxcel.NewStatusReader(checks)
	if err != nil {
		return nil, fmt.Errorf("invalid spec.healthCheckExprs: %w", err)
	}
	return target.PollerWith(reader), nil
}

// notHealthy reads the set's health once more, with the same status
// readers as the wait, and says why each object that is not Current is
// not, in its own words ("Rollout/apps/web: rollout aborted: ..."). The
// library's error names the objects and their kstatus only, which tells a
// user which object failed but not what to do about it.
func (r *Reconciler) notHealthy(ctx context.Context, s *scope, set object.ObjMetadataSet) string {
	poller, err := healthPoller(s.obj, s.target)
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	events := poller.Poll(ctx, set, polling.PollOptions{PollInterval: healthPoll})
	defer func() {
		cancel()
		for range events {
			// The engine sends without select: drain it until it closes.
		}
	}()
	seen := map[object.ObjMetadata]string{}
	for e := range events {
		if e.Type == event.ErrorEvent || e.Type == event.SyncEvent && len(seen) == len(set) {
			break
		}
		if e.Type != event.ResourceUpdateEvent || e.Resource == nil {
			continue
		}
		rs := e.Resource
		seen[rs.Identifier] = ""
		if rs.Status != status.CurrentStatus && rs.Message != "" {
			seen[rs.Identifier] = fmt.Sprintf("%s: %s", ssautils.FmtObjMetadata(rs.Identifier), rs.Message)
		}
		if len(seen) == len(set) {
			break
		}
	}
	var why []string
	for _, m := range seen {
		if m != "" {
			why = append(why, m)
		}
	}
	sort.Strings(why)
	return strings.Join(why, "; ")
}
