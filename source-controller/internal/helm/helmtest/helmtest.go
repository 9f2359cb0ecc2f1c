// Package helmtest builds real Helm charts and serves them from a chart
// repository on loopback, for the source-controller's tests. The repository
// counts requests per path, so a test can prove an unchanged chart costs no
// download.
package helmtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"sync"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"
)

// NewChart returns a chart with one ConfigMap template and values.yaml
// holding values, plus extra files (path → content) such as more values
// files.
func NewChart(name, version string, values map[string]any, files map[string]string, deps ...*chart.Dependency) *chart.Chart {
	raw, err := yaml.Marshal(values)
	if err != nil {
		panic(err)
	}
	ch := &chart.Chart{
		Metadata: &chart.Metadata{
			APIVersion: chart.APIVersionV2, Name: name, Version: version, AppVersion: version,
			Type: "application", Description: "A test chart", Dependencies: deps,
		},
		Values: values,
		Raw:    []*chart.File{{Name: chartutil.ValuesfileName, Data: raw}},
		Templates: []*chart.File{{Name: "templates/configmap.yaml", Data: []byte(
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-" + name + "\ndata:\n  version: {{ .Chart.Version | quote }}\n")}},
	}
	for p, content := range files {
		ch.Files = append(ch.Files, &chart.File{Name: p, Data: []byte(content)})
	}
	return ch
}

// Package returns the packaged .tgz of ch, as `helm package` writes it.
func Package(t testing.TB, ch *chart.Chart) []byte {
	t.Helper()
	dir := t.TempDir()
	p, err := chartutil.Save(ch, dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Files returns ch laid out as a chart directory under dir (path → content),
// for committing to Git.
func Files(t testing.TB, ch *chart.Chart, dir string) map[string]string {
	t.Helper()
	md, err := yaml.Marshal(ch.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{path.Join(dir, chartutil.ChartfileName): string(md)}
	for _, group := range [][]*chart.File{ch.Raw, ch.Templates, ch.Files} {
		for _, f := range group {
			files[path.Join(dir, f.Name)] = string(f.Data)
		}
	}
	return files
}

// Repository is a chart repository on loopback: index.yaml plus packaged
// charts under charts/.
type Repository struct {
	*httptest.Server
	// Username and Password, when set, are required on every request.
	Username, Password string

	mu       sync.Mutex
	index    *repo.IndexFile
	rawIndex []byte
	charts   map[string][]byte
	hits     map[string]int
}

// NewRepository starts an empty repository over HTTP, or HTTPS with tls.
func NewRepository(t testing.TB, tls bool) *Repository {
	r := &Repository{index: repo.NewIndexFile(), charts: map[string][]byte{}, hits: map[string]int{}}
	r.Server = httptest.NewUnstartedServer(r)
	r.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if tls {
		r.StartTLS()
	} else {
		r.Start()
	}
	t.Cleanup(r.Close)
	return r
}

// CA returns the PEM certificate of an HTTPS repository, for ca.crt.
func (r *Repository) CA() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate().Raw})
}

// Publish packages ch and adds it to the index, with a URL relative to the
// repository as `helm repo index` writes it.
func (r *Repository) Publish(t testing.TB, ch *chart.Chart) {
	t.Helper()
	data := Package(t, ch)
	name := fmt.Sprintf("%s-%s.tgz", ch.Name(), ch.Metadata.Version)
	sum := sha256.Sum256(data)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.index.MustAdd(ch.Metadata, "charts/"+name, "", hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
	r.index.SortEntries()
	r.charts[name] = data
	r.rawIndex = nil
}

// PublishArchive adds data to the index as the archive of the chart md
// describes, whatever data holds, for broken-chart tests.
func (r *Repository) PublishArchive(t testing.TB, md *chart.Metadata, data []byte) {
	t.Helper()
	name := fmt.Sprintf("%s-%s.tgz", md.Name, md.Version)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.index.MustAdd(md, "charts/"+name, "", ""); err != nil {
		t.Fatal(err)
	}
	r.index.SortEntries()
	r.charts[name] = data
}

// Archive returns the published archive of chart name at version.
func (r *Repository) Archive(name, version string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.charts[fmt.Sprintf("%s-%s.tgz", name, version)]
}

// SetIndex serves raw as index.yaml instead of the generated index; nil
// goes back to the generated one.
func (r *Repository) SetIndex(raw []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rawIndex = raw
}

// Hits returns how many requests asked for p, e.g. "/index.yaml" or
// "/charts/app-1.0.0.tgz".
func (r *Repository) Hits(p string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits[p]
}

// ChartDownloads returns how many chart archives were downloaded.
func (r *Repository) ChartDownloads() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for p, c := range r.hits {
		if path.Dir(p) == "/charts" {
			n += c
		}
	}
	return n
}

func (r *Repository) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.Username != "" {
		if u, p, ok := req.BasicAuth(); !ok || u != r.Username || p != r.Password {
			w.Header().Set("WWW-Authenticate", `Basic realm="charts"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	r.mu.Lock()
	r.hits[req.URL.Path]++
	var body []byte
	switch {
	case req.URL.Path == "/index.yaml" && r.rawIndex != nil:
		body = r.rawIndex
	case req.URL.Path == "/index.yaml":
		var err error
		if body, err = yaml.Marshal(r.index); err != nil {
			r.mu.Unlock()
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	case path.Dir(req.URL.Path) == "/charts":
		body = r.charts[path.Base(req.URL.Path)]
	}
	r.mu.Unlock()
	if body == nil {
		http.NotFound(w, req)
		return
	}
	_, _ = w.Write(body)
}
