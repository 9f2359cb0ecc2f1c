// Package controller registers the notification-controller's reconcilers.
// Providers and Alerts carry no status (as in Flux), so only Receivers are
// reconciled.
package controller

import (
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/pkg/pending"
)

// Setup registers the Receiver reconciler.
func Setup(s *manager.Setup) error {
	return pending.SetupAll(s.Manager,
		pending.For(s.Manager.GetClient(), notificationv1.ReceiverKind,
			func() *notificationv1.Receiver { return &notificationv1.Receiver{} }),
	)
}
