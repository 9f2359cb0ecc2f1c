package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
)

// chartArchive packages files (name -> size in bytes of '#' lines) under
// chart/, with a valid Chart.yaml.
func chartArchive(t *testing.T, sizes map[string]int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	add := func(name string, size int64, fill func(*tar.Writer)) {
		if err := tw.WriteHeader(&tar.Header{Name: "chart/" + name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		fill(tw)
	}
	meta := "apiVersion: v2\nname: chart\nversion: 1.0.0\n"
	add("Chart.yaml", int64(len(meta)), func(w *tar.Writer) { _, _ = w.Write([]byte(meta)) })
	line := []byte(strings.Repeat("#", 1023) + "\n")
	for name, size := range sizes {
		add(name, size, func(w *tar.Writer) {
			for n := int64(0); n < size; n += int64(len(line)) {
				if _, err := w.Write(line[:min(int64(len(line)), size-n)]); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoadArchiveNamesTheOversizedFile(t *testing.T) {
	limit := loader.MaxDecompressedFileSize
	if _, err := LoadArchive(chartArchive(t, map[string]int64{"values.yaml": limit}), "chart", "1.0.0"); err != nil {
		t.Fatalf("a values.yaml at the limit must load: %v", err)
	}
	_, err := LoadArchive(chartArchive(t, map[string]int64{"values.yaml": limit + 1}), "chart", "1.0.0")
	if err == nil {
		t.Fatal("a values.yaml over the limit loaded")
	}
	for _, want := range []string{"chart/values.yaml", "5242881 bytes", "limit of 5242880 bytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
