// Package sourcestatus holds the status steps and watch predicates that the
// HelmRepository, HelmChart and OCIRepository reconcilers share.
package sourcestatus

import (
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

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

// ArtifactChanged passes updates that change a source's artifact, for
// watches that requeue the objects built from that source.
type ArtifactChanged struct{ predicate.Funcs }

// Create is ignored: a new source has no artifact yet.
func (ArtifactChanged) Create(event.CreateEvent) bool { return false }

// Delete is ignored: dependants notice on their next reconcile.
func (ArtifactChanged) Delete(event.DeleteEvent) bool { return false }

// Generic is ignored.
func (ArtifactChanged) Generic(event.GenericEvent) bool { return false }

// Update passes when the artifact's digest changed.
func (ArtifactChanged) Update(e event.UpdateEvent) bool {
	oldObj, ok1 := e.ObjectOld.(sourcev1.Source)
	newObj, ok2 := e.ObjectNew.(sourcev1.Source)
	if !ok1 || !ok2 || newObj.GetArtifact() == nil {
		return false
	}
	return oldObj.GetArtifact() == nil || oldObj.GetArtifact().Digest != newObj.GetArtifact().Digest
}
