package helm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
	securejoin "github.com/cyphar/filepath-securejoin"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
)

// ChartFetcher fetches packaged charts named by dependencies.
type ChartFetcher interface {
	// FetchChart returns the packaged chart name, at the highest version
	// matching constraint, from the http(s):// or oci:// repository repoURL.
	FetchChart(ctx context.Context, repoURL, name, constraint string) ([]byte, error)
}

// BuildDependencies adds to ch the dependencies its Chart.yaml declares that
// are not vendored in its charts/ directory. file:// dependencies are loaded
// from their directory, relative to chartDir, which must lie inside root (the
// source the chart came from); the others are fetched through fetch. A
// version pinned in Chart.lock wins over the range in Chart.yaml. It returns
// how many dependencies it added.
func BuildDependencies(ctx context.Context, ch *chart.Chart, chartDir, root string, fetch ChartFetcher) (int, error) {
	vendored := map[string]bool{}
	for _, sub := range ch.Dependencies() {
		vendored[sub.Name()] = true
	}
	added := 0
	for _, d := range ch.Metadata.Dependencies {
		if vendored[d.Name] {
			continue
		}
		constraint := d.Version
		if v := lockedVersion(ch, d); v != "" {
			constraint = v
		}
		var sub *chart.Chart
		var err error
		switch {
		case strings.HasPrefix(d.Repository, "file://"):
			sub, err = loadLocalDependency(ctx, d, chartDir, root, fetch)
			if err == nil {
				err = checkVersion(sub, constraint)
			}
		case strings.HasPrefix(d.Repository, "http://"), strings.HasPrefix(d.Repository, "https://"),
			strings.HasPrefix(d.Repository, "oci://"):
			var data []byte
			if data, err = fetch.FetchChart(ctx, d.Repository, d.Name, constraint); err == nil {
				sub, err = LoadArchive(data, d.Name, "")
			}
		case d.Repository == "":
			err = fmt.Errorf("it is not in charts/ and names no repository")
		default:
			err = fmt.Errorf("repository '%s' is not supported: use a file://, http(s):// or oci:// URL", d.Repository)
		}
		if err != nil {
			return added, fmt.Errorf("dependency '%s': %w", d.Name, err)
		}
		ch.AddDependency(sub)
		vendored[d.Name] = true
		added++
	}
	return added, nil
}

// loadLocalDependency loads a file:// dependency, and its own dependencies.
func loadLocalDependency(ctx context.Context, d *chart.Dependency, chartDir, root string, fetch ChartFetcher) (*chart.Chart, error) {
	abs := filepath.Join(chartDir, filepath.FromSlash(strings.TrimPrefix(d.Repository, "file://")))
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("path '%s' points outside the source", d.Repository)
	}
	dir, err := securejoin.SecureJoin(root, rel)
	if err != nil {
		return nil, fmt.Errorf("invalid path '%s': %w", d.Repository, err)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("path '%s' not found in the source", d.Repository)
	}
	sub, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("failed to load chart from '%s': %w", d.Repository, err)
	}
	if info, err := os.Stat(dir); err == nil && info.IsDir() {
		if _, err := BuildDependencies(ctx, sub, dir, root, fetch); err != nil {
			return nil, err
		}
	}
	return sub, nil
}

// lockedVersion returns the version Chart.lock pins for d, if any.
func lockedVersion(ch *chart.Chart, d *chart.Dependency) string {
	if ch.Lock == nil {
		return ""
	}
	for _, l := range ch.Lock.Dependencies {
		if l.Name == d.Name && l.Repository == d.Repository {
			return l.Version
		}
	}
	return ""
}

// checkVersion checks a local dependency against its version range.
func checkVersion(sub *chart.Chart, constraint string) error {
	if constraint == "" || constraint == "*" || constraint == sub.Metadata.Version {
		return nil
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return fmt.Errorf("invalid version constraint '%s': %w", constraint, err)
	}
	v, err := semver.NewVersion(sub.Metadata.Version)
	if err != nil || !c.Check(v) {
		return fmt.Errorf("version '%s' does not match '%s'", sub.Metadata.Version, constraint)
	}
	return nil
}
