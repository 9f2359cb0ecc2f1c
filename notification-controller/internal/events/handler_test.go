package events

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrycd/ferry/notification-controller/internal/httpserver"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

const waitFor = 10 * time.Second

func TestEndpointRejectsBadInput(t *testing.T) {
	g := NewWithT(t)
	s := startServer(t, newReader())

	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	g.Expect(rec.Code).To(Equal(http.StatusMethodNotAllowed))

	g.Expect(post(s, []byte("{not json"))).To(Equal(http.StatusBadRequest))
	g.Expect(post(s, encode(t, newEvent(func(e *eventv1.Event) { e.Severity = "panic" })))).To(Equal(http.StatusBadRequest))

	huge := append([]byte(`{"message":"`), bytes.Repeat([]byte("a"), httpserver.MaxBodyBytes)...)
	g.Expect(post(s, huge)).To(Equal(http.StatusRequestEntityTooLarge))

	g.Expect(post(s, encode(t, newEvent()))).To(Equal(http.StatusAccepted), "a valid event without Alerts is accepted")
}

// TestDuplicateEventsAreAnswered429 checks Flux's rate limit: an event equal
// in object, reason, message and revision to one seen within the interval is
// refused; a new revision is not.
func TestDuplicateEventsAreAnswered429(t *testing.T) {
	g := NewWithT(t)
	sk := newSink(t, http.StatusOK)
	s := startServer(t, newReader(newProvider("apps", "p", "generic", sk.URL), newAlert("apps", "a", "p")))

	g.Expect(post(s, encode(t, newEvent()))).To(Equal(http.StatusAccepted))
	g.Expect(post(s, encode(t, newEvent(func(e *eventv1.Event) { e.Timestamp = metav1.Now() })))).To(Equal(http.StatusTooManyRequests))
	g.Expect(post(s, encode(t, newEvent(func(e *eventv1.Event) {
		e.Metadata["source.toolkit.fluxcd.io/revision"] = "main@sha1:fedcba9876543210fedcba9876543210fedcba98"
	})))).To(Equal(http.StatusAccepted))
	g.Eventually(sk.count, waitFor).Should(Equal(2))
	g.Consistently(sk.count, 100*time.Millisecond).Should(Equal(2))
}

// TestEventReachesProvider checks the whole path to a generic sink: the
// metadata arrives stripped of its group prefix and with the Alert's
// additions.
func TestEventReachesProvider(t *testing.T) {
	g := NewWithT(t)
	sk := newSink(t, http.StatusOK)
	s := startServer(t, newReader(
		newProvider("apps", "p", "generic", sk.URL),
		newAlert("apps", "a", "p", func(a *notificationv1.Alert) {
			a.Spec.Summary = "prod"
			a.Spec.EventMetadata = map[string]string{"cluster": "eu-1"}
		}),
	))
	g.Expect(post(s, encode(t, newEvent()))).To(Equal(http.StatusAccepted))
	g.Eventually(sk.count, waitFor).Should(Equal(1))
	got := sk.events()[0]
	g.Expect(got.InvolvedObject.Name).To(Equal("webapp"))
	g.Expect(got.Metadata).To(Equal(map[string]string{
		"revision": "main@sha1:0123456789abcdef0123456789abcdef01234567", "summary": "prod", "cluster": "eu-1",
	}))
}

// TestSlowProviderNeverBlocksTheSender checks that a Provider that never
// answers delays neither the POST nor another Provider, and that what its
// full queue cannot hold is dropped and counted.
func TestSlowProviderNeverBlocksTheSender(t *testing.T) {
	g := NewWithT(t)
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(stuck.Close)
	t.Cleanup(func() { close(release) })
	fast := newSink(t, http.StatusOK)
	s := startServer(t, newReader(
		newProvider("apps", "stuck", "generic", stuck.URL, func(p *notificationv1.Provider) {
			p.Spec.Timeout = &metav1.Duration{Duration: time.Hour}
		}),
		newProvider("apps", "fast", "generic", fast.URL),
		newAlert("apps", "to-stuck", "stuck"),
		newAlert("apps", "to-fast", "fast"),
	))
	dropped := testutil.ToFloat64(eventsDropped.WithLabelValues(dropQueueFull))

	// Each event is posted once the previous one reached the fast Provider,
	// which shows the stuck one holds nobody up.
	const n = 30
	for i := range n {
		g.Expect(post(s, encode(t, newEvent(func(e *eventv1.Event) { e.Message = strings.Repeat("x", i+1) })))).
			To(Equal(http.StatusAccepted))
		g.Eventually(fast.count, waitFor).Should(Equal(i + 1))
	}
	// One notification is in the stuck worker's hands and 10 are queued.
	g.Expect(testutil.ToFloat64(eventsDropped.WithLabelValues(dropQueueFull)) - dropped).
		To(BeNumerically(">=", n-11))
}

