package helmrepository

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/source-controller/internal/controller/sourcestatus"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
	"github.com/ferrycd/ferry/source-controller/internal/helmclient"
)

// scope is what the steps of one reconcile share.
type scope struct {
	obj *sourcev1.HelmRepository
	// data is the fetched index; nil when it equals the stored artifact.
	data []byte
	// revision is sha256:<hex> of the fetched index.
	revision string
}

// reconcile runs the steps in order and stops at the first error.
func (r *Reconciler) reconcile(ctx context.Context, obj *sourcev1.HelmRepository) error {
	s := &scope{obj: obj}
	for _, step := range []func(context.Context, *scope) error{
		r.checkStorage,
		r.fetch,
		r.parse,
		r.storeArtifact,
	} {
		if err := step(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// checkStorage drops a status.artifact whose file is gone or corrupt, so the
// index is stored again. Sets ArtifactInStorage.
func (r *Reconciler) checkStorage(_ context.Context, s *scope) error {
	if !sourcestatus.CheckStorage(r.Storage, s.obj, s.obj.Status.Artifact) {
		s.obj.Status.Artifact = nil
		s.obj.Status.URL = ""
	}
	return nil
}

// fetch downloads the index with the repository's credentials and keeps it
// only when its digest differs from the stored artifact's. Sets FetchFailed
// on failure; stalls on a URL that cannot work.
func (r *Reconciler) fetch(ctx context.Context, s *scope) error {
	obj := s.obj
	if err := validURL(obj.Spec.URL); err != nil {
		conditions.MarkTrue(obj, sourcev1.FetchFailedCondition, sourcev1.URLInvalidReason, "%s", err)
		return outcome.StallErr(sourcev1.URLInvalidReason, err)
	}
	getter, err := helmclient.Getter(ctx, r.Client, obj)
	if err != nil {
		return fetchFailed(obj, sourcev1.AuthenticationFailedReason, err)
	}
	data, err := getter.FetchIndex(ctx, obj.Spec.URL)
	if err != nil {
		err = fmt.Errorf("failed to fetch index: %w", err)
		if helm.IsUnauthorized(err) {
			return fetchFailed(obj, sourcev1.AuthenticationFailedReason,
				fmt.Errorf("%w: check the credentials in spec.secretRef", err))
		}
		return fetchFailed(obj, sourcev1.IndexationFailedReason, err)
	}
	sum := sha256.Sum256(data)
	s.revision = "sha256:" + hex.EncodeToString(sum[:])
	if a := obj.Status.Artifact; a != nil && a.Revision == s.revision {
		conditions.Delete(obj, sourcev1.FetchFailedCondition)
		return nil
	}
	s.data = data
	return nil
}

// parse checks that a new index is a Helm repository index before it is
// served, and hands the parsed index to the HelmChart reconciler's cache.
// Sets FetchFailed on failure.
func (r *Reconciler) parse(_ context.Context, s *scope) error {
	if s.data == nil {
		return nil
	}
	idx, err := helm.ParseIndex(s.data)
	if err != nil {
		return fetchFailed(s.obj, sourcev1.IndexationFailedReason,
			fmt.Errorf("failed to parse the index of '%s': %w: check that spec.url points at a Helm repository", s.obj.Spec.URL, err))
	}
	// The artifact is stored byte for byte, so its digest is the revision.
	r.Indexes.Put(s.revision, idx)
	conditions.Delete(s.obj, sourcev1.FetchFailedCondition)
	return nil
}

// storeArtifact stores a new index as index-<digest>.yaml and records it in
// status, or confirms the stored one. Sets ArtifactInStorage,
// StorageOperationFailed and Ready.
func (r *Reconciler) storeArtifact(_ context.Context, s *scope) error {
	obj := s.obj
	msg := fmt.Sprintf("stored artifact for revision '%s'", s.revision)
	if s.data == nil {
		conditions.MarkTrue(obj, fluxmeta.ReadyCondition, fluxmeta.SucceededReason, "%s", msg)
		return nil
	}
	hexDigest := strings.TrimPrefix(s.revision, "sha256:")
	a := r.Storage.NewArtifact(sourcev1.HelmRepositoryKind, obj.Namespace, obj.Name, s.revision, "index-"+hexDigest+".yaml")
	if err := r.Storage.CopyFile(&a, bytes.NewReader(s.data)); err != nil {
		err = fmt.Errorf("failed to store index: %w", err)
		conditions.MarkTrue(obj, sourcev1.StorageOperationFailedCondition, sourcev1.ArchiveOperationFailedReason, "%s", err)
		return outcome.RetryErr(sourcev1.ArchiveOperationFailedReason, err)
	}
	obj.Status.Artifact = &a
	obj.Status.URL = a.URL
	conditions.Delete(obj, sourcev1.StorageOperationFailedCondition)
	conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, fluxmeta.SucceededReason, "%s", msg)
	conditions.MarkTrue(obj, fluxmeta.ReadyCondition, fluxmeta.SucceededReason, "%s", msg)
	r.Event(obj, s.revision, corev1.EventTypeNormal, sourcev1.NewArtifactReason,
		fmt.Sprintf("stored fetched index of size %d bytes from '%s'", len(s.data), obj.Spec.URL))
	if _, err := r.Storage.GarbageCollect(a); err != nil {
		r.Event(obj, s.revision, corev1.EventTypeWarning, "GarbageCollectionFailed", err.Error())
	}
	return nil
}

// reconcileOCI handles a HelmRepository of type oci: HelmCharts pull from its
// registry directly, so there is nothing to fetch or store. It removes what
// an earlier type default stored and reports Ready.
func (r *Reconciler) reconcileOCI(obj *sourcev1.HelmRepository) error {
	if !strings.HasPrefix(obj.Spec.URL, sourcev1.OCIRepositoryPrefix) {
		err := fmt.Errorf("invalid URL '%s': a HelmRepository of type 'oci' needs an oci:// URL", obj.Spec.URL)
		return outcome.StallErr(sourcev1.URLInvalidReason, err)
	}
	if obj.Status.Artifact != nil {
		if err := r.Storage.RemoveAll(sourcev1.HelmRepositoryKind, obj.Namespace, obj.Name); err != nil {
			return outcome.RetryErr(sourcev1.StorageOperationFailedCondition, err)
		}
		obj.Status.Artifact = nil
		obj.Status.URL = ""
	}
	for _, c := range []string{sourcev1.ArtifactInStorageCondition, sourcev1.ArtifactOutdatedCondition,
		sourcev1.FetchFailedCondition, sourcev1.StorageOperationFailedCondition} {
		conditions.Delete(obj, c)
	}
	conditions.MarkTrue(obj, fluxmeta.ReadyCondition, fluxmeta.SucceededReason,
		"Helm repository of type 'oci' is a static object: HelmCharts pull charts from the registry directly")
	return nil
}

// validURL checks that a type default repository has an http(s) URL.
func validURL(raw string) error {
	if strings.HasPrefix(raw, sourcev1.OCIRepositoryPrefix) {
		return errors.New("invalid URL: the 'oci' scheme needs spec.type 'oci'")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid URL '%s': expected http:// or https://", u.Redacted())
	}
	return nil
}

// fetchFailed marks FetchFailed and returns a retryable error with reason.
func fetchFailed(obj *sourcev1.HelmRepository, reason string, err error) error {
	conditions.MarkTrue(obj, sourcev1.FetchFailedCondition, reason, "%s", err)
	return outcome.RetryErr(reason, err)
}
