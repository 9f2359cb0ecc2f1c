package helmchart

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
	"github.com/ferrycd/ferry/source-controller/internal/helmclient"
	"github.com/ferrycd/ferry/source-controller/internal/oci"
)

// buildFromIndex picks the chart version from the HelmRepository's stored
// index and downloads it with the repository's credentials, unless the
// artifact already serves that version.
func (r *Reconciler) buildFromIndex(ctx context.Context, s *scope) error {
	obj, repo := s.obj, s.helmRepo
	idx, err := r.loadIndex(*repo.Status.Artifact)
	if err != nil {
		return fetchFailed(obj, sourcev1.IndexationFailedReason,
			fmt.Errorf("failed to read the index of HelmRepository '%s': %w", repo.Name, err))
	}
	cv, err := idx.Get(obj.Spec.Chart, obj.Spec.Version)
	if err != nil {
		return invalidReference(obj, err)
	}
	if s.revision, err = helm.VersionWithMetadata(cv.Version, generationMetadata(obj)); err != nil {
		return buildFailed(obj, sourcev1.ChartPackageErrorReason, err)
	}
	s.chartName = obj.Spec.Chart
	if upToDate(obj, s.revision) {
		return nil
	}
	return r.shared(ctx, s, indexBuildKey(s, cv), func() error { return r.pullFromIndex(ctx, s, cv) })
}

// pullFromIndex downloads version cv of the chart, checks it against the
// index's digest and makes it the artifact to store.
func (r *Reconciler) pullFromIndex(ctx context.Context, s *scope, cv *helm.ChartVersion) error {
	obj, repo := s.obj, s.helmRepo
	if len(cv.URLs) == 0 {
		return fetchFailed(obj, sourcev1.ChartPullErrorReason,
			fmt.Errorf("chart '%s' version '%s' has no download URL in the index", cv.Name, cv.Version))
	}
	getter, err := helmclient.Getter(ctx, r.Client, repo)
	if err != nil {
		return fetchFailed(obj, sourcev1.AuthenticationFailedReason, err)
	}
	url, err := helm.ResolveChartURL(repo.Spec.URL, cv.URLs[0])
	if err != nil {
		return fetchFailed(obj, sourcev1.ChartPullErrorReason, err)
	}
	data, err := getter.Get(ctx, repo.Spec.URL, url, helm.MaxChartSize)
	if err != nil {
		err = fmt.Errorf("failed to download chart '%s' version '%s': %w", cv.Name, cv.Version, err)
		if helm.IsUnauthorized(err) {
			return fetchFailed(obj, sourcev1.AuthenticationFailedReason,
				fmt.Errorf("%w: check the credentials of HelmRepository '%s'", err, repo.Name))
		}
		return fetchFailed(obj, sourcev1.ChartPullErrorReason, err)
	}
	if cv.Digest != "" {
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != strings.ToLower(cv.Digest) {
			return fetchFailed(obj, sourcev1.ChartPullErrorReason,
				fmt.Errorf("chart '%s' version '%s' from '%s' does not match the digest in the index", cv.Name, cv.Version, url))
		}
	}
	return r.useArchive(s, data, cv.Version)
}

// buildFromRegistry resolves the chart version among the registry's tags
// (or takes an exact version as is) and pulls it, unless the artifact
// already serves that version.
func (r *Reconciler) buildFromRegistry(ctx context.Context, s *scope) error {
	obj, repo := s.obj, s.helmRepo
	client, err := helmclient.RegistryClient(ctx, r.Client, repo)
	if err != nil {
		return fetchFailed(obj, sourcev1.AuthenticationFailedReason, err)
	}
	ctx, cancel := context.WithTimeout(ctx, repo.GetTimeout())
	defer cancel()
	version, err := helm.OCIChartVersion(ctx, client, repo.Spec.URL, obj.Spec.Chart, obj.Spec.Version)
	if err != nil {
		return registryFailed(obj, repo, err)
	}
	if s.revision, err = helm.VersionWithMetadata(version, generationMetadata(obj)); err != nil {
		return buildFailed(obj, sourcev1.ChartPackageErrorReason, err)
	}
	s.chartName = obj.Spec.Chart
	ref, err := r.chartRef(ctx, s, client, version)
	if err != nil || ref == nil {
		return err
	}
	data, err := helm.PullOCIChartRef(ctx, client, ref, obj.Spec.Chart, version)
	if err != nil {
		return registryFailed(obj, repo, err)
	}
	return r.useArchive(s, data, version)
}

