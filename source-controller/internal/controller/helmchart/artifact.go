package helmchart

import (
	"context"
	"fmt"
	"os"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// storeArtifact stores the packaged chart as <name>-<revision>.tgz and
// records it in status, or confirms the stored artifact when nothing was
// built. Sets ArtifactInStorage, StorageOperationFailed and Ready.
func (r *Reconciler) storeArtifact(ctx context.Context, s *scope) error {
	obj := s.obj
	if s.packaged == "" {
		obj.Status.ObservedSourceArtifactRevision = s.sourceRevision
		readyFromStorage(obj)
		return nil
	}
	a := r.Storage.NewArtifact(sourcev1.HelmChartKind, obj.Namespace, obj.Name, s.revision,
		fmt.Sprintf("%s-%s.tgz", s.chartName, s.revision))
	err := r.store(&a, s)
	if err != nil {
		err = fmt.Errorf("failed to store chart: %w", err)
		conditions.MarkTrue(obj, sourcev1.StorageOperationFailedCondition, sourcev1.ArchiveOperationFailedReason, "%s", err)
		return outcome.RetryErr(sourcev1.ArchiveOperationFailedReason, err)
	}
	changed := obj.Status.Artifact == nil || obj.Status.Artifact.Digest != a.Digest
	obj.Status.Artifact = &a
	obj.Status.URL = a.URL
	obj.Status.ObservedChartName = obj.Spec.Chart
	obj.Status.ObservedSourceArtifactRevision = s.sourceRevision
	obj.Status.ObservedValuesFiles = s.valuesFiles
	reason, verb := sourcev1.ChartPackageSucceededReason, "packaged"
	if s.pulled {
		reason, verb = sourcev1.ChartPullSucceededReason, "pulled"
	}
	msg := fmt.Sprintf("%s '%s' chart with version '%s'", verb, s.chartName, s.revision)
	conditions.Delete(obj, sourcev1.StorageOperationFailedCondition)
	conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, reason, "%s", msg)
	conditions.MarkTrue(obj, fluxmeta.ReadyCondition, reason, "%s", msg)
	if changed {
		r.Event(obj, s.revision, corev1.EventTypeNormal, reason, msg)
	}
	deleted, err := r.Storage.GarbageCollect(a)
	if err != nil {
		r.Event(obj, s.revision, corev1.EventTypeWarning, "GarbageCollectionFailed", err.Error())
	}
	if len(deleted) > 0 {
		r.pruneCharts(ctx)
	}
	return nil
}

// store writes the packaged chart as artifact a: a link to the shared build,
// or a copy of a chart built for this HelmChart alone.
func (r *Reconciler) store(a *fluxmeta.Artifact, s *scope) error {
	if e := s.cached; e != nil {
		return r.Storage.Link(a, e.Path, e.Digest, e.Size)
	}
	f, err := os.Open(s.packaged)
	if err != nil {
		return err
	}
	defer f.Close()
	return r.Storage.CopyFile(a, f)
}
