package events

import (
	"context"
	"net/http"
	"testing"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// FuzzEventEndpoint posts arbitrary bodies to the event endpoint, with
// Alerts and a Provider in place so valid events go through matching and
// dispatch too. Whatever the body, the answer is one of the documented
// codes and nothing panics. The seed corpus is in testdata/fuzz.
func FuzzEventEndpoint(f *testing.F) {
	f.Add([]byte(`{}`))
	sk := newSink(f, http.StatusOK)
	reader := newReader(
		newProvider("apps", "p", "generic", sk.URL),
		newAlert("apps", "all", "p"),
		newAlert("apps", "labels", "p", func(a *notificationv1.Alert) {
			a.Spec.EventSources[0].MatchLabels = map[string]string{"team": "a"}
			a.Spec.InclusionList = []string{"^stored", "("}
		}),
		newAlert("ops", "any", "p", func(a *notificationv1.Alert) { a.Spec.EventSources[0].Namespace = "*" }),
	)
	s := New(Options{Reader: reader, RateLimitInterval: 0, Dispatcher: fastDispatcher()})
	ctx, cancel := context.WithCancel(context.Background())
	s.Dispatcher.begin(ctx)
	f.Cleanup(func() { cancel(); s.Dispatcher.wg.Wait() })

	f.Fuzz(func(t *testing.T, body []byte) {
		switch code := post(s, body); code {
		case http.StatusAccepted, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		default:
			t.Fatalf("unexpected status %d for %q", code, body)
		}
	})
}
