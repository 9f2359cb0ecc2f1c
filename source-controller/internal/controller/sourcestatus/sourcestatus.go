// Package sourcestatus holds the status steps that the source reconcilers
// (GitRepository, HelmRepository, HelmChart, OCIRepository) share.
package sourcestatus

import (
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/storage"
)

// CheckStorage reports whether the artifact a, from obj's status, is still
// intact in storage, and sets ArtifactInStorage accordingly. A nil artifact
// is reported intact. When it returns false the caller drops the artifact
// from status so that the reconcile rebuilds it.
func CheckStorage(store *storage.Storage, obj conditions.Setter, a *fluxmeta.Artifact) bool {
	if a == nil {
		return true
	}
	if err := store.Verify(*a); err != nil {
		conditions.MarkFalse(obj, sourcev1.ArtifactInStorageCondition, "ArtifactMissing",
			"artifact for revision '%s' is missing or corrupt in storage and will be rebuilt: %s", a.Revision, err)
		return false
	}
	if !conditions.IsTrue(obj, sourcev1.ArtifactInStorageCondition) {
		conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, fluxmeta.SucceededReason,
			"stored artifact for revision '%s'", a.Revision)
	}
	return true
}
