package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"

	"helm.sh/helm/v3/pkg/chart/loader"
)

// Limits on charts, besides MaxIndexSize and MaxChartSize on downloads:
// Helm's loader refuses a chart file larger than
// loader.MaxDecompressedFileSize and a chart larger than
// loader.MaxDecompressedChartSize uncompressed, reading only the tar
// headers, so a chart of a few KiB that holds a values.yaml of a GiB is
// refused before anything is decompressed into memory. Those two are
// Helm's package variables (the only way to configure its loader); the
// source-controller sets them from its flags.

// explainOversize names the file and its size when Helm's loader refused
// a chart archive for one of its size limits, which Helm's own message
// leaves out. It reads the archive's headers up to the first one over a
// limit, as the loader did, and returns nil when none is.
func explainOversize(data []byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var total int64
	for {
		hd, err := tr.Next()
		if err != nil {
			return nil
		}
		if hd.Typeflag != tar.TypeReg {
			continue
		}
		if hd.Size > loader.MaxDecompressedFileSize {
			return fmt.Errorf("chart file '%s' is %d bytes uncompressed, more than the limit of %d bytes per file (--helm-chart-file-max-size)",
				hd.Name, hd.Size, loader.MaxDecompressedFileSize)
		}
		if total += hd.Size; total > loader.MaxDecompressedChartSize {
			return fmt.Errorf("chart is more than %d bytes uncompressed at '%s', more than the limit of %d bytes (--helm-chart-max-decompressed-size)",
				total, hd.Name, loader.MaxDecompressedChartSize)
		}
	}
}
