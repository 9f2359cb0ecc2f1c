// Package controller wires the notification-controller: the Receiver
// reconciler, the event endpoint and the webhook receiver, all reading
// through the manager's cache. Providers and Alerts carry no status (as in
// Flux), so they are read when an event needs them, not reconciled.
package controller

import (
	"context"
	"time"

	"github.com/spf13/pflag"

	receiverctrl "github.com/ferrycd/ferry/notification-controller/internal/controller/receiver"
	"github.com/ferrycd/ferry/notification-controller/internal/events"
	"github.com/ferrycd/ferry/notification-controller/internal/webhook"
	"github.com/ferrycd/ferry/pkg/manager"
)

// DefaultEventsAddr is where the event endpoint listens when --events-addr
// is not set, as in Flux.
const DefaultEventsAddr = ":9090"

// Options are the notification-controller's own flags; --events-addr comes
// from the common options.
type Options struct {
	// ReceiverAddr is where the webhook receiver listens.
	ReceiverAddr string
	// RateLimitInterval is the window in which identical events are
	// forwarded once, and webhook deliveries are remembered.
	RateLimitInterval time.Duration
	// NoCrossNamespaceRefs keeps Alerts and Receivers within their own
	// namespace.
	NoCrossNamespaceRefs bool
}

// BindFlags registers the options with Flux's names and defaults.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.ReceiverAddr, "receiverAddr", ":9292",
		"The address the webhook receiver endpoint binds to.")
	fs.DurationVar(&o.RateLimitInterval, "rate-limit-interval", 5*time.Minute,
		"Interval in which identical events are forwarded once; duplicates are answered 429.")
	fs.BoolVar(&o.NoCrossNamespaceRefs, "no-cross-namespace-refs", false,
		"When set to true, Alerts and Receivers may only refer to objects in their own namespace.")
}

// Setup registers the Receiver reconciler, the event endpoint listening on
// eventsAddr and the webhook receiver.
func Setup(ctx context.Context, s *manager.Setup, eventsAddr string, opts Options, concurrent int) error {
	mgr := s.Manager
	if err := events.IndexAlerts(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	if err := webhook.IndexReceivers(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}

	r := &receiverctrl.Reconciler{
		Client:               mgr.GetClient(),
		Finisher:             s.Finisher(),
		NoCrossNamespaceRefs: opts.NoCrossNamespaceRefs,
		Concurrent:           concurrent,
	}
	if err := r.SetupWithManager(ctx, mgr); err != nil {
		return err
	}

	if eventsAddr == "" {
		eventsAddr = DefaultEventsAddr
	}
	eventServer := events.New(events.Options{
		Addr:                 eventsAddr,
		Reader:               mgr.GetClient(),
		Log:                  s.Log.WithName("event-server"),
		RateLimitInterval:    opts.RateLimitInterval,
		NoCrossNamespaceRefs: opts.NoCrossNamespaceRefs,
		Recorder:             s.Recorder,
	})
	if err := mgr.Add(eventServer); err != nil {
		return err
	}
	webhooks := webhook.NewHandler(webhook.Handler{
		Client:               mgr.GetClient(),
		APIReader:            mgr.GetAPIReader(),
		Log:                  s.Log.WithName("webhook-receiver"),
		NoCrossNamespaceRefs: opts.NoCrossNamespaceRefs,
		ReplayWindow:         opts.RateLimitInterval,
	})
	return mgr.Add(webhooks.Server(opts.ReceiverAddr))
}
