// Package controller registers the kustomize-controller's reconcilers.
package controller

import (
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/pkg/pending"
)

// Setup registers the Kustomization reconciler.
func Setup(s *manager.Setup) error {
	return pending.SetupAll(s.Manager,
		pending.For(s.Manager.GetClient(), kustomizev1.KustomizationKind,
			func() *kustomizev1.Kustomization { return &kustomizev1.Kustomization{} }),
	)
}
