package events

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/notification-controller/internal/httpserver"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// matchTimeout bounds the Alert matching of one event.
const matchTimeout = 5 * time.Second

// ServeHTTP handles one event POST: read it within the size limit, validate
// it, drop it if it repeats one seen within the rate-limit interval (429, as
// Flux answers, which its recorder does not retry), match it against the
// Alerts and queue a notification per match. It answers 202 without waiting
// for any Provider.
func (s *EventServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "only POST is accepted", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, httpserver.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			eventsReceived.WithLabelValues(resultTooLarge).Inc()
			http.Error(w, "event body is larger than 3 MiB", http.StatusRequestEntityTooLarge)
			return
		}
		eventsReceived.WithLabelValues(resultInvalid).Inc()
		http.Error(w, "cannot read the request body", http.StatusBadRequest)
		return
	}
	in, err := decodeEvent(body, time.Now())
	if err != nil {
		eventsReceived.WithLabelValues(resultInvalid).Inc()
		s.Log.V(1).Info("rejected an invalid event", "reason", err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// Key-value pairs, not a derived logger: WithValues allocates on every
	// event, and this is the hot path.
	kv := func() []any {
		o := in.event.InvolvedObject
		return []any{"kind", o.Kind, "namespace", o.Namespace, "name", o.Name, "reason", in.event.Reason}
	}
	key := in.dedupKey()
	if !s.dedup.Admit(key) {
		eventsReceived.WithLabelValues(resultDuplicate).Inc()
		s.Log.V(1).Info("discarding a duplicate event", kv()...)
		http.Error(w, "duplicate event", http.StatusTooManyRequests)
		return
	}
	// Reading an object's labels for matchLabels may have to start a watch;
	// bound it, so a broken API server cannot hold the sender.
	ctx, cancel := context.WithTimeout(r.Context(), matchTimeout)
	defer cancel()
	targets, err := s.matcher.match(ctx, in)
	if err != nil {
		eventsReceived.WithLabelValues(resultError).Inc()
		s.Log.Error(err, "cannot match the event against Alerts", kv()...)
		// The sender retries a 503; its retry must not be taken for a
		// duplicate.
		s.dedup.Forget(key)
		http.Error(w, "cannot read Alerts", http.StatusServiceUnavailable)
		return
	}
	dispatched := false
	for _, t := range targets {
		if !s.providerUsable(ctx, t) {
			continue
		}
		dispatched = true
		s.Dispatcher.Enqueue(t.provider, newNotification(notificationFor(in, t.alert), client.ObjectKeyFromObject(t.alert)))
	}
	if dispatched {
		eventsReceived.WithLabelValues(resultDispatched).Inc()
	} else {
		eventsReceived.WithLabelValues(resultUnmatched).Inc()
	}
	w.WriteHeader(http.StatusAccepted)
}

// providerUsable checks in the cache that the Alert's Provider exists and is
// not suspended, so no worker is started for a Provider that cannot send. A
// missing Provider is reported on the Alert, throttled like other broken
// configuration.
func (s *EventServer) providerUsable(ctx context.Context, t target) bool {
	p := &notificationv1.Provider{}
	if err := s.Reader.Get(ctx, t.provider, p, client.UnsafeDisableDeepCopy); err != nil {
		if apierrors.IsNotFound(err) {
			s.warn(t.alert, notificationv1.InvalidConfigReason,
				"spec.providerRef names Provider '"+t.provider.Name+"', which does not exist in namespace '"+t.provider.Namespace+"'")
		} else {
			s.Log.Error(err, "cannot read the Alert's Provider", "provider", t.provider.String())
		}
		return false
	}
	return !p.Spec.Suspend
}

// notificationFor merges the event's metadata for one Alert in Flux's order
// of precedence, lowest first: the object's event.toolkit.fluxcd.io
// annotations, the Alert's eventMetadata, its summary, and what the
// reporting controller set, which no Alert can override.
func notificationFor(in *incoming, a *notificationv1.Alert) eventv1.Event {
	e := in.event
	size := len(in.annotations) + len(a.Spec.EventMetadata) + len(in.controller) + 1
	md := make(map[string]string, size)
	for k, v := range in.annotations {
		md[k] = v
	}
	for k, v := range a.Spec.EventMetadata {
		md[k] = v
	}
	if a.Spec.Summary != "" {
		md["summary"] = a.Spec.Summary
	}
	for k, v := range in.controller {
		md[k] = v
	}
	if len(md) > 0 {
		e.Metadata = md
	}
	return e
}
