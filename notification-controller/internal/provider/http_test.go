package provider

import (
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// TestErrorsSayWhatToRetry checks the classification the dispatcher retries
// on: server errors and throttling yes, a rejected request no.
func TestErrorsSayWhatToRetry(t *testing.T) {
	for _, tc := range []struct {
		status    int
		retryable bool
	}{
		{http.StatusInternalServerError, true},
		{http.StatusBadGateway, true},
		{http.StatusTooManyRequests, true},
		{http.StatusRequestTimeout, true},
		{http.StatusBadRequest, false},
		{http.StatusUnauthorized, false},
		{http.StatusNotFound, false},
		{http.StatusFound, false},
	} {
		g := NewWithT(t)
		s := newSink(t, tc.status, `{"message":"nope"}`)
		n, err := New(Config{Type: "generic", Address: s.URL})
		g.Expect(err).NotTo(HaveOccurred())
		err = n.Post(context.Background(), testEvent(eventv1.EventSeverityInfo))
		var se *StatusError
		g.Expect(err).To(BeAssignableToTypeOf(se))
		g.Expect(err.(*StatusError).Code).To(Equal(tc.status))
		g.Expect(IsRetryable(err)).To(Equal(tc.retryable), "status %d", tc.status)
	}
}

// TestUnreachableAddressKeepsSecretsOutOfErrors checks that a transport
// failure is retryable and that its message names neither the token, which
// Telegram puts in the URL, nor credentials in the address.
func TestUnreachableAddressKeepsSecretsOutOfErrors(t *testing.T) {
	g := NewWithT(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	addr := l.Addr().String()
	g.Expect(l.Close()).To(Succeed())

	for _, cfg := range []Config{
		{Type: "telegram", Address: "http://" + addr, Token: "42:very-secret-token", Channel: "@c"},
		{Type: "alertmanager", Address: "http://admin:very-secret-token@" + addr + "/api/v2/alerts"},
		{Type: "slack", Address: "http://" + addr + "/services/very-secret-token"},
	} {
		n, err := New(cfg)
		g.Expect(err).NotTo(HaveOccurred())
		err = n.Post(context.Background(), testEvent(eventv1.EventSeverityInfo))
		g.Expect(err).To(HaveOccurred())
		g.Expect(IsRetryable(err)).To(BeTrue())
		g.Expect(err.Error()).NotTo(ContainSubstring("very-secret-token"), cfg.Type)
	}
}

// TestTimeoutBoundsADelivery checks that a provider that never answers is cut
// off at the configured timeout.
func TestTimeoutBoundsADelivery(t *testing.T) {
	g := NewWithT(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	n, err := New(Config{Type: "generic", Address: srv.URL, Timeout: 50 * time.Millisecond})
	g.Expect(err).NotTo(HaveOccurred())
	err = n.Post(context.Background(), testEvent(eventv1.EventSeverityInfo))
	g.Expect(err).To(HaveOccurred())
	g.Expect(IsRetryable(err)).To(BeTrue())
}

// TestPrivateCA checks that spec.certSecretRef's ca.crt is what makes a
// provider with a private certificate reachable.
func TestPrivateCA(t *testing.T) {
	g := NewWithT(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	p := &notificationv1.Provider{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec:       notificationv1.ProviderSpec{Type: "generic", Address: srv.URL},
	}

	cfg, err := ConfigFor(p, Secrets{})
	g.Expect(err).NotTo(HaveOccurred())
	n, err := New(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	err = n.Post(context.Background(), testEvent(eventv1.EventSeverityInfo))
	g.Expect(err).To(MatchError(ContainSubstring("certificate")))

	cfg, err = ConfigFor(p, Secrets{Cert: &corev1.Secret{Data: map[string][]byte{"ca.crt": caPEM}}})
	g.Expect(err).NotTo(HaveOccurred())
	n, err = New(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(n.Post(context.Background(), testEvent(eventv1.EventSeverityInfo))).To(Succeed())
}

func TestUnknownTypeIsRefused(t *testing.T) {
	_, err := New(Config{Type: "carrier-pigeon", Address: "http://127.0.0.1"})
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring(`unsupported provider type "carrier-pigeon"`)))
}
