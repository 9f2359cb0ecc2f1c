package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ferrycd/ferry/pkg/artifact/archive"
)

// benchChart is the hr scenarios' chart: three ConfigMaps named after the
// release, no hooks, nothing that can be unready.
var benchChart = func() map[string]string {
	files := map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: small\nversion: 1.0.0\n",
		"values.yaml": "greeting: hello\n",
	}
	for _, n := range []string{"a", "b", "c"} {
		files["templates/"+n+".yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-" + n +
			"\ndata:\n  greeting: {{ .Values.greeting | quote }}\n"
	}
	return files
}()

// serveHelmRepository serves a Helm repository on loopback holding
// benchChart as small-1.0.0.tgz, with the index.yaml `helm repo index`
// would write, and returns its URL and a func that stops it.
func serveHelmRepository() (url string, stop func(), err error) {
	tgz, err := tgzChart("small", benchChart)
	if err != nil {
		return "", nil, err
	}
	now := time.Now().UTC().Format(time.RFC3339)
	index := fmt.Sprintf("apiVersion: v1\nentries:\n  small:\n  - apiVersion: v2\n    name: small\n    version: 1.0.0\n"+
		"    created: %q\n    digest: %x\n    urls:\n    - small-1.0.0.tgz\ngenerated: %q\n", now, sha256.Sum256(tgz), now)
	mux := http.NewServeMux()
	mux.HandleFunc("/index.yaml", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(index)) })
	mux.HandleFunc("/small-1.0.0.tgz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(tgz) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), func() { _ = srv.Close() }, nil
}

// tgzChart packages files (paths relative to the chart) under dir/, as
// `helm package` lays a chart out.
func tgzChart(dir string, files map[string]string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "bench-chart-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	for name, content := range files {
		path := filepath.Join(tmp, dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := archive.Build(&buf, tmp, nil); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
