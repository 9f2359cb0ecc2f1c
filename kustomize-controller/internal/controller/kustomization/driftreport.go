package kustomization

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// skipOrReport decides, before the apply, whether it is needed. It is not
// when the build is the one last applied and the drift watches saw none of
// its objects change: that reconcile makes no dry-run and no write. In
// warn mode a build already applied is not applied again: the drift is
// computed with server-side dry-runs and reported instead. Returns the
// build's hash, and skip when the apply is not to run. Only the controller's own cluster is
// watched, so a Kustomization with a kubeConfig always applies.
func (r *Reconciler) skipOrReport(ctx context.Context, s *scope, opts ssa.ApplyOptions) (hash string, skip bool, err error) {
	d, obj := r.drift, s.obj
	if d == nil || obj.Spec.KubeConfig != nil {
		return "", false, nil
	}
	if hash, err = objectsHash(s.objects); err != nil {
		return "", false, nil
	}
	if opts.Force {
		d.begin(obj)
		return hash, false, nil
	}
	digest := s.artifact.Digest
	if cs := d.unchanged(obj, digest, hash); cs != nil && d.synced(s.objects) {
		s.applied = cs
		return hash, true, nil
	}
	// After a restart nothing is remembered; the status says whether this
	// revision and generation were applied already.
	appliedBefore := d.lastChanges(obj) == nil &&
		obj.Status.LastAppliedRevision == s.artifact.Revision && obj.Status.ObservedGeneration == obj.Generation
	d.begin(obj)
	if obj.DriftWarnOnly() && (d.sameBuild(obj, digest, hash) || appliedBefore) {
		return hash, true, r.reportDrift(ctx, s, hash, opts)
	}
	return hash, false, nil
}

// recordApplied marks obj in sync after a successful apply and remembers
// the apply, with watches on its objects' kinds, so the next unchanged
// reconcile can be skipped. Sets Drifted=False with Synced.
func (r *Reconciler) recordApplied(s *scope, hash string, cs *ssa.ChangeSet, objects map[object.ObjMetadata]objectApplied) {
	obj := s.obj
	conditions.MarkFalse(obj, kustomizev1.DriftedCondition, kustomizev1.SyncedReason,
		"the cluster matches revision %s", s.artifact.Revision)
	d := r.drift
	if d == nil || hash == "" {
		return
	}
	if err := d.watch(s.objects); err != nil {
		d.forget(obj)
		return
	}
	d.record(obj, s.artifact.Digest, hash, cs, objects)
}

// reportDrift compares every built object with the cluster by server-side
// dry-run and writes nothing: Drifted=True with OutOfSync naming each
// drifted object and its fields (never values, so no Secret data), and a
// Warning event when that list changes; Drifted=False with Synced when
// nothing drifted.
func (r *Reconciler) reportDrift(ctx context.Context, s *scope, hash string, opts ssa.ApplyOptions) error {
	obj := s.obj
	cs := ssa.NewChangeSet()
	var drifted []string
	for _, o := range s.objects {
		entry, live, merged, err := s.manager.Diff(ctx, o, ssa.DiffOptions{
			Exclusions: opts.ExclusionSelector, IfNotPresentSelector: opts.IfNotPresentSelector,
		})
		if err != nil {
			return outcome.RetryErr(kustomizev1.ReconciliationFailedReason, fmt.Errorf("drift detection failed: %w", err))
		}
		cs.Add(*entry)
		switch entry.Action {
		case ssa.CreatedAction:
			drifted = append(drifted, entry.Subject+": missing from the cluster")
		case ssa.ConfiguredAction:
			drifted = append(drifted, entry.Subject+": "+strings.Join(driftedFields(o, live, merged), ", "))
		}
	}
	s.applied = cs
	if r.drift.watch(s.objects) == nil {
		r.drift.record(obj, s.artifact.Digest, hash, cs, nil)
	}
	if len(drifted) == 0 {
		conditions.MarkFalse(obj, kustomizev1.DriftedCondition, kustomizev1.SyncedReason,
			"the cluster matches revision %s", s.artifact.Revision)
		return nil
	}
	msg := fmt.Sprintf("%d object(s) drifted from revision %s (driftDetection.mode is warn, nothing was changed):\n%s",
		len(drifted), s.artifact.Revision, strings.Join(drifted, "\n"))
	if c := conditions.Get(obj, kustomizev1.DriftedCondition); c == nil || c.Message != msg {
		r.Event(obj, s.artifact.Revision, corev1.EventTypeWarning, "DriftDetected", msg)
	}
	conditions.MarkTrue(obj, kustomizev1.DriftedCondition, kustomizev1.OutOfSyncReason, "%s", msg)
	return nil
}

// driftedFields lists the paths, as ".data.key", of the fields Git sets
// (desired) whose value in the cluster (live) differs from what applying
// Git would make of it (merged, the dry-run's result, which carries the
// server's defaults, so a defaulted value is not reported). Lists are
// compared whole.
func driftedFields(desired, live, merged *unstructured.Unstructured) []string {
	if live == nil || merged == nil {
		return nil
	}
	var out []string
	var walk func(path string, want any, l, m map[string]any)
	walk = func(path string, want any, l, m map[string]any) {
		wm, ok := want.(map[string]any)
		if !ok {
			return
		}
		for k, wv := range wm {
			p := path + "." + k
			lv, mv := l[k], m[k]
			if _, isMap := wv.(map[string]any); isMap {
				lm, _ := lv.(map[string]any)
				mm, _ := mv.(map[string]any)
				walk(p, wv, lm, mm)
				continue
			}
			if !reflect.DeepEqual(lv, mv) {
				out = append(out, p)
			}
		}
	}
	for k, v := range desired.Object {
		switch k {
		case "apiVersion", "kind", "status":
			continue
		case "metadata":
			md, _ := v.(map[string]any)
			lmd, _ := live.Object["metadata"].(map[string]any)
			mmd, _ := merged.Object["metadata"].(map[string]any)
			for _, f := range []string{"labels", "annotations"} {
				lf, _ := lmd[f].(map[string]any)
				mf, _ := mmd[f].(map[string]any)
				walk(".metadata."+f, md[f], lf, mf)
			}
			continue
		}
		walk("", map[string]any{k: v}, live.Object, merged.Object)
	}
	sort.Strings(out)
	return out
}
