package controller

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
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

const timeout = 30 * time.Second

func newNamespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "notification-"}}
	if err := env.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func create(t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

// waitCached waits until the controller's cache holds n Alerts and n
// Providers in ns, so events posted next are matched against all of them.
func waitCached(t testing.TB, ns string, alerts, providers int) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		var al notificationv1.AlertList
		var pl notificationv1.ProviderList
		g.Expect(cached.List(context.Background(), &al, client.InNamespace(ns))).To(Succeed())
		g.Expect(cached.List(context.Background(), &pl, client.InNamespace(ns))).To(Succeed())
		g.Expect(al.Items).To(HaveLen(alerts))
		g.Expect(pl.Items).To(HaveLen(providers))
	}, timeout, 20*time.Millisecond).Should(Succeed())
}

func newProvider(ns, name, typ, address string, mutate ...func(*notificationv1.Provider)) *notificationv1.Provider {
	p := &notificationv1.Provider{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       notificationv1.ProviderSpec{Type: typ, Address: address},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
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

func newGitRepository(ns, name string, labels map[string]string) *sourcev1.GitRepository {
	return &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       sourcev1.GitRepositorySpec{URL: "https://git.example/" + name, Interval: metav1.Duration{Duration: time.Hour}},
	}
}

// gitRepoEvent is an event as the source-controller posts it.
func gitRepoEvent(ns, name, severity, message, revision string) eventv1.Event {
	return eventv1.Event{
		InvolvedObject: corev1.ObjectReference{
			APIVersion: "source.toolkit.fluxcd.io/v1", Kind: "GitRepository", Namespace: ns, Name: name,
		},
		Severity:            severity,
		Timestamp:           metav1.Now(),
		Message:             message,
		Reason:              "Test",
		ReportingController: "source-controller",
		Metadata:            map[string]string{"source.toolkit.fluxcd.io/revision": revision},
	}
}

// postEvent POSTs an event to the running event endpoint.
func postEvent(t testing.TB, e eventv1.Event) int {
	t.Helper()
	body, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return postRaw(t, eventsURL, body, nil)
}

func postRaw(t testing.TB, url string, body []byte, headers map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// request is what a sink received.
type request struct {
	URI    string
	Header http.Header
	Body   []byte
}

// sink is a loopback notification service that records what it receives.
type sink struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

func newSink(t testing.TB, status int) *sink {
	t.Helper()
	s := &sink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, request{URI: r.RequestURI, Header: r.Header.Clone(), Body: b})
		s.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs...)
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// messages returns the messages of the Flux events the sink received.
func (s *sink) messages() []string {
	var out []string
	for _, r := range s.requests() {
		var e eventv1.Event
		_ = json.Unmarshal(r.Body, &e)
		out = append(out, e.Message)
	}
	return out
}