// TestDeliveryFailures checks retries and failures: a 500 is retried up to
// the attempt limit, a 400 is not, and broken Providers (unknown type,
// unreachable address, missing Secret) fail without a crash.
func TestDeliveryFailures(t *testing.T) {
	g := NewWithT(t)
	failing := newSink(t, http.StatusInternalServerError)
	rejecting := newSink(t, http.StatusBadRequest)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	closed := "http://" + l.Addr().String()
	g.Expect(l.Close()).To(Succeed())

	s := startServer(t, newReader(
		newProvider("apps", "failing", "generic", failing.URL),
		newProvider("apps", "rejecting", "generic", rejecting.URL),
		newProvider("apps", "unknown", "pigeon", failing.URL),
		newProvider("apps", "unreachable", "generic", closed),
		newProvider("apps", "nosecret", "generic", failing.URL, func(p *notificationv1.Provider) {
			p.Spec.SecretRef = &fluxmeta.LocalObjectReference{Name: "missing"}
		}),
		newAlert("apps", "a1", "failing"), newAlert("apps", "a2", "rejecting"), newAlert("apps", "a3", "unknown"),
		newAlert("apps", "a4", "unreachable"), newAlert("apps", "a5", "nosecret"), newAlert("apps", "a6", "absent"),
	))
	failures := func() float64 {
		return testutil.ToFloat64(deliveries.WithLabelValues("generic", deliveryFailure)) +
			testutil.ToFloat64(deliveries.WithLabelValues("pigeon", deliveryFailure))
	}
	before := failures()
	g.Expect(post(s, encode(t, newEvent()))).To(Equal(http.StatusAccepted))
	g.Eventually(failures, waitFor).Should(Equal(before + 5))
	g.Expect(failing.count()).To(Equal(3), "a 500 is retried up to MaxAttempts")
	g.Expect(rejecting.count()).To(Equal(1), "a 400 is not retried")
}

// TestSuspendedProviderGetsNothing checks spec.suspend on a Provider.
func TestSuspendedProviderGetsNothing(t *testing.T) {
	g := NewWithT(t)
	sk := newSink(t, http.StatusOK)
	live := newSink(t, http.StatusOK)
	s := startServer(t, newReader(
		newProvider("apps", "off", "generic", sk.URL, func(p *notificationv1.Provider) { p.Spec.Suspend = true }),
		newProvider("apps", "on", "generic", live.URL),
		newAlert("apps", "a", "off"), newAlert("apps", "b", "on"),
	))
	g.Expect(post(s, encode(t, newEvent()))).To(Equal(http.StatusAccepted))
	g.Eventually(live.count, waitFor).Should(Equal(1))
	g.Expect(sk.count()).To(Equal(0))
}

// TestProviderSecretChangesApply checks that a notifier is rebuilt when the
// Provider's Secret changes, and reused otherwise.
func TestProviderSecretChangesApply(t *testing.T) {
	g := NewWithT(t)
	first, second := newSink(t, http.StatusOK), newSink(t, http.StatusOK)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "addr"},
		Data: map[string][]byte{"address": []byte(first.URL)}}
	reader := newReader(secret, newAlert("apps", "a", "p"), newProvider("apps", "p", "generic", "", func(p *notificationv1.Provider) {
		p.Spec.SecretRef = &fluxmeta.LocalObjectReference{Name: "addr"}
	}))
	s := startServer(t, reader)
	g.Expect(post(s, encode(t, newEvent()))).To(Equal(http.StatusAccepted))
	g.Eventually(first.count, waitFor).Should(Equal(1))

	secret.Data["address"] = []byte(second.URL)
	g.Expect(reader.Update(context.Background(), secret)).To(Succeed())
	g.Expect(post(s, encode(t, newEvent(func(e *eventv1.Event) { e.Message = "second" })))).To(Equal(http.StatusAccepted))
	g.Eventually(second.count, waitFor).Should(Equal(1))
	g.Expect(first.count()).To(Equal(1))
}
