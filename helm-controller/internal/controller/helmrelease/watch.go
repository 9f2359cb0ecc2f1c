package helmrelease

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	"github.com/ferrycd/ferry/pkg/dependency"
	"github.com/ferrycd/ferry/pkg/watch"
)

const (
	// sourceIndexKey indexes HelmReleases by "<kind>/<namespace>/<name>"
	// of their chart source.
	sourceIndexKey = ".metadata.chartSource"
	// valuesIndexKey indexes HelmReleases by "<kind>/<name>" of each
	// valuesFrom entry.
	valuesIndexKey = ".metadata.valuesFrom"
	// watchLabel opts a ConfigMap or Secret into triggering reconciles of
	// the HelmReleases that read values from it.
	watchLabel = "reconcile.fluxcd.io/watch"
)

func (r *Reconciler) setupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &helmv2.HelmRelease{}, sourceIndexKey, func(o client.Object) []string {
		kind, ns, name := chartSource(o.(*helmv2.HelmRelease))
		if kind == "" {
			return nil
		}
		return []string{sourceKey(kind, ns, name)}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &helmv2.HelmRelease{}, valuesIndexKey, func(o client.Object) []string {
		hr := o.(*helmv2.HelmRelease)
		keys := make([]string, 0, len(hr.Spec.ValuesFrom))
		for _, v := range hr.Spec.ValuesFrom {
			keys = append(keys, v.Kind+"/"+v.Name)
		}
		return keys
	}); err != nil {
		return err
	}
	return dependency.SetupIndexes(ctx, mgr)
}

func sourceKey(kind, namespace, name string) string {
	return fmt.Sprintf("%s/%s/%s", kind, namespace, name)
}

// forSource maps a chart source to the HelmReleases using it.
func (r *Reconciler) forSource(kind string) handler.MapFunc {
	return watch.Referrers[helmv2.HelmReleaseList](r.Client, sourceIndexKey,
		func(o client.Object) string { return sourceKey(kind, o.GetNamespace(), o.GetName()) }, watch.AnyNamespace)
}

// forValues maps a ConfigMap or Secret to the HelmReleases in its
// namespace that read values from it.
func (r *Reconciler) forValues(kind string) handler.MapFunc {
	return watch.Referrers[helmv2.HelmReleaseList](r.Client, valuesIndexKey,
		func(o client.Object) string { return kind + "/" + o.GetName() }, watch.SameNamespace)
}

// watchLabelled passes ConfigMaps and Secrets labelled
// reconcile.fluxcd.io/watch: Enabled.
type watchLabelled struct{ predicate.Funcs }

func (watchLabelled) Create(e event.CreateEvent) bool { return labelled(e.Object) }
func (watchLabelled) Delete(e event.DeleteEvent) bool { return labelled(e.Object) }
func (watchLabelled) Generic(event.GenericEvent) bool { return false }
func (watchLabelled) Update(e event.UpdateEvent) bool { return labelled(e.ObjectNew) }

func labelled(o client.Object) bool {
	return o != nil && o.GetLabels()[watchLabel] == "Enabled"
}

// annotationChanged passes HelmRelease updates that bring a new forceAt or
// resetAt request.
type annotationChanged struct{ predicate.Funcs }

func (annotationChanged) Create(event.CreateEvent) bool   { return false }
func (annotationChanged) Delete(event.DeleteEvent) bool   { return false }
func (annotationChanged) Generic(event.GenericEvent) bool { return false }

func (annotationChanged) Update(e event.UpdateEvent) bool {
	if e.ObjectOld == nil || e.ObjectNew == nil {
		return false
	}
	o, n := e.ObjectOld.GetAnnotations(), e.ObjectNew.GetAnnotations()
	return o[helmv2.ForceRequestAnnotation] != n[helmv2.ForceRequestAnnotation] ||
		o[helmv2.ResetRequestAnnotation] != n[helmv2.ResetRequestAnnotation]
}

// chartArtifactReady passes the events of a chart source after which a
// HelmRelease waiting on it (getArtifact) may go on: a new artifact
// (watch.ArtifactChanged), an artifact that now answers the source's latest
// spec although its content did not change (a HelmChart whose new spec
// resolves to the same chart), and a source seen first with an artifact
// already (made while the watch was down), and a source without an
// artifact whose Ready condition gives a new reason for it. A HelmRelease
// waiting on its chart is woken by these alone.
type chartArtifactReady struct{ predicate.Funcs }

func (chartArtifactReady) Create(e event.CreateEvent) bool {
	a, current := artifactOf(e.Object)
	return a != nil && current
}
func (chartArtifactReady) Delete(event.DeleteEvent) bool   { return false }
func (chartArtifactReady) Generic(event.GenericEvent) bool { return false }

func (chartArtifactReady) Update(e event.UpdateEvent) bool {
	if e.ObjectOld == nil || e.ObjectNew == nil {
		return false
	}
	_, wasCurrent := artifactOf(e.ObjectOld)
	a, current := artifactOf(e.ObjectNew)
	if a == nil {
		// A source without an artifact that says why (a chart over a size
		// limit, a missing version) wakes the HelmRelease once per new
		// reason, so the wait shows it.
		why := whyNotReady(e.ObjectNew)
		return why != "" && why != whyNotReady(e.ObjectOld)
	}
	return current && (!wasCurrent || watch.ArtifactChanged{}.Update(e))
}
