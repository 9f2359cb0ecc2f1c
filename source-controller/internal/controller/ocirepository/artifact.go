package ocirepository

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/archive"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/source-controller/internal/sourceignore"
)

// storeArtifact stores the pulled layer, extracted into a tar.gz filtered by
// the ignore rules or copied as is, and records it in status; or confirms
// the stored artifact when nothing was pulled. Sets ArtifactInStorage,
// StorageOperationFailed and Ready.
func (r *Reconciler) storeArtifact(_ context.Context, s *scope) error {
	obj := s.obj
	msg := fmt.Sprintf("stored artifact for revision '%s'", s.revision)
	if s.dir == "" {
		conditions.MarkTrue(obj, fluxmeta.ReadyCondition, fluxmeta.SucceededReason, "%s", msg)
		return nil
	}
	_, hexDigest, _ := strings.Cut(s.ref.DigestStr(), ":")
	a := r.Storage.NewArtifact(sourcev1.OCIRepositoryKind, obj.Namespace, obj.Name, s.revision, hexDigest+".tar.gz")
	if obj.GetLayerOperation() == sourcev1.OCILayerCopy {
		f, err := os.Open(filepath.Join(s.dir, "layer"))
		if err != nil {
			return storageFailed(obj, err)
		}
		err = r.Storage.CopyFile(&a, f)
		f.Close()
		if err != nil {
			return storageFailed(obj, err)
		}
	} else {
		root := filepath.Join(s.dir, "src")
		filter, err := sourceignore.Load(root, obj.Spec.Ignore)
		if err != nil {
			return storageFailed(obj, fmt.Errorf("failed to read ignore rules: %w", err))
		}
		if err := r.Storage.Archive(&a, root, archive.Filter(filter)); err != nil {
			return storageFailed(obj, err)
		}
	}
	changed := obj.Status.Artifact == nil || obj.Status.Artifact.Digest != a.Digest
	obj.Status.Artifact = &a
	obj.Status.URL = a.URL
	obj.Status.ObservedIgnore = obj.Spec.Ignore
	obj.Status.ObservedLayerSelector = obj.Spec.LayerSelector.DeepCopy()
	conditions.Delete(obj, sourcev1.StorageOperationFailedCondition)
	conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, fluxmeta.SucceededReason, "%s", msg)
	conditions.MarkTrue(obj, fluxmeta.ReadyCondition, fluxmeta.SucceededReason, "%s", msg)
	if changed {
		r.Event(obj, s.revision, corev1.EventTypeNormal, sourcev1.NewArtifactReason,
			fmt.Sprintf("stored artifact with revision '%s' from '%s'", s.revision, obj.Spec.URL))
	}
	if _, err := r.Storage.GarbageCollect(a); err != nil {
		r.Event(obj, s.revision, corev1.EventTypeWarning, "GarbageCollectionFailed", err.Error())
	}
	return nil
}

func storageFailed(obj *sourcev1.OCIRepository, err error) error {
	err = fmt.Errorf("failed to store artifact: %w", err)
	conditions.MarkTrue(obj, sourcev1.StorageOperationFailedCondition, sourcev1.ArchiveOperationFailedReason, "%s", err)
	return outcome.RetryErr(sourcev1.ArchiveOperationFailedReason, err)
}
