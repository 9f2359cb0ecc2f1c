package artifactgenerator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	sourceextv1 "github.com/ferrycd/ferry/pkg/apis/sourceext/v1beta1"
	"github.com/ferrycd/ferry/pkg/artifact/archive"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// publish makes the ExternalArtifact of out serve the content of dir. The
// archive's digest is computed first: when the ExternalArtifact already
// serves that digest with the wanted revision, nothing is written, so its
// status (and so its consumers) stay untouched. It reports whether a new
// artifact was stored.
func (r *Reconciler) publish(ctx context.Context, s *scope, out sourceextv1.OutputArtifact, dir string) (sourceextv1.ExternalArtifactReference, bool, error) {
	obj := s.obj
	digest, err := archiveDigest(dir)
	if err != nil {
		return sourceextv1.ExternalArtifactReference{}, false, r.storageFailed(out, err)
	}
	ref := sourceextv1.ExternalArtifactReference{
		APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.ExternalArtifactKind,
		Name: out.Name, Namespace: obj.Namespace, Digest: digest,
	}
	ea, err := r.ensure(ctx, obj, out.Name)
	if err != nil {
		return ref, false, err
	}

	revision := "latest@" + digest
	if out.Revision != "" {
		revision = s.sources[strings.TrimPrefix(out.Revision, "@")].artifact.Revision
	}
	metadata := map[string]string{}
	if out.OriginRevision != "" {
		metadata[sourceextv1.OriginRevisionKey] = s.sources[strings.TrimPrefix(out.OriginRevision, "@")].artifact.Revision
	}
	if cur := ea.Status.Artifact; cur != nil && cur.Digest == digest && cur.Revision == revision &&
		hasKeys(cur.Metadata, metadata) && conditions.IsReady(ea) && r.Storage.Verify(*cur) == nil {
		// Unchanged content: the origin revision of the commit that last
		// changed it stays, so consumers see no new artifact.
		return ref, false, nil
	}

	a := r.Storage.NewArtifact(sourcev1.ExternalArtifactKind, obj.Namespace, out.Name, revision,
		strings.TrimPrefix(digest, "sha256:")+".tar.gz")
	if err := r.Storage.Archive(&a, dir, nil); err != nil {
		return ref, false, r.storageFailed(out, err)
	}
	if len(metadata) > 0 {
		a.Metadata = metadata
	}
	ref.Digest = a.Digest
	base := ea.DeepCopy()
	ea.Status.Artifact = &a
	conditions.MarkTrue(ea, fluxmeta.ReadyCondition, fluxmeta.SucceededReason, "stored artifact for revision '%s'", revision)
	if err := r.Status().Patch(ctx, ea, client.MergeFrom(base)); err != nil {
		return ref, false, outcome.RetryErr(fluxmeta.FailedReason,
			fmt.Errorf("failed to update the status of ExternalArtifact '%s': %w", out.Name, err))
	}
	r.Event(obj, revision, corev1.EventTypeNormal, sourcev1.NewArtifactReason,
		fmt.Sprintf("stored artifact '%s' for revision '%s'", out.Name, revision))
	if _, err := r.Storage.GarbageCollect(a); err != nil {
		r.Event(obj, revision, corev1.EventTypeWarning, "GarbageCollectionFailed", err.Error())
	}
	return ref, true, nil
}

// ensure returns the ExternalArtifact named name, creating it owned by obj.
// One that exists and belongs to something else is left alone and stalls the
// generator: taking it over would silently change what its consumers apply.
func (r *Reconciler) ensure(ctx context.Context, obj *sourceextv1.ArtifactGenerator, name string) (*sourcev1.ExternalArtifact, error) {
	ea := &sourcev1.ExternalArtifact{}
	err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: name}, ea)
	if err == nil {
		if !metav1.IsControlledBy(ea, obj) {
			return nil, invalid("ExternalArtifact '%s/%s' exists and is not owned by this ArtifactGenerator", obj.Namespace, name)
		}
		return ea, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, outcome.RetryErr(fluxmeta.FailedReason, err)
	}
	ea = &sourcev1.ExternalArtifact{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: obj.Namespace},
		Spec: sourcev1.ExternalArtifactSpec{SourceRef: &fluxmeta.NamespacedObjectKindReference{
			APIVersion: sourceextv1.GroupVersion.String(), Kind: sourceextv1.ArtifactGeneratorKind,
			Name: obj.Name, Namespace: obj.Namespace,
		}},
	}
	if err := controllerutil.SetControllerReference(obj, ea, r.Finisher.Scheme); err != nil {
		return nil, outcome.RetryErr(fluxmeta.FailedReason, err)
	}
	if err := r.Create(ctx, ea); err != nil {
		return nil, outcome.RetryErr(fluxmeta.FailedReason, fmt.Errorf("failed to create ExternalArtifact '%s': %w", name, err))
	}
	return ea, nil
}

// remove deletes the ExternalArtifact name if obj owns it, and its stored
// files.
func (r *Reconciler) remove(ctx context.Context, obj *sourceextv1.ArtifactGenerator, name string) error {
	ea := &sourcev1.ExternalArtifact{}
	err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: name}, ea)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return outcome.RetryErr(fluxmeta.FailedReason, err)
	case !metav1.IsControlledBy(ea, obj):
		return nil // not ours: neither the object nor its files
	default:
		if err := r.Delete(ctx, ea); client.IgnoreNotFound(err) != nil {
			return outcome.RetryErr(fluxmeta.FailedReason, fmt.Errorf("failed to delete ExternalArtifact '%s': %w", name, err))
		}
	}
	if err := r.Storage.RemoveAll(sourcev1.ExternalArtifactKind, obj.Namespace, name); err != nil {
		return outcome.RetryErr(sourcev1.StorageOperationFailedCondition, err)
	}
	return nil
}

func (r *Reconciler) storageFailed(out sourceextv1.OutputArtifact, err error) error {
	return outcome.RetryErr(sourcev1.ArchiveOperationFailedReason,
		fmt.Errorf("failed to archive artifact '%s': %w", out.Name, err))
}

// archiveDigest is the digest the stored archive of dir will have: archives
// are deterministic, so this is known before anything is written.
func archiveDigest(dir string) (string, error) {
	h := sha256.New()
	if err := archive.Build(h, dir, nil); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// hasKeys reports whether got holds exactly the keys of want (values aside:
// an origin revision that moved on while the content stayed is kept).
func hasKeys(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k := range maps.Keys(want) {
		if _, ok := got[k]; !ok {
			return false
		}
	}
	return true
}
