package helmchart

import (
	"context"
	"encoding/json"
	"path"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/ferrycd/ferry/pkg/artifact/storage"
	"github.com/ferrycd/ferry/source-controller/internal/buildcache"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
)

// ChartCache holds the charts built for HelmCharts, so identical ones are
// downloaded and packaged once and served from one file (see buildcache).
type ChartCache = buildcache.Cache[builtChart]

// NewChartCache returns the chart cache of store, in its shared directory.
func NewChartCache(store *storage.Storage) (*ChartCache, error) {
	return buildcache.New[builtChart](store.SharedDir("helmchart"))
}

// builtChart is what a cached build says about its file, for the status of
// every HelmChart served from it.
type builtChart struct {
	ChartName   string
	Revision    string
	Pulled      bool
	ValuesFiles []string
}

// buildKey is everything a chart build depends on. Charts of one source
// object share builds, not charts of equal sources in other namespaces: a
// build may hold what only that source's credentials can fetch.
type buildKey struct {
	Source        string   `json:"source"`
	SourceDigest  string   `json:"sourceDigest"`
	Chart         string   `json:"chart"`
	Version       string   `json:"version,omitempty"`
	ChartDigest   string   `json:"chartDigest,omitempty"`
	Metadata      string   `json:"metadata,omitempty"`
	ValuesFiles   []string `json:"valuesFiles,omitempty"`
	IgnoreMissing bool     `json:"ignoreMissing,omitempty"`
}

func (k buildKey) String() string {
	b, _ := json.Marshal(k)
	return string(b)
}

// indexBuildKey is the key of version cv of a chart from s's HelmRepository
// index; the revision carries the version metadata values files add.
func indexBuildKey(s *scope, cv *helm.ChartVersion) string {
	return buildKey{
		Source:        "HelmRepository/" + s.helmRepo.Namespace + "/" + s.helmRepo.Name,
		SourceDigest:  s.helmRepo.Status.Artifact.Digest,
		Chart:         cv.Name,
		Version:       cv.Version,
		ChartDigest:   cv.Digest,
		Metadata:      s.revision,
		ValuesFiles:   s.obj.Spec.ValuesFiles,
		IgnoreMissing: s.obj.Spec.IgnoreMissingValuesFiles,
	}.String()
}

// gitBuildKey is the key of the chart at spec.chart of s's GitRepository
// artifact, known before anything is unpacked.
func gitBuildKey(s *scope) string {
	return buildKey{
		Source:        "GitRepository/" + s.gitRepo.Namespace + "/" + s.gitRepo.Name,
		SourceDigest:  s.gitRepo.Status.Artifact.Digest,
		Chart:         path.Clean("/" + s.obj.Spec.Chart),
		Metadata:      gitMetadata(s.obj, s.sourceRevision),
		ValuesFiles:   s.obj.Spec.ValuesFiles,
		IgnoreMissing: s.obj.Spec.IgnoreMissingValuesFiles,
	}.String()
}

// shared runs build, which sets s.packaged, or takes the chart another
// HelmChart built for the same key; either way s then names the cached file
// for storeArtifact to link. Without a cache it only runs build.
func (r *Reconciler) shared(ctx context.Context, s *scope, key string, build func() error) error {
	if r.Charts == nil {
		return build()
	}
	e, release, err := r.Charts.Get(ctx, key, func() (string, builtChart, error) {
		err := build()
		return s.packaged, builtChart{ChartName: s.chartName, Revision: s.revision, Pulled: s.pulled, ValuesFiles: s.valuesFiles}, err
	})
	if err != nil {
		return err
	}
	s.release = release
	m := e.Meta
	s.chartName, s.revision, s.pulled, s.valuesFiles = m.ChartName, m.Revision, m.Pulled, m.ValuesFiles
	if e.Path == "" || upToDate(s.obj, m.Revision) {
		// Nothing built, or the build is the version already served (an
		// unchanged Chart.yaml version under reconcileStrategy ChartVersion).
		s.packaged = ""
		return nil
	}
	s.packaged, s.cached = e.Path, &e
	return nil
}

// pruneCharts drops cached charts no artifact links to any more, after
// artifacts were deleted.
func (r *Reconciler) pruneCharts(ctx context.Context) {
	if r.Charts == nil {
		return
	}
	if _, err := r.Charts.Prune(); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "failed to prune the chart cache")
	}
}
