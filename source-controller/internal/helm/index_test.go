package helm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/repo"
)

// helmIndex writes an index the way `helm repo index` does, with charts
// charts of versions versions each and the metadata real charts carry.
func helmIndex(t testing.TB, charts, versions int) []byte {
	t.Helper()
	idx := repo.NewIndexFile()
	for c := range charts {
		for v := range versions {
			md := &chart.Metadata{
				APIVersion:  chart.APIVersionV2,
				Name:        fmt.Sprintf("chart-%d", c),
				Version:     fmt.Sprintf("1.%d.0", v),
				AppVersion:  fmt.Sprintf("2.%d.1", v),
				Description: fmt.Sprintf("Chart %d deploys a service with a long description: it wraps across lines when the index is written, as real descriptions do, \"quoted\" words and all # not a comment.", c),
				Home:        "https://example.org/charts",
				Icon:        "https://example.org/icon.svg",
				Keywords:    []string{"database", "cache", "web"},
				Sources:     []string{"https://example.org/src"},
				Maintainers: []*chart.Maintainer{{Name: "Someone", Email: "someone@example.org", URL: "https://example.org"}},
				Dependencies: []*chart.Dependency{{
					Name: "common", Version: "2.x.x", Repository: "oci://registry.example.org/charts", Tags: []string{"common"},
				}},
				Annotations: map[string]string{"category": "Database", "licenses": "Apache-2.0", "images": "- name: app\n  image: example.org/app:1.0\n"},
			}
			name := fmt.Sprintf("chart-%d-1.%d.0.tgz", c, v)
			if err := idx.MustAdd(md, name, "https://example.org/charts", fmt.Sprintf("%064x", c*1000+v)); err != nil {
				t.Fatal(err)
			}
		}
	}
	idx.SortEntries()
	p := filepath.Join(t.TempDir(), "index.yaml")
	if err := idx.WriteFile(p, 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// normalize evens out what the two paths may legitimately differ in.
func normalize(i *Index) *Index {
	for name, vs := range i.Entries {
		if len(vs) == 0 {
			i.Entries[name] = nil
		}
		for _, v := range vs {
			if len(v.URLs) == 0 {
				v.URLs = nil
			}
		}
	}
	return i
}

var indexSamples = map[string]string{
	"helm layout":                           "", // filled in by the test from helmIndex
	"comments, quotes, CRLF and other keys": "# a comment\r\napiVersion: v1\r\nentries:\r\n  app:\r\n  - name: 'app'\r\n    version: \"1.0.0\" # pinned\r\n    created: 2024-01-02T03:04:05Z\r\n    description: |\r\n      - not a list\r\n      name: not a key\r\n    urls:\r\n    - charts/app-1.0.0.tgz\r\n    - 'https://mirror.example.org/app-1.0.0.tgz'\r\n  other: []\r\ngenerated: \"2024\"\r\nserverInfo:\r\n- a\r\n",
	"indented sequences":                    "---\napiVersion: v1\nentries:\n    app:\n        -   name: app\n            version: 2.0.0\n            urls:\n                - app-2.0.0.tgz\n        -   name: app\n            version: 1.0.0\n",
	"flow style":                            "apiVersion: v1\nentries: {app: [{name: app, version: 1.0.0, urls: [app-1.0.0.tgz]}]}\n",
	"escapes":                               "apiVersion: v1\nentries:\n  app:\n  - name: \"a\\u0070p\"\n    version: 1.0.0\n",
	"multi-line version":                    "apiVersion: v1\nentries:\n  app:\n  - name: app\n    version:\n      1.0.0\n",
	"anchors":                               "apiVersion: v1\nentries:\n  app:\n  - &v\n    name: app\n    version: 1.0.0\n  - <<: *v\n    version: 1.1.0\n",
	"null values":                           "apiVersion: v1\nentries:\n  app:\n  - name: ~\n    version: 1.0.0\n    digest: null\n  none:\n",
	"empty entries":                         "apiVersion: v1\nentries: {}\n",
	"json":                                  `{"apiVersion":"v1","entries":{"app":[{"name":"app","version":"1.0.0","urls":["app-1.0.0.tgz"]}]}}`,
}

func TestScannerMatchesYAML(t *testing.T) {
	for name, doc := range indexSamples {
		if doc == "" {
			doc = string(helmIndex(t, 3, 4))
		}
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			want, err := decodeIndex([]byte(doc))
			g.Expect(err).NotTo(HaveOccurred())
			got, err := scanIndex([]byte(doc))
			if errors.Is(err, errUnsupported) {
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(normalize(got)).To(Equal(normalize(want)))
		})
	}
}

func TestScannerHandlesHelmLayout(t *testing.T) {
	g := NewWithT(t)
	data := helmIndex(t, 3, 4)
	_, err := scanIndex(data)
	g.Expect(err).NotTo(HaveOccurred(), "the scanner must handle what helm writes, or it is no faster")
	idx, err := ParseIndex(data)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(idx.Entries).To(HaveLen(3))
	v, err := idx.Get("chart-1", "1.2.0")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(v.URLs).To(Equal([]string{"https://example.org/charts/chart-1-1.2.0.tgz"}))
	g.Expect(v.Digest).To(Equal(fmt.Sprintf("%064x", 1002)))
	g.Expect(v.createdTime()).NotTo(BeZero())
}

func TestParseIndexRejectsWhatIsNotAnIndex(t *testing.T) {
	tests := map[string]string{
		"empty":          "  \n",
		"html":           "<!DOCTYPE html>\n<html><body>Not found</body></html>\n",
		"broken yaml":    "apiVersion: v1\nentries:\n  app: [\n",
		"no apiVersion":  "entries:\n  app:\n  - name: app\n    version: 1.0.0\n",
		"entries a list": "apiVersion: v1\nentries:\n- app\n",
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseIndex([]byte(doc))
			NewWithT(t).Expect(err).To(HaveOccurred())
		})
	}
}

