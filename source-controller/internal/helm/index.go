package helm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxIndexSize caps the size of a repository index, as Flux does, so a
// misbehaving server cannot exhaust the controller's memory.
const MaxIndexSize int64 = 50 << 20

// ErrNoAPIVersion is returned for an index without apiVersion, which is how
// Helm tells an index from any other YAML document.
var ErrNoAPIVersion = errors.New("no API version specified")

// ChartVersion is one version of a chart in a repository index: the fields
// needed to pick a version and download it.
type ChartVersion struct {
	Name    string   `json:"name" yaml:"name"`
	Version string   `json:"version" yaml:"version"`
	URLs    []string `json:"urls" yaml:"urls"`
	Digest  string   `json:"digest" yaml:"digest"`
	// Created is kept as written; it only breaks ties between versions.
	Created string `json:"created" yaml:"created"`
}

// createdTime parses Created, the zero time when it is absent or invalid.
func (v *ChartVersion) createdTime() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, v.Created)
	return t
}

// Index is a chart repository index reduced to what Ferry reads.
type Index struct {
	APIVersion string                     `json:"apiVersion" yaml:"apiVersion"`
	Entries    map[string][]*ChartVersion `json:"entries" yaml:"entries"`
}

// ParseIndex reads a repository index in YAML or JSON. It fails on a
// document that is not an index, so a URL that serves an HTML page or an
// unrelated file is reported as such.
func ParseIndex(data []byte) (*Index, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("index is empty")
	}
	idx, err := scanIndex(data)
	if errors.Is(err, errUnsupported) {
		idx, err = decodeIndex(data)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid repository index: %w", err)
	}
	if idx.APIVersion == "" {
		return nil, fmt.Errorf("invalid repository index: %w", ErrNoAPIVersion)
	}
	for name, versions := range idx.Entries {
		kept := versions[:0]
		for _, v := range versions {
			if v != nil && v.Version != "" {
				if v.Name == "" {
					v.Name = name
				}
				kept = append(kept, v)
			}
		}
		idx.Entries[name] = kept
	}
	return idx, nil
}

// decodeIndex is the general path: a full YAML (or JSON) decoder.
func decodeIndex(data []byte) (*Index, error) {
	idx := &Index{}
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		if err := json.Unmarshal(data, idx); err != nil {
			return nil, err
		}
		return idx, nil
	}
	if err := yaml.Unmarshal(data, idx); err != nil {
		return nil, err
	}
	return idx, nil
}

// Get returns the version of chart name that matches version, which is an
// exact version or a semver range ("" and "*" mean the latest stable
// version). See SelectVersion for the rules.
func (i *Index) Get(name, version string) (*ChartVersion, error) {
	versions := i.Entries[name]
	if len(versions) == 0 {
		return nil, &NotFoundError{Chart: name}
	}
	candidates := make([]candidate, 0, len(versions))
	for _, v := range versions {
		candidates = append(candidates, candidate{version: v.Version, created: v.createdTime(), ref: v})
	}
	c, err := selectVersion(name, version, candidates)
	if err != nil {
		return nil, err
	}
	return c.ref.(*ChartVersion), nil
}
