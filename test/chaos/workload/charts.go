package workload

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"time"
)

// chartName is the one chart the workload's HelmReleases install.
const chartName = "app"

// chartVersion is the chart's only version: upgrades come from values in
// Git, so the chart repository never changes during a run.
const chartVersion = "1.0.0"

// chartRepo is a real Helm chart repository on loopback: an index.yaml and
// the packaged chart it points at, laid out as `helm repo index` writes
// them. It is written by hand rather than with the Helm SDK to keep the test
// module free of Helm's dependency tree; the source-controller parses it
// with Helm's own loader, which is what the test is about.
type chartRepo struct {
	srv   *http.Server
	url   string
	index []byte
	tgz   []byte
}

// startChartRepo packages the chart and serves it on a free loopback port.
func startChartRepo() (*chartRepo, error) {
	tgz, err := packageChart()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &chartRepo{url: "http://" + l.Addr().String(), tgz: tgz}
	r.index = []byte(fmt.Sprintf(`apiVersion: v1
entries:
  %[1]s:
  - apiVersion: v2
    name: %[1]s
    version: %[2]s
    appVersion: %[2]s
    created: "%[3]s"
    digest: %[4]x
    urls:
    - %[1]s-%[2]s.tgz
generated: "%[3]s"
`, chartName, chartVersion, time.Now().UTC().Format(time.RFC3339), sha256.Sum256(tgz)))
	mux := http.NewServeMux()
	mux.HandleFunc("/index.yaml", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(r.index) })
	mux.HandleFunc(fmt.Sprintf("/%s-%s.tgz", chartName, chartVersion), func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(r.tgz)
	})
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(l) }()
	return r, nil
}

func (r *chartRepo) close() { _ = r.srv.Close() }

// packageChart returns the chart as a .tgz: two ConfigMaps whose data
// carries the release's "gen" value, so a check can tell which values the
// deployed release was rendered with.
func packageChart() ([]byte, error) {
	files := map[string]string{
		"Chart.yaml":  fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\nappVersion: %s\n", chartName, chartVersion, chartVersion),
		"values.yaml": "gen: \"0\"\n",
	}
	for _, n := range releaseObjects {
		files["templates/"+n+".yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-" + n +
			"\ndata:\n  gen: {{ .Values.gen | quote }}\n"
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range sortedKeys(files) {
		body := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: chartName + "/" + name, Mode: 0o644, Size: int64(len(body)),
			Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
