package helmrelease

import (
	"context"
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/jsondiff"
	ssautils "github.com/fluxcd/pkg/ssa/utils"
	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// detectDrift compares the objects of an in-sync release with the cluster
// by server-side dry-run apply, as Flux does. In warn mode a drift is
// reported; in enabled mode the drifted objects are applied again. Sets
// Drifted; removes it when detection is disabled.
func (r *Reconciler) detectDrift(ctx context.Context, s *scope, rel *helmrelease.Release) error {
	obj := s.obj
	dd := obj.GetDriftDetection()
	if !dd.MustDetectChanges() {
		conditions.Delete(obj, helmv2.DriftedCondition)
		return nil
	}
	objects, err := ssautils.ReadObjects(strings.NewReader(rel.Manifest))
	if err != nil {
		return outcome.RetryErr(helmv2.DriftDetectedReason, fmt.Errorf("failed to read the release manifest: %w", err))
	}
	for _, o := range objects {
		if o.GetNamespace() == "" && namespaced(s.target.Mapper, o) {
			o.SetNamespace(rel.Namespace)
		}
	}
	manager := ssa.NewResourceManager(s.target.Client, s.target.Poller, ssa.Owner{Field: "helm-controller", Group: helmv2.GroupVersion.Group})
	opts := ssa.DiffOptions{
		Exclusions:       map[string]string{helmv2.DriftDetectionMetadataKey: helmv2.DriftDetectionDisabledValue},
		DriftIgnoreRules: ignoreRules(dd.Ignore),
	}
	var drifted []*unstructured.Unstructured
	var names []string
	for _, o := range objects {
		entry, _, _, err := manager.Diff(ctx, o, opts)
		if err != nil {
			return outcome.RetryErr(helmv2.DriftDetectedReason, fmt.Errorf("drift detection failed: %w", err))
		}
		if entry != nil && (entry.Action == ssa.CreatedAction || entry.Action == ssa.ConfiguredAction) {
			drifted = append(drifted, o)
			names = append(names, fmt.Sprintf("%s %s", entry.Subject, map[ssa.Action]string{
				ssa.CreatedAction: "removed", ssa.ConfiguredAction: "changed"}[entry.Action]))
		}
	}
	target := fmt.Sprintf("%s/%s.v%d", rel.Namespace, rel.Name, rel.Version)
	if len(drifted) == 0 {
		conditions.MarkFalse(obj, helmv2.DriftedCondition, helmv2.NoDriftDetectedReason, "no drift detected for release %s", target)
		return nil
	}
	msg := fmt.Sprintf("cluster state of release %s has drifted from the desired state: %s", target, strings.Join(names, ", "))
	if dd.GetMode() == helmv2.DriftDetectionWarn {
		conditions.MarkTrue(obj, helmv2.DriftedCondition, helmv2.DriftDetectedReason, "%s", msg)
		r.Event(obj, s.chart.Metadata.Version, corev1.EventTypeWarning, helmv2.DriftDetectedReason, msg)
		return nil
	}
	if _, err := manager.ApplyAll(ctx, drifted, ssa.DefaultApplyOptions()); err != nil {
		conditions.MarkTrue(obj, helmv2.DriftedCondition, helmv2.DriftDetectedReason, "%s", msg)
		return outcome.RetryErr(helmv2.DriftDetectedReason, fmt.Errorf("%s; correcting it failed: %w", msg, err))
	}
	conditions.MarkFalse(obj, helmv2.DriftedCondition, helmv2.NoDriftDetectedReason, "corrected drift of release %s", target)
	r.Event(obj, s.chart.Metadata.Version, corev1.EventTypeNormal, helmv2.DriftDetectedReason, msg+"; corrected")
	return nil
}

func namespaced(mapper apimeta.RESTMapper, o *unstructured.Unstructured) bool {
	m, err := mapper.RESTMapping(o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version)
	return err == nil && m.Scope.Name() == apimeta.RESTScopeNameNamespace
}

func ignoreRules(rules []helmv2.IgnoreRule) []jsondiff.IgnoreRule {
	out := make([]jsondiff.IgnoreRule, 0, len(rules))
	for _, r := range rules {
		rule := jsondiff.IgnoreRule{Paths: r.Paths}
		if t := r.Target; t != nil {
			rule.Selector = &jsondiff.Selector{Group: t.Group, Version: t.Version, Kind: t.Kind, Name: t.Name,
				Namespace: t.Namespace, AnnotationSelector: t.AnnotationSelector, LabelSelector: t.LabelSelector}
		}
		out = append(out, rule)
	}
	return out
}
