package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/ferrycd/ferry/notification-controller/internal/httpserver"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

var testScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(notificationv1.AddToScheme(s))
	utilruntime.Must(sourcev1.AddToScheme(s))
	utilruntime.Must(kustomizev1.AddToScheme(s))
	return s
}()

// newHandler serves webhooks over a fake cache holding objs. The fake client
// is enough for the handler's own logic; internal/controller runs the same
// handler against a real API server.
func newHandler(objs ...client.Object) (*Handler, client.Client) {
	c := fake.NewClientBuilder().WithScheme(testScheme).WithObjects(objs...).
		WithIndex(&notificationv1.Receiver{}, WebhookPathIndex, webhookPathKeys).Build()
	return NewHandler(Handler{Client: c, APIReader: c, Log: logr.Discard(), ReplayWindow: time.Minute}), c
}

// newReceiver is a Receiver as its reconciler leaves it: Ready, with the
// webhook path of token.
func newReceiver(name, typ string, mutate ...func(*notificationv1.Receiver)) *notificationv1.Receiver {
	r := &notificationv1.Receiver{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name, UID: types.UID("uid-" + name)},
		Spec: notificationv1.ReceiverSpec{
			Type:      typ,
			SecretRef: fluxmeta.LocalObjectReference{Name: "token"},
			Resources: []notificationv1.CrossNamespaceObjectReference{{Kind: "GitRepository", Name: "webapp"}},
		},
	}
	for _, m := range mutate {
		m(r)
	}
	r.Status.WebhookPath = r.GetWebhookPath(token)
	conditions.MarkTrue(r, fluxmeta.ReadyCondition, fluxmeta.SucceededReason, "ready")
	return r
}

func newSecret(value string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "token"}, Data: map[string][]byte{"token": []byte(value)}}
}

func newRepo(ns, name string, labels map[string]string) *sourcev1.GitRepository {
	return &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
}

