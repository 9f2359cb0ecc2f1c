package bounds

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// hugeValues is the uncompressed size of the chart's values.yaml: 1 GiB.
const hugeValues = 1 << 30

// writeHugeChart streams a packaged chart "huge" 1.0.0 to path: Chart.yaml,
// a template, and a values.yaml of hugeValues bytes of YAML comment lines,
// which gzip shrinks about a thousand times. It returns the archive's
// sha256 for the index.
func writeHugeChart(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum := sha256.New()
	zw := gzip.NewWriter(io.MultiWriter(f, sum))
	tw := tar.NewWriter(zw)
	file := func(name string, size int64, fill func(io.Writer) error) {
		if err := tw.WriteHeader(&tar.Header{Name: "huge/" + name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg,
			ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if err := fill(tw); err != nil {
			t.Fatal(err)
		}
	}
	small := func(content string) (int64, func(io.Writer) error) {
		return int64(len(content)), func(w io.Writer) error { _, err := io.WriteString(w, content); return err }
	}
	size, fill := small("apiVersion: v2\nname: huge\nversion: 1.0.0\n")
	file("Chart.yaml", size, fill)
	size, fill = small(configMap("{{ .Release.Name }}", "{{ .Values.greeting }}"))
	file("templates/configmap.yaml", size, fill)
	file("values.yaml", hugeValues, func(w io.Writer) error {
		line := []byte("# " + strings.Repeat("padding ", 127) + "\n")
		for n := 0; n < hugeValues; n += len(line) {
			if _, err := w.Write(line[:min(len(line), hugeValues-n)]); err != nil {
				return err
			}
		}
		return nil
	})
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sum.Sum(nil))
}

// chartRepository serves index.yaml and the packaged chart at dir/chart.tgz
// as a Helm chart repository on loopback.
func chartRepository(t *testing.T, dir, digest string) string {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/index.yaml":
			fmt.Fprintf(w, `apiVersion: v1
entries:
  huge:
  - apiVersion: v2
    name: huge
    version: 1.0.0
    digest: %s
    created: "2026-01-01T00:00:00Z"
    urls:
    - %s/huge-1.0.0.tgz
generated: "2026-01-01T00:00:00Z"
`, digest, srv.URL)
		case "/huge-1.0.0.tgz":
			http.ServeFile(w, r, filepath.Join(dir, "chart.tgz"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestChartWithValuesOf1GiB: a chart of about a MiB whose values.yaml is
// 1 GiB uncompressed is refused by the per-file cap of Helm's chart loader
// (--helm-chart-file-max-size, 5 MiB), which reads only the tar headers,
// so no controller decompresses it into memory. The HelmChart says which
// file, its size and the limit, in its Ready condition and an event; the
// HelmRelease that asked for it says the same while it waits, and
// installs nothing.
func TestChartWithValuesOf1GiB(t *testing.T) {
	dir := t.TempDir()
	started := time.Now()
	digest := writeHugeChart(t, filepath.Join(dir, "chart.tgz"))
	fi, err := os.Stat(filepath.Join(dir, "chart.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chart with a 1 GiB values.yaml: %d bytes packaged, written in %s", fi.Size(), time.Since(started).Round(time.Second))
	url := chartRepository(t, dir, digest)

	measure(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	repo := &sourcev1.HelmRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "charts", Namespace: ns},
		Spec:       sourcev1.HelmRepositorySpec{URL: url, Interval: metav1.Duration{Duration: time.Hour}},
	}
	g.Expect(testCluster.Client.Create(ctx, repo)).To(Succeed())
	hr := &helmv2.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Name: "huge", Namespace: ns},
		Spec: helmv2.HelmReleaseSpec{
			Interval: metav1.Duration{Duration: time.Hour},
			Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
				Chart: "huge", Version: "1.0.0",
				SourceRef: helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts"},
			}},
		},
	}
	g.Expect(testCluster.Client.Create(ctx, hr)).To(Succeed())

	want := []string{"'huge/values.yaml'", fmt.Sprintf("%d bytes uncompressed", hugeValues),
		"limit of 5242880 bytes per file", "--helm-chart-file-max-size"}
	chart := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: ns + "-huge", Namespace: ns}}
	g.Eventually(func(g Gomega) {
		c := ready(g, chart)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		for _, w := range want {
			g.Expect(c.Message).To(ContainSubstring(w))
		}
		g.Expect(chart.Status.Artifact).To(BeNil())
	}, timeout, 500*time.Millisecond).Should(Succeed())
	warningEvent(t, chart, ready(g, chart).Reason, want...)

	g.Eventually(func(g Gomega) {
		c := ready(g, hr)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Message).To(ContainSubstring("HelmChart '%s/%s-huge' has no artifact yet", ns, ns))
		for _, w := range want {
			g.Expect(c.Message).To(ContainSubstring(w))
		}
		g.Expect(hr.Status.History).To(BeEmpty())
	}, timeout, 500*time.Millisecond).Should(Succeed())

	// No controller held the values file: each one's peak stays far below
	// its size.
	for name, p := range controllers {
		g.Expect(p.PeakRSS()).To(BeNumerically("<", int64(hugeValues/4)), "peak RSS of %s", name)
	}
}