func TestIndexGet(t *testing.T) {
	doc := `apiVersion: v1
entries:
  app:
  - {name: app, version: 2.0.0-rc.1, urls: [a]}
  - {name: app, version: 1.10.0, urls: [a]}
  - {name: app, version: 1.9.0, urls: [a]}
  - {name: app, version: 1.2.3+old, created: "2024-01-01T00:00:00Z", urls: [old]}
  - {name: app, version: 1.2.3+new, created: "2024-02-01T00:00:00Z", urls: [new]}
  - {name: app, version: not-semver, urls: [a]}
`
	idx, err := ParseIndex([]byte(doc))
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	tests := []struct {
		constraint, want, url string
	}{
		{"", "1.10.0", ""},
		{"*", "1.10.0", ""},
		{"1.9.0", "1.9.0", ""},
		{"~1.9", "1.9.0", ""},
		{">=1.0.0-0", "2.0.0-rc.1", ""},
		{"1.2.x", "1.2.3+new", "new"},
		{"1.2.3+old", "1.2.3+old", "old"},
		{"not-semver", "not-semver", ""},
		{">=3", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.constraint, func(t *testing.T) {
			g := NewWithT(t)
			v, err := idx.Get("app", tt.constraint)
			if tt.want == "" {
				var nf *NotFoundError
				g.Expect(errors.As(err, &nf)).To(BeTrue())
				g.Expect(err.Error()).To(ContainSubstring("no 'app' chart with version matching '>=3'"))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(v.Version).To(Equal(tt.want))
			if tt.url != "" {
				g.Expect(v.URLs).To(Equal([]string{tt.url}))
			}
		})
	}
	_, err = idx.Get("nope", "*")
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring("no chart named 'nope'")))
}

// BenchmarkParseIndex compares Ferry's index parsing with Helm's loader on a
// 12,000-version index of about 12 MB written by Helm itself.
func BenchmarkParseIndex(b *testing.B) {
	data := helmIndex(b, 200, 60)
	b.Logf("index size: %.1f MB", float64(len(data))/1e6)
	b.Run("ferry", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseIndex(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("yaml.v3", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeIndex(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("helm", func(b *testing.B) {
		p := filepath.Join(b.TempDir(), "index.yaml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := repo.LoadIndexFile(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
