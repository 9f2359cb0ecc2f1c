package helmchart

import (
	"context"
	"fmt"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/name"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/source-controller/internal/controller/sourceverify"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
	"github.com/ferrycd/ferry/source-controller/internal/oci"
)

// chartRef returns what buildFromRegistry pulls: nil when the artifact
// already serves this version (verified at this generation, with
// spec.verify); the chart's tag without spec.verify; with it, the digest the
// tag points to once its cosign signature verified, so a tag moved between
// the check and the pull cannot slip an unsigned chart in. Sets
// SourceVerified.
func (r *Reconciler) chartRef(ctx context.Context, s *scope, c *oci.Client, version string) (name.Reference, error) {
	obj, repo := s.obj, s.helmRepo
	msg := fmt.Sprintf("verified signature of version %s", version)
	current := upToDate(obj, s.revision)
	verify := sourceverify.Needed(obj, obj.Spec.Verify, current, msg)
	if current && !verify {
		return nil, nil
	}
	tag, err := helm.OCIChartTag(c, repo.Spec.URL, obj.Spec.Chart, version)
	if err != nil {
		return nil, registryFailed(obj, repo, err)
	}
	if !verify {
		return tag, nil
	}
	digest, err := c.Digest(ctx, tag)
	if err != nil {
		return nil, registryFailed(obj, repo, err)
	}
	d := tag.Context().Digest(digest)
	if err := sourceverify.Verify(ctx, r.Client, c, obj, obj.Spec.Verify, d, msg); err != nil {
		return nil, err
	}
	return d, nil
}

// refuseUnverifiable stalls a HelmChart whose spec.verify cannot be
// honoured: only charts in OCI registries carry cosign signatures, and
// serving another chart unverified would quietly drop what the spec asks
// (Flux ignores verify there; Ferry refuses). Without spec.verify it removes
// SourceVerified. Sets SourceVerified.
func refuseUnverifiable(s *scope) error {
	obj := s.obj
	if obj.Spec.Verify == nil {
		conditions.Delete(obj, sourcev1.SourceVerifiedCondition)
		return nil
	}
	if s.helmRepo != nil && s.helmRepo.Spec.Type == sourcev1.HelmRepositoryTypeOCI {
		return nil
	}
	return sourceverify.Unsupported(obj, fmt.Errorf(
		"spec.verify is supported only for charts from a HelmRepository of type oci, not from %s '%s': remove spec.verify or move the chart to an OCI registry",
		obj.Spec.SourceRef.Kind, obj.Spec.SourceRef.Name))
}
