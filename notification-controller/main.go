// Command notification-controller forwards events to people and Git hosts and turns webhooks into reconciles.
package main

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/notification-controller/internal/controller"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/pkg/options"
)

func main() {
	var (
		opts options.Options
		nc   controller.Options
	)
	manager.ParseFlags(&opts, nc.BindFlags)

	// Here --events-addr is where the event endpoint listens, as in Flux,
	// not the URL the other controllers post to; this controller records
	// its own events in Kubernetes only.
	eventsAddr := opts.EventsAddr
	opts.EventsAddr = ""

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(notificationv1.AddToScheme(scheme))
	manager.Run(manager.Controller{
		Name:       "notification-controller",
		Scheme:     scheme,
		Reconciled: []client.Object{&notificationv1.Receiver{}, &notificationv1.Alert{}, &notificationv1.Provider{}},
	}, opts, func(s *manager.Setup) error {
		return controller.Setup(context.Background(), s, eventsAddr, nc, opts.Concurrent)
	})
}
