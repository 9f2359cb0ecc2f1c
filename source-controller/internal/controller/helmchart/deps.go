package helmchart

import (
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
	"github.com/ferrycd/ferry/source-controller/internal/helmclient"
	"github.com/ferrycd/ferry/source-controller/internal/oci"
)

// depFetcher fetches the repository dependencies of a chart from Git. When
// a HelmRepository in the chart's namespace has the dependency's URL, its
// credentials are used and, for an index repository, its stored index, as
// Flux does; otherwise the repository is read anonymously.
type depFetcher struct {
	r         *Reconciler
	namespace string
}

var _ helm.ChartFetcher = (*depFetcher)(nil)

// FetchChart implements helm.ChartFetcher.
func (f *depFetcher) FetchChart(ctx context.Context, repoURL, name, constraint string) ([]byte, error) {
	repo, err := f.repositoryFor(ctx, repoURL)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(repoURL, oci.Scheme) {
		return f.fromRegistry(ctx, repo, repoURL, name, constraint)
	}
	getter := &helm.Getter{Timeout: sourcev1.DefaultTimeout}
	var idx *helm.Index
	if repo != nil {
		if getter, err = helmclient.Getter(ctx, f.r.Client, repo); err != nil {
			return nil, err
		}
		if a := repo.Status.Artifact; a != nil {
			if idx, err = f.r.loadIndex(*a); err != nil {
				return nil, err
			}
		}
	}
	if idx == nil {
		data, err := getter.FetchIndex(ctx, repoURL)
		if err != nil {
			return nil, fmt.Errorf("failed to fetch the index of '%s': %w", repoURL, err)
		}
		if idx, err = helm.ParseIndex(data); err != nil {
			return nil, fmt.Errorf("failed to parse the index of '%s': %w", repoURL, err)
		}
	}
	cv, err := idx.Get(name, constraint)
	if err != nil {
		return nil, err
	}
	if len(cv.URLs) == 0 {
		return nil, fmt.Errorf("chart '%s' version '%s' has no download URL", name, cv.Version)
	}
	u, err := helm.ResolveChartURL(repoURL, cv.URLs[0])
	if err != nil {
		return nil, err
	}
	return getter.Get(ctx, repoURL, u, helm.MaxChartSize)
}

func (f *depFetcher) fromRegistry(ctx context.Context, repo *sourcev1.HelmRepository, repoURL, name, constraint string) ([]byte, error) {
	c := oci.New(oci.Options{})
	if repo != nil {
		var err error
		if c, err = helmclient.RegistryClient(ctx, f.r.Client, repo); err != nil {
			return nil, err
		}
	}
	version, err := helm.OCIChartVersion(ctx, c, repoURL, name, constraint)
	if err != nil {
		return nil, err
	}
	return helm.PullOCIChart(ctx, c, repoURL, name, version)
}

// repositoryFor returns the HelmRepository in the namespace with url, or nil.
func (f *depFetcher) repositoryFor(ctx context.Context, url string) (*sourcev1.HelmRepository, error) {
	var list sourcev1.HelmRepositoryList
	if err := f.r.List(ctx, &list, client.InNamespace(f.namespace)); err != nil {
		return nil, err
	}
	want := strings.TrimSuffix(url, "/")
	for i := range list.Items {
		if strings.TrimSuffix(list.Items[i].Spec.URL, "/") == want {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}
