package controller

import (
	"github.com/spf13/pflag"
	"helm.sh/helm/v3/pkg/chart/loader"
)

// HelmLimits are the caps on the uncompressed content of a Helm chart,
// which a chart of a few KiB can blow up to GiBs. The downloads themselves
// are capped by helm.MaxChartSize and helm.MaxIndexSize.
type HelmLimits struct {
	// FileMaxSize caps one file of a chart, uncompressed.
	FileMaxSize int64
	// MaxDecompressedSize caps a whole chart, uncompressed.
	MaxDecompressedSize int64
}

// BindFlags registers the limits with Flux's name for the file cap and
// Helm's defaults (5 MiB a file, 100 MiB a chart).
func (o *HelmLimits) BindFlags(fs *pflag.FlagSet) {
	fs.Int64Var(&o.FileMaxSize, "helm-chart-file-max-size", loader.MaxDecompressedFileSize,
		"The max allowed size in bytes of a file in a Helm chart, uncompressed.")
	fs.Int64Var(&o.MaxDecompressedSize, "helm-chart-max-decompressed-size", loader.MaxDecompressedChartSize,
		"The max allowed size in bytes of a Helm chart, uncompressed.")
}

// Apply sets the limits on Helm's chart loader, whose package variables
// are the only way to configure it; it runs once, before any reconciler.
func (o HelmLimits) Apply() {
	loader.MaxDecompressedFileSize = o.FileMaxSize
	loader.MaxDecompressedChartSize = o.MaxDecompressedSize
}
