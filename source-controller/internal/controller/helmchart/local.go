package helmchart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/untar"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
)

// buildFromGit loads the chart at spec.chart from the GitRepository's
// artifact, resolves its dependencies, merges values files and packages it.
// Nothing is unpacked when neither the source revision nor the spec changed,
// and nothing is packaged when the version to serve is already stored (with
// reconcileStrategy ChartVersion, an unchanged Chart.yaml version).
func (r *Reconciler) buildFromGit(ctx context.Context, s *scope) error {
	obj := s.obj
	if a := obj.Status.Artifact; a != nil && obj.Status.ObservedSourceArtifactRevision == s.sourceRevision &&
		upToDate(obj, a.Revision) {
		s.revision = a.Revision
		return nil
	}
	return r.shared(ctx, s, gitBuildKey(s), func() error { return r.packageFromGit(ctx, s) })
}

// packageFromGit unpacks the source, loads the chart with its dependencies
// and values files and packages it, unless its version is already served.
func (r *Reconciler) packageFromGit(ctx context.Context, s *scope) error {
	obj, src := s.obj, s.gitRepo
	dir, err := os.MkdirTemp("", "helmchart-")
	if err != nil {
		return outcome.RetryErr(sourcev1.DirCreationFailedReason, err)
	}
	s.dir = dir
	root := filepath.Join(dir, "src")
	if err := r.extract(src, root); err != nil {
		return fetchFailed(obj, sourcev1.SourceUnavailableReason,
			fmt.Errorf("failed to read the artifact of GitRepository '%s': %w", src.Name, err))
	}
	chartDir, err := securejoin.SecureJoin(root, obj.Spec.Chart)
	if err == nil {
		_, err = os.Stat(filepath.Join(chartDir, "Chart.yaml"))
	}
	if err != nil {
		return buildFailed(obj, sourcev1.InvalidChartReferenceReason,
			fmt.Errorf("no chart at path '%s' in GitRepository '%s' revision '%s'", obj.Spec.Chart, src.Name, s.sourceRevision))
	}
	ch, err := helm.LoadDir(chartDir)
	if err != nil {
		return buildFailed(obj, sourcev1.ChartPackageErrorReason,
			fmt.Errorf("failed to load chart from path '%s': %w", obj.Spec.Chart, err))
	}
	if err := helm.SetVersionMetadata(ch, gitMetadata(obj, s.sourceRevision)); err != nil {
		return buildFailed(obj, sourcev1.ChartPackageErrorReason, err)
	}
	s.revision, s.chartName = ch.Metadata.Version, ch.Name()
	if upToDate(obj, s.revision) {
		return nil
	}
	fetcher := &depFetcher{r: r, namespace: obj.Namespace}
	if _, err := helm.BuildDependencies(ctx, ch, chartDir, root, fetcher); err != nil {
		return buildFailed(obj, sourcev1.DependencyBuildErrorReason, fmt.Errorf("failed to build dependencies: %w", err))
	}
	if err := r.mergeValues(s, ch, sourceFile(root)); err != nil {
		return err
	}
	if s.packaged, err = helm.Package(ch, filepath.Join(dir, "out")); err != nil {
		return buildFailed(obj, sourcev1.ChartPackageErrorReason, err)
	}
	return nil
}

// gitMetadata is the version metadata of a chart built from Git: the first
// 12 characters of the commit with reconcileStrategy Revision, and the
// generation when values files are set, as Flux does.
func gitMetadata(obj *sourcev1.HelmChart, revision string) string {
	var parts []string
	if obj.Spec.ReconcileStrategy == sourcev1.ReconcileStrategyRevision {
		rev := revision
		if i := strings.LastIndex(rev, ":"); i >= 0 {
			rev = rev[i+1:]
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		parts = append(parts, rev)
	}
	if g := generationMetadata(obj); g != "" {
		parts = append(parts, g)
	}
	return strings.Join(parts, ".")
}

// mergeValues merges spec.valuesFiles, read through read, into the chart's
// values.yaml. Sets BuildFailed on failure.
func (r *Reconciler) mergeValues(s *scope, ch *chart.Chart, read func(string) ([]byte, error)) error {
	obj := s.obj
	if len(obj.Spec.ValuesFiles) == 0 {
		return nil
	}
	values, used, err := helm.MergeValuesFiles(read, obj.Spec.ValuesFiles, obj.Spec.IgnoreMissingValuesFiles)
	if err == nil {
		err = helm.ReplaceValues(ch, values)
	}
	if err != nil {
		return buildFailed(obj, sourcev1.ValuesFilesErrorReason, fmt.Errorf("failed to merge values files: %w", err))
	}
	s.valuesFiles = used
	return nil
}

// sourceFile reads files of the unpacked source by path relative to its
// root, as spec.valuesFiles of a chart from Git are written.
func sourceFile(root string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		full, err := securejoin.SecureJoin(root, p)
		if err != nil {
			return nil, err
		}
		f, err := os.Open(full)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
			}
			return nil, err
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, loader.MaxDecompressedFileSize+1))
		if err == nil && int64(len(data)) > loader.MaxDecompressedFileSize {
			err = fmt.Errorf("file exceeds the limit of %d bytes", loader.MaxDecompressedFileSize)
		}
		return data, err
	}
}

// extract unpacks the source's artifact from storage into dir.
func (r *Reconciler) extract(src *sourcev1.GitRepository, dir string) error {
	f, err := os.Open(r.Storage.LocalPath(*src.Status.Artifact))
	if err != nil {
		return err
	}
	defer f.Close()
	return untar.Untar(f, dir, 0)
}
