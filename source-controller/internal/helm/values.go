package helm

import (
	"errors"
	"fmt"
	"io/fs"
	"path"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"sigs.k8s.io/yaml"
)

// MergeValuesFiles reads the YAML files at paths through read and merges
// them in order, later files winning key by key (maps merge deeply, anything
// else is replaced). With ignoreMissing, files for which read returns an
// fs.ErrNotExist error are skipped. It returns the merged values and the
// paths that contributed.
func MergeValuesFiles(read func(path string) ([]byte, error), paths []string, ignoreMissing bool) (map[string]any, []string, error) {
	merged := map[string]any{}
	var used []string
	for _, p := range paths {
		data, err := read(p)
		if err != nil {
			if ignoreMissing && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil, fmt.Errorf("values file '%s' not found", p)
			}
			return nil, nil, fmt.Errorf("failed to read values file '%s': %w", p, err)
		}
		values := map[string]any{}
		if err := yaml.Unmarshal(data, &values); err != nil {
			return nil, nil, fmt.Errorf("values file '%s' is not valid YAML: %w", p, err)
		}
		merged = mergeMaps(merged, values)
		used = append(used, p)
	}
	return merged, used, nil
}

// mergeMaps merges b into a, b winning.
func mergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = mergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// ReplaceValues makes values the chart's values.yaml.
func ReplaceValues(ch *chart.Chart, values map[string]any) error {
	data, err := yaml.Marshal(values)
	if err != nil {
		return fmt.Errorf("failed to encode merged values: %w", err)
	}
	ch.Values = values
	for _, f := range ch.Raw {
		if f.Name == chartutil.ValuesfileName {
			f.Data = data
			return nil
		}
	}
	ch.Raw = append(ch.Raw, &chart.File{Name: chartutil.ValuesfileName, Data: data})
	return nil
}

// ArchiveFile returns a reader of files inside a loaded chart archive by
// path relative to the chart root, for values files of a downloaded chart.
func ArchiveFile(ch *chart.Chart) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		p = path.Clean("/" + p)[1:]
		for _, f := range ch.Raw {
			if f.Name == p {
				return f.Data, nil
			}
		}
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
}
