package helm

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/Masterminds/semver/v3"
	gcrname "github.com/google/go-containerregistry/pkg/name"

	"github.com/ferrycd/ferry/source-controller/internal/oci"
)

// Media types of a Helm chart pushed to an OCI registry.
const (
	ChartConfigMediaType = "application/vnd.cncf.helm.config.v1+json"
	ChartLayerMediaType  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// OCIChartVersion resolves the version of chart name in the OCI repository
// repoURL (the chart lives at <repoURL>/<name>): an exact version is taken as
// is and checked when pulled; a range is matched against the repository's
// tags. Helm writes '+' in versions as '_' in tags, since tags cannot hold
// '+'.
func OCIChartVersion(ctx context.Context, c *oci.Client, repoURL, name, constraint string) (string, error) {
	if _, err := semver.StrictNewVersion(strings.TrimPrefix(constraint, "v")); err == nil {
		return constraint, nil
	}
	repo, err := c.Repository(strings.TrimSuffix(repoURL, "/") + "/" + name)
	if err != nil {
		return "", err
	}
	tags, err := c.Tags(ctx, repo)
	if err != nil {
		return "", err
	}
	versions := make([]string, 0, len(tags))
	for _, t := range tags {
		versions = append(versions, strings.ReplaceAll(t, "_", "+"))
	}
	return SelectVersion(name, constraint, versions)
}

// PullOCIChart downloads version of chart name from the OCI repository
// repoURL, up to MaxChartSize.
func PullOCIChart(ctx context.Context, c *oci.Client, repoURL, name, version string) ([]byte, error) {
	tag, err := OCIChartTag(c, repoURL, name, version)
	if err != nil {
		return nil, err
	}
	return PullOCIChartRef(ctx, c, tag, name, version)
}

// OCIChartTag returns the tag of version of chart name in the OCI
// repository repoURL, with '+' written as '_'.
func OCIChartTag(c *oci.Client, repoURL, name, version string) (gcrname.Tag, error) {
	repo, err := c.Repository(strings.TrimSuffix(repoURL, "/") + "/" + name)
	if err != nil {
		return gcrname.Tag{}, err
	}
	return repo.Tag(strings.ReplaceAll(version, "+", "_")), nil
}

// PullOCIChartRef downloads the chart at ref, a tag or the digest whose
// signature was verified, up to MaxChartSize; name and version are for
// messages.
func PullOCIChartRef(ctx context.Context, c *oci.Client, ref gcrname.Reference, name, version string) ([]byte, error) {
	rc, err := c.Layer(ctx, ref, ChartLayerMediaType)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, MaxChartSize+1))
	if err != nil {
		return nil, fmt.Errorf("failed to download chart '%s' version '%s': %w", name, version, err)
	}
	if int64(len(data)) > MaxChartSize {
		return nil, fmt.Errorf("chart '%s' version '%s' exceeds the limit of %d bytes", name, version, MaxChartSize)
	}
	return data, nil
}