// useArchive checks a downloaded chart and either keeps it as the artifact
// or, with values files, merges them into it and packages it again.
func (r *Reconciler) useArchive(s *scope, data []byte, version string) error {
	obj := s.obj
	ch, err := helm.LoadArchive(data, obj.Spec.Chart, version)
	if err != nil {
		return buildFailed(obj, sourcev1.ChartPullErrorReason,
			fmt.Errorf("downloaded chart '%s' version '%s' is not valid: %w", obj.Spec.Chart, version, err))
	}
	dir, err := os.MkdirTemp("", "helmchart-")
	if err != nil {
		return outcome.RetryErr(sourcev1.DirCreationFailedReason, err)
	}
	s.dir = dir
	if len(obj.Spec.ValuesFiles) == 0 {
		s.packaged, s.pulled = filepath.Join(dir, "chart.tgz"), true
		if err := os.WriteFile(s.packaged, data, 0o600); err != nil {
			return outcome.RetryErr(sourcev1.StorageOperationFailedCondition, err)
		}
		return nil
	}
	if err := r.mergeValues(s, ch, helm.ArchiveFile(ch)); err != nil {
		return err
	}
	if err := helm.SetVersionMetadata(ch, generationMetadata(obj)); err != nil {
		return buildFailed(obj, sourcev1.ChartPackageErrorReason, err)
	}
	if s.packaged, err = helm.Package(ch, filepath.Join(dir, "out")); err != nil {
		return buildFailed(obj, sourcev1.ChartPackageErrorReason, err)
	}
	return nil
}

// loadIndex returns the parsed index stored as artifact a, from the cache
// when another reconcile parsed it already; reconciles that miss at once
// parse it once between them.
func (r *Reconciler) loadIndex(a fluxmeta.Artifact) (*helm.Index, error) {
	return r.Indexes.Load(a.Digest, func() (*helm.Index, error) {
		data, err := os.ReadFile(r.Storage.LocalPath(a))
		if err != nil {
			return nil, err
		}
		return helm.ParseIndex(data)
	})
}

// invalidReference reports a chart or version missing from the source.
func invalidReference(obj *sourcev1.HelmChart, err error) error {
	var nf *helm.NotFoundError
	if errors.As(err, &nf) {
		return fetchFailed(obj, sourcev1.InvalidChartReferenceReason, fmt.Errorf("invalid chart reference: %w", err))
	}
	return fetchFailed(obj, sourcev1.InvalidChartReferenceReason,
		fmt.Errorf("invalid chart reference: %w: check spec.version", err))
}

// registryFailed reports a registry error with the reason it calls for.
func registryFailed(obj *sourcev1.HelmChart, repo *sourcev1.HelmRepository, err error) error {
	var nf *helm.NotFoundError
	switch {
	case oci.IsUnauthorized(err):
		return fetchFailed(obj, sourcev1.AuthenticationFailedReason,
			fmt.Errorf("%w: check the credentials of HelmRepository '%s'", err, repo.Name))
	case errors.As(err, &nf):
		return invalidReference(obj, err)
	case oci.IsNotFound(err):
		return fetchFailed(obj, sourcev1.InvalidChartReferenceReason,
			fmt.Errorf("invalid chart reference: chart '%s' version '%s' not found: %w", obj.Spec.Chart, obj.Spec.Version, err))
	}
	return fetchFailed(obj, sourcev1.ChartPullErrorReason, err)
}
