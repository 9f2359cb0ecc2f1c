package helm

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

// LoadArchive loads a packaged chart and checks that it is the chart that was
// asked for: a valid chart named name, at version when version is not empty.
func LoadArchive(data []byte, name, version string) (*chart.Chart, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		if oversize := explainOversize(data); oversize != nil {
			return nil, oversize
		}
		return nil, fmt.Errorf("failed to load chart archive: %w", err)
	}
	if err := ch.Validate(); err != nil {
		return nil, fmt.Errorf("invalid chart: %w", err)
	}
	if ch.Name() != name {
		return nil, fmt.Errorf("chart archive holds chart '%s', expected '%s'", ch.Name(), name)
	}
	if version != "" && ch.Metadata.Version != version {
		return nil, fmt.Errorf("chart archive holds version '%s' of '%s', expected '%s'", ch.Metadata.Version, name, version)
	}
	return ch, nil
}

// LoadDir loads an unpacked chart, honouring its .helmignore.
func LoadDir(dir string) (*chart.Chart, error) {
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	if err := ch.Validate(); err != nil {
		return nil, fmt.Errorf("invalid chart: %w", err)
	}
	return ch, nil
}

// SetVersionMetadata replaces the build metadata of the chart's version, so
// that a chart rebuilt from a new source revision or with other values files
// gets a version of its own.
func SetVersionMetadata(ch *chart.Chart, metadata string) error {
	v, err := VersionWithMetadata(ch.Metadata.Version, metadata)
	if err != nil {
		return err
	}
	ch.Metadata.Version = v
	return nil
}

// VersionWithMetadata returns version with its build metadata replaced by
// metadata; an empty metadata leaves version as it is.
func VersionWithMetadata(version, metadata string) (string, error) {
	if metadata == "" {
		return version, nil
	}
	v, err := semver.NewVersion(version)
	if err != nil {
		return "", fmt.Errorf("chart version '%s' is not semver: %w", version, err)
	}
	nv, err := v.SetMetadata(metadata)
	if err != nil {
		return "", fmt.Errorf("invalid version metadata '%s': %w", metadata, err)
	}
	return nv.String(), nil
}

// Package writes the chart as <name>-<version>.tgz into dir and returns the
// file's path.
func Package(ch *chart.Chart, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p, err := chartutil.Save(ch, dir)
	if err != nil {
		return "", fmt.Errorf("failed to package chart: %w", err)
	}
	return filepath.Clean(p), nil
}
