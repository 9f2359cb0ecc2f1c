package helm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"helm.sh/helm/v3/pkg/chart"
	"sigs.k8s.io/yaml"
)

func TestMergeValuesFiles(t *testing.T) {
	files := map[string]string{
		"a.yaml":   "replicas: 1\nimage:\n  repository: app\n  tag: \"1\"\nlist: [1, 2]\n",
		"b.yaml":   "replicas: 3\nimage:\n  tag: \"2\"\nlist: [3]\n",
		"bad.yaml": "replicas: [\n",
	}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	g := NewWithT(t)
	merged, used, err := MergeValuesFiles(read, []string{"a.yaml", "missing.yaml", "b.yaml"}, true)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(used).To(Equal([]string{"a.yaml", "b.yaml"}))
	g.Expect(merged).To(Equal(map[string]any{
		"replicas": float64(3), "image": map[string]any{"repository": "app", "tag": "2"}, "list": []any{float64(3)},
	}), "maps merge deeply, lists are replaced")

	_, _, err = MergeValuesFiles(read, []string{"a.yaml", "missing.yaml"}, false)
	g.Expect(err).To(MatchError("values file 'missing.yaml' not found"))
	_, _, err = MergeValuesFiles(read, []string{"bad.yaml"}, true)
	g.Expect(err).To(MatchError(ContainSubstring("values file 'bad.yaml' is not valid YAML")))
}

func TestReplaceValuesAndVersionMetadata(t *testing.T) {
	g := NewWithT(t)
	ch := &chart.Chart{Metadata: &chart.Metadata{Name: "app", Version: "1.2.3+old"}}
	g.Expect(ReplaceValues(ch, map[string]any{"a": 1})).To(Succeed())
	data, err := ArchiveFile(ch)("./values.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	var back map[string]any
	g.Expect(yaml.Unmarshal(data, &back)).To(Succeed())
	g.Expect(back).To(Equal(map[string]any{"a": float64(1)}))
	_, err = ArchiveFile(ch)("nope.yaml")
	g.Expect(errors.Is(err, fs.ErrNotExist)).To(BeTrue())

	g.Expect(SetVersionMetadata(ch, "abcdef012345.3")).To(Succeed())
	g.Expect(ch.Metadata.Version).To(Equal("1.2.3+abcdef012345.3"))
	v, err := VersionWithMetadata("1.0.0", "")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(v).To(Equal("1.0.0"))
	_, err = VersionWithMetadata("not-semver", "1")
	g.Expect(err).To(HaveOccurred())
}

type fakeFetcher map[string][]byte

func (f fakeFetcher) FetchChart(_ context.Context, repoURL, name, constraint string) ([]byte, error) {
	if data, ok := f[repoURL+"/"+name+"@"+constraint]; ok {
		return data, nil
	}
	return nil, fmt.Errorf("no chart '%s' matching '%s' in '%s'", name, constraint, repoURL)
}

func TestBuildDependencies(t *testing.T) {
	g := NewWithT(t)
	root := t.TempDir()
	write := func(dir, name, version string) {
		g.Expect(os.MkdirAll(filepath.Join(root, dir), 0o755)).To(Succeed())
		md := fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\n", name, version)
		g.Expect(os.WriteFile(filepath.Join(root, dir, "Chart.yaml"), []byte(md), 0o644)).To(Succeed())
	}
	write("charts/lib", "lib", "1.4.0")
	write("charts/app", "app", "0.1.0")
	write("charts/app/charts/vendored", "vendored", "0.0.1")
	remote := packageChart(t, "remote", "2.1.0")
	fetch := fakeFetcher{"https://charts.example/remote@2.1.0": remote}

	ch, err := LoadDir(filepath.Join(root, "charts/app"))
	g.Expect(err).NotTo(HaveOccurred())
	ch.Metadata.Dependencies = []*chart.Dependency{
		{Name: "lib", Version: "1.x", Repository: "file://../lib"},
		{Name: "remote", Version: "2.x", Repository: "https://charts.example"},
		{Name: "vendored", Version: "0.0.1"},
	}
	ch.Lock = &chart.Lock{Dependencies: []*chart.Dependency{{Name: "remote", Version: "2.1.0", Repository: "https://charts.example"}}}
	n, err := BuildDependencies(context.Background(), ch, filepath.Join(root, "charts/app"), root, fetch)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(n).To(Equal(2), "the vendored dependency is kept, the others are added")
	var names []string
	for _, d := range ch.Dependencies() {
		names = append(names, d.Name()+"@"+d.Metadata.Version)
	}
	g.Expect(names).To(ConsistOf("vendored@0.0.1", "lib@1.4.0", "remote@2.1.0"))

	tests := []struct {
		dep  chart.Dependency
		want string
	}{
		{chart.Dependency{Name: "lib", Version: "2.x", Repository: "file://../lib"}, "version '1.4.0' does not match '2.x'"},
		{chart.Dependency{Name: "x", Repository: "file://../../.."}, "points outside the source"},
		{chart.Dependency{Name: "x", Repository: "file://../absent"}, "not found in the source"},
		{chart.Dependency{Name: "x"}, "names no repository"},
		{chart.Dependency{Name: "x", Repository: "@stable"}, "is not supported"},
		{chart.Dependency{Name: "remote", Version: "3.x", Repository: "https://charts.example"}, "no chart 'remote' matching '3.x'"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			ch, err := LoadDir(filepath.Join(root, "charts/app"))
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			d := tt.dep
			ch.Metadata.Dependencies = []*chart.Dependency{&d}
			_, err = BuildDependencies(context.Background(), ch, filepath.Join(root, "charts/app"), root, fetch)
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tt.want)))
		})
	}
}

func TestLoadArchiveChecksNameAndVersion(t *testing.T) {
	g := NewWithT(t)
	data := packageChart(t, "app", "1.0.0")
	_, err := LoadArchive(data, "app", "1.0.0")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = LoadArchive(data, "other", "1.0.0")
	g.Expect(err).To(MatchError(ContainSubstring("holds chart 'app', expected 'other'")))
	_, err = LoadArchive(data, "app", "2.0.0")
	g.Expect(err).To(MatchError(ContainSubstring("holds version '1.0.0' of 'app', expected '2.0.0'")))
	_, err = LoadArchive([]byte("garbage"), "app", "")
	g.Expect(err).To(HaveOccurred())
}

func packageChart(t *testing.T, name, version string) []byte {
	t.Helper()
	p, err := Package(&chart.Chart{Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: name, Version: version}}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
