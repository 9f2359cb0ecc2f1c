package gitrepository

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/archive"
	"github.com/ferrycd/ferry/pkg/artifact/untar"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/source-controller/internal/sourceignore"
)

// dependencyRequeue is how long to wait for an included repository's artifact.
const dependencyRequeue = 10 * time.Second

// copyIncludes extracts each included artifact under its toPath in the
// checkout. Sets IncludeUnavailable when an artifact cannot be read.
func (r *Reconciler) copyIncludes(_ context.Context, s *scope) error {
	if s.commit == nil {
		return nil
	}
	root := filepath.Join(s.dir, "src")
	for i, inc := range s.obj.Spec.Include {
		a := s.included[i]
		tmp := filepath.Join(s.dir, fmt.Sprintf("include-%d", i))
		if err := r.extract(*a, tmp); err != nil {
			err = fmt.Errorf("failed to read the artifact of included GitRepository '%s': %w", inc.GitRepositoryRef.Name, err)
			conditions.MarkTrue(s.obj, sourcev1.IncludeUnavailableCondition, "IncludeUnavailable", "%s", err)
			return outcome.RetryErr("IncludeUnavailable", err)
		}
		from, err := securejoin.SecureJoin(tmp, inc.FromPath)
		if err != nil {
			return outcome.StallErr(sourcev1.InvalidPathReason, fmt.Errorf("invalid include fromPath '%s': %w", inc.FromPath, err))
		}
		to, err := securejoin.SecureJoin(root, inc.GetToPath())
		if err != nil {
			return outcome.StallErr(sourcev1.InvalidPathReason, fmt.Errorf("invalid include toPath '%s': %w", inc.GetToPath(), err))
		}
		if err := os.RemoveAll(to); err != nil {
			return outcome.RetryErr(sourcev1.StorageOperationFailedCondition, err)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return outcome.RetryErr(sourcev1.StorageOperationFailedCondition, err)
		}
		if err := os.Rename(from, to); err != nil {
			return outcome.StallErr(sourcev1.InvalidPathReason,
				fmt.Errorf("include fromPath '%s' not found in GitRepository '%s': %w", inc.FromPath, inc.GitRepositoryRef.Name, err))
		}
	}
	return nil
}

func (r *Reconciler) extract(a fluxmeta.Artifact, dir string) error {
	f, err := os.Open(r.Storage.LocalPath(a))
	if err != nil {
		return err
	}
	defer f.Close()
	return untar.Untar(f, dir, 0)
}

// storeArtifact archives the checkout into storage and records it in status,
// or confirms the stored artifact when nothing changed. Sets
// ArtifactInStorage and StorageOperationFailed.
func (r *Reconciler) storeArtifact(_ context.Context, s *scope) error {
	obj := s.obj
	if s.commit == nil {
		msg := fmt.Sprintf("stored artifact for revision '%s'", obj.Status.Artifact.Revision)
		conditions.MarkTrue(obj, fluxmeta.ReadyCondition, fluxmeta.SucceededReason, "%s", msg)
		return nil
	}
	root := filepath.Join(s.dir, "src")
	filter, err := sourceignore.Load(root, obj.Spec.Ignore)
	if err != nil {
		return r.storageFailed(obj, fmt.Errorf("failed to read ignore rules: %w", err))
	}
	revision := s.commit.Revision()
	a := r.Storage.NewArtifact(sourcev1.GitRepositoryKind, obj.Namespace, obj.Name, revision, s.commit.Hash+".tar.gz")
	if err := r.Storage.Archive(&a, root, archive.Filter(filter)); err != nil {
		return r.storageFailed(obj, fmt.Errorf("failed to archive revision '%s': %w", revision, err))
	}
	changed := obj.Status.Artifact == nil || obj.Status.Artifact.Digest != a.Digest
	obj.Status.Artifact = &a
	obj.Status.IncludedArtifacts = s.included
	obj.Status.ObservedIgnore = obj.Spec.Ignore
	obj.Status.ObservedRecurseSubmodules = obj.Spec.RecurseSubmodules
	obj.Status.ObservedSparseCheckout = obj.Spec.SparseCheckout
	obj.Status.ObservedInclude = obj.Spec.Include
	conditions.Delete(obj, sourcev1.StorageOperationFailedCondition)
	msg := fmt.Sprintf("stored artifact for revision '%s'", revision)
	conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, fluxmeta.SucceededReason, "%s", msg)
	conditions.MarkTrue(obj, fluxmeta.ReadyCondition, fluxmeta.SucceededReason, "%s", msg)
	if changed {
		r.Event(obj, revision, corev1.EventTypeNormal, sourcev1.NewArtifactReason,
			fmt.Sprintf("stored artifact for commit '%s'", s.commit.ShortMessage()))
	}
	if _, err := r.Storage.GarbageCollect(a); err != nil {
		r.Event(obj, revision, corev1.EventTypeWarning, "GarbageCollectionFailed", err.Error())
	}
	return nil
}

func (r *Reconciler) storageFailed(obj *sourcev1.GitRepository, err error) error {
	conditions.MarkTrue(obj, sourcev1.StorageOperationFailedCondition, sourcev1.ArchiveOperationFailedReason, "%s", err)
	return outcome.RetryErr(sourcev1.ArchiveOperationFailedReason, err)
}
