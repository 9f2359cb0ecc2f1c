package provider

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// captured is one request a sink received.
type captured struct {
	Method string
	// URI is the request target as sent, with escapes intact.
	URI    string
	Host   string
	Header http.Header
	Body   []byte
}

// sink is a loopback HTTP server standing in for a notification service: it
// records every request and answers with a fixed status and body.
type sink struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []captured
	status int
	answer string
}

func newSink(t *testing.T, status int, answer string) *sink {
	t.Helper()
	s := &sink{status: status, answer: answer}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, captured{Method: r.Method, URI: r.RequestURI, Host: r.Host, Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(s.status)
	_, _ = io.WriteString(w, s.answer)
}

// requests returns what the sink has received so far.
func (s *sink) requests() []captured {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]captured(nil), s.reqs...)
}

// testSHA is the commit the test events name.
const testSHA = "0123456789abcdef0123456789abcdef01234567"

// testEvent is an event as kustomize-controller posts it, after the event
// server stripped the group prefix from its metadata.
func testEvent(severity string) eventv1.Event {
	reason := "ReconciliationSucceeded"
	msg := "Applied revision: main@sha1:" + testSHA
	if severity == eventv1.EventSeverityError {
		reason = "ReconciliationFailed"
		msg = "kustomize build failed\nmissing resource"
	}
	return eventv1.Event{
		InvolvedObject: corev1.ObjectReference{
			APIVersion: "kustomize.toolkit.fluxcd.io/v1", Kind: "Kustomization", Namespace: "apps", Name: "webapp",
		},
		Severity:            severity,
		Timestamp:           metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		Message:             msg,
		Reason:              reason,
		ReportingController: "kustomize-controller",
		Metadata:            map[string]string{"revision": "main@sha1:" + testSHA, "summary": "prod cluster"},
	}
}
