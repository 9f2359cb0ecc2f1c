// Package controller registers the source-controller's reconcilers.
package controller

import (
	"github.com/spf13/pflag"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/pkg/pending"
)

// StorageOptions say where artifacts are kept and how they are served.
type StorageOptions struct {
	// Path is the directory artifacts are stored in.
	Path string
	// Addr is where the artifact file server listens.
	Addr string
	// AdvAddr is the host:port written into artifact URLs, for consumers.
	AdvAddr string
}

// BindFlags registers the storage flags with Flux's names and defaults.
func (o *StorageOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Path, "storage-path", "/data",
		"The local storage path.")
	fs.StringVar(&o.Addr, "storage-addr", ":9090",
		"The address the static file server binds to.")
	fs.StringVar(&o.AdvAddr, "storage-adv-addr", "",
		"The advertised address of the static file server.")
}

// Setup registers a reconciler for each source kind.
func Setup(s *manager.Setup, _ StorageOptions) error {
	c := s.Manager.GetClient()
	return pending.SetupAll(s.Manager,
		pending.For(c, sourcev1.GitRepositoryKind, func() *sourcev1.GitRepository { return &sourcev1.GitRepository{} }),
		pending.For(c, sourcev1.HelmRepositoryKind, func() *sourcev1.HelmRepository { return &sourcev1.HelmRepository{} }),
		pending.For(c, sourcev1.HelmChartKind, func() *sourcev1.HelmChart { return &sourcev1.HelmChart{} }),
		pending.For(c, sourcev1.OCIRepositoryKind, func() *sourcev1.OCIRepository { return &sourcev1.OCIRepository{} }),
	)
}
