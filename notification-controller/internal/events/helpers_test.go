package events

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

var testScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(notificationv1.AddToScheme(s))
	utilruntime.Must(sourcev1.AddToScheme(s))
	return s
}()

// newReader is a fake cache holding objs, with the Alert index the server
// needs. The fake client is enough here: these tests exercise the server's
// own logic; the controller package runs the same server on a real cache.
func newReader(objs ...client.Object) client.Client {
	return fake.NewClientBuilder().WithScheme(testScheme).WithObjects(objs...).
		WithIndex(&notificationv1.Alert{}, AlertSourceIndex, alertSourceKeys).Build()
}

// fastDispatcher retries quickly, so failure tests finish at once.
func fastDispatcher() *Dispatcher {
	return &Dispatcher{MaxAttempts: 3, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, QueueSize: 10}
}

// startServer runs an EventServer's dispatcher for the test and returns the
// server, to be called through its ServeHTTP.
func startServer(t *testing.T, reader client.Reader, mutate ...func(*Options)) *EventServer {
	t.Helper()
	opts := Options{Reader: reader, Log: logr.Discard(), RateLimitInterval: time.Minute, Dispatcher: fastDispatcher()}
	for _, m := range mutate {
		m(&opts)
	}
	s := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	s.Dispatcher.begin(ctx)
	t.Cleanup(func() { cancel(); s.Dispatcher.wg.Wait() })
	return s
}

// post sends body to the server and returns the status code.
func post(s http.Handler, body []byte) int {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
	return rec.Code
}

// newEvent is an event as Ferry's Finisher posts it for a GitRepository.
func newEvent(mutate ...func(*eventv1.Event)) eventv1.Event {
	e := eventv1.Event{
		InvolvedObject: corev1.ObjectReference{
			APIVersion: "source.toolkit.fluxcd.io/v1", Kind: "GitRepository", Namespace: "apps", Name: "webapp",
		},
		Severity:            eventv1.EventSeverityInfo,
		Timestamp:           metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		Message:             "stored artifact for commit 'fix'",
		Reason:              "NewArtifact",
		ReportingController: "source-controller",
		Metadata:            map[string]string{"source.toolkit.fluxcd.io/revision": "main@sha1:0123456789abcdef0123456789abcdef01234567"},
	}
	for _, m := range mutate {
		m(&e)
	}
	return e
}

func encode(t *testing.T, e eventv1.Event) []byte {
	t.Helper()
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func newAlert(ns, name, provider string, mutate ...func(*notificationv1.Alert)) *notificationv1.Alert {
	a := &notificationv1.Alert{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: notificationv1.AlertSpec{
			ProviderRef:  fluxmeta.LocalObjectReference{Name: provider},
			EventSources: []notificationv1.CrossNamespaceObjectReference{{Kind: "GitRepository", Name: "*"}},
		},
	}
	for _, m := range mutate {
		m(a)
	}
	return a
}

func newProvider(ns, name, typ, address string, mutate ...func(*notificationv1.Provider)) *notificationv1.Provider {
	p := &notificationv1.Provider{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: "0c9c2e41-0000"},
		Spec:       notificationv1.ProviderSpec{Type: typ, Address: address},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// sink records the JSON bodies it receives and answers with status.
type sink struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	status int
}

func newSink(t testing.TB, status int) *sink {
	t.Helper()
	s := &sink{status: status}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, b)
		s.mu.Unlock()
		w.WriteHeader(s.status)
	}))
	t.Cleanup(s.Close)
	return s
}

// events decodes what the sink received as Flux events.
func (s *sink) events() []eventv1.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]eventv1.Event, 0, len(s.bodies))
	for _, b := range s.bodies {
		var e eventv1.Event
		_ = json.Unmarshal(b, &e)
		out = append(out, e)
	}
	return out
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}
