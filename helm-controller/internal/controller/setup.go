// Package controller registers the helm-controller's reconcilers.
package controller

import (
	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/pkg/pending"
)

// Setup registers the HelmRelease reconciler.
func Setup(s *manager.Setup) error {
	return pending.SetupAll(s.Manager,
		pending.For(s.Manager.GetClient(), helmv2.HelmReleaseKind,
			func() *helmv2.HelmRelease { return &helmv2.HelmRelease{} }),
	)
}