func send(h http.Handler, path string, body []byte, headers map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func requestedAt(t *testing.T, c client.Client, ns, name string) string {
	t.Helper()
	repo := &sourcev1.GitRepository{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, repo); err != nil {
		t.Fatal(err)
	}
	return repo.Annotations[fluxmeta.ReconcileRequestAnnotation]
}

func githubHeaders(body []byte, delivery string) map[string]string {
	return map[string]string{
		"X-Hub-Signature-256": "sha256=" + mac(sha256.New, token, body),
		"X-GitHub-Event":      "push",
		"X-GitHub-Delivery":   delivery,
	}
}

// TestGitHubWebhookAnnotates checks the whole handler path: a signed push
// annotates the GitRepository, a bad signature changes nothing, and the same
// delivery sent again is refused.
func TestGitHubWebhookAnnotates(t *testing.T) {
	g := NewWithT(t)
	rcv := newReceiver("gh", "github", func(r *notificationv1.Receiver) { r.Spec.Events = []string{"push"} })
	h, c := newHandler(rcv, newSecret(token), newRepo("apps", "webapp", nil), newRepo("apps", "other", nil))
	body := []byte(`{"ref":"refs/heads/main"}`)

	bad := githubHeaders(body, "d-0")
	bad["X-Hub-Signature-256"] = "sha256=" + mac(sha256.New, "wrong", body)
	w := send(h, rcv.Status.WebhookPath, body, bad)
	g.Expect(w.Code).To(Equal(http.StatusUnauthorized))
	g.Expect(requestedAt(t, c, "apps", "webapp")).To(BeEmpty())

	w = send(h, rcv.Status.WebhookPath, body, githubHeaders(body, "d-1"))
	g.Expect(w.Code).To(Equal(http.StatusOK), w.Body.String())
	at := requestedAt(t, c, "apps", "webapp")
	_, err := time.Parse(time.RFC3339Nano, at)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(requestedAt(t, c, "apps", "other")).To(BeEmpty())

	w = send(h, rcv.Status.WebhookPath, body, githubHeaders(body, "d-1"))
	g.Expect(w.Code).To(Equal(http.StatusConflict))
	g.Expect(requestedAt(t, c, "apps", "webapp")).To(Equal(at))
}

func TestWebhookAnswers(t *testing.T) {
	g := NewWithT(t)
	suspended := newReceiver("off", "generic", func(r *notificationv1.Receiver) { r.Spec.Suspend = true })
	notReady := newReceiver("pending", "generic")
	conditions.MarkFalse(notReady, fluxmeta.ReadyCondition, notificationv1.TokenNotFoundReason, "no token")
	generic := newReceiver("gen", "generic")
	h, _ := newHandler(suspended, notReady, generic, newSecret(token), newRepo("apps", "webapp", nil))

	g.Expect(send(h, "/hook/nothing-here", nil, nil).Code).To(Equal(http.StatusNotFound))
	g.Expect(send(h, "/other", nil, nil).Code).To(Equal(http.StatusNotFound))
	g.Expect(send(h, suspended.Status.WebhookPath, nil, nil).Code).To(Equal(http.StatusServiceUnavailable))
	g.Expect(send(h, notReady.Status.WebhookPath, nil, nil).Code).To(Equal(http.StatusServiceUnavailable))

	r := httptest.NewRequest(http.MethodGet, generic.Status.WebhookPath, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	g.Expect(w.Code).To(Equal(http.StatusMethodNotAllowed))

	huge := bytes.Repeat([]byte("a"), httpserver.MaxBodyBytes+1)
	g.Expect(send(h, generic.Status.WebhookPath, huge, nil).Code).To(Equal(http.StatusRequestEntityTooLarge))
	g.Expect(send(h, generic.Status.WebhookPath, []byte("{}"), nil).Code).To(Equal(http.StatusOK))
}

// TestRotatedTokenClosesOldPath checks that once the Secret's token changes,
// the path derived from the old token stops working even before the
// Receiver's status is updated.
func TestRotatedTokenClosesOldPath(t *testing.T) {
	g := NewWithT(t)
	rcv := newReceiver("gen", "generic")
	h, _ := newHandler(rcv, newSecret("rotated"), newRepo("apps", "webapp", nil))
	g.Expect(send(h, rcv.Status.WebhookPath, nil, nil).Code).To(Equal(http.StatusNotFound))
}

// TestSelectByLabels checks name "*" with matchLabels, apiVersions from
// older Flux manifests, and that a missing object fails the request while
// the others are still annotated.
func TestSelectByLabels(t *testing.T) {
	g := NewWithT(t)
	rcv := newReceiver("gen", "generic", func(r *notificationv1.Receiver) {
		r.Spec.Resources = []notificationv1.CrossNamespaceObjectReference{
			{APIVersion: "source.toolkit.fluxcd.io/v1beta2", Kind: "GitRepository", Name: "*", MatchLabels: map[string]string{"team": "a"}},
			{Kind: "GitRepository", Name: "*", Namespace: "*", MatchLabels: map[string]string{"tier": "edge"}},
			{Kind: "Kustomization", Name: "missing"},
		}
	})
	h, c := newHandler(rcv, newSecret(token),
		newRepo("apps", "a1", map[string]string{"team": "a"}),
		newRepo("apps", "a2", map[string]string{"team": "a"}),
		newRepo("apps", "b1", map[string]string{"team": "b"}),
		newRepo("edge", "e1", map[string]string{"tier": "edge"}),
	)
	w := send(h, rcv.Status.WebhookPath, nil, nil)
	g.Expect(w.Code).To(Equal(http.StatusInternalServerError), "the missing Kustomization fails the request")
	g.Expect(requestedAt(t, c, "apps", "a1")).NotTo(BeEmpty())
	g.Expect(requestedAt(t, c, "apps", "a2")).NotTo(BeEmpty())
	g.Expect(requestedAt(t, c, "apps", "b1")).To(BeEmpty())
	g.Expect(requestedAt(t, c, "edge", "e1")).NotTo(BeEmpty())
}

func TestNoCrossNamespaceRefs(t *testing.T) {
	g := NewWithT(t)
	rcv := newReceiver("gen", "generic", func(r *notificationv1.Receiver) {
		r.Spec.Resources = []notificationv1.CrossNamespaceObjectReference{{Kind: "GitRepository", Name: "e1", Namespace: "edge"}}
	})
	h, c := newHandler(rcv, newSecret(token), newRepo("edge", "e1", nil))
	h.NoCrossNamespaceRefs = true
	w := send(h, rcv.Status.WebhookPath, nil, nil)
	g.Expect(w.Code).To(Equal(http.StatusInternalServerError))
	g.Expect(requestedAt(t, c, "edge", "e1")).To(BeEmpty())
	g.Expect(strings.Contains(w.Body.String(), token)).To(BeFalse())
}
