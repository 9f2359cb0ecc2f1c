package controller

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

func githubSignature(token string, body []byte) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// TestGitHubWebhookRequestsReconcile runs a GitHub Receiver end to end on the
// real API server: the reconciler publishes the path, a push with a wrong
// signature is refused and changes nothing, and a signed push sets
// reconcile.fluxcd.io/requestedAt on the GitRepository.
func TestGitHubWebhookRequestsReconcile(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	const token = "gh-webhook-secret"
	rcv := &notificationv1.Receiver{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "github"},
		Spec: notificationv1.ReceiverSpec{
			Type:      notificationv1.GitHubReceiver,
			Events:    []string{"push"},
			SecretRef: fluxmeta.LocalObjectReference{Name: "webhook-token"},
			Resources: []notificationv1.CrossNamespaceObjectReference{{APIVersion: "source.toolkit.fluxcd.io/v1", Kind: "GitRepository", Name: "webapp"}},
		},
	}
	create(t, newGitRepository(ns, "webapp", nil), newGitRepository(ns, "other", nil),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "webhook-token"}, StringData: map[string]string{"token": token}},
		rcv)

	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(rcv), rcv)).To(Succeed())
		g.Expect(conditions.IsReady(rcv)).To(BeTrue())
		// The patch helper writes conditions before the other status
		// fields, so the path may land in a second patch.
		g.Expect(rcv.Status.WebhookPath).To(Equal(rcv.GetWebhookPath(token)))
	}, timeout, 50*time.Millisecond).Should(Succeed())
	url := receiverURL + rcv.Status.WebhookPath

	// A signed ping is answered once the webhook server's cache has the
	// Receiver; it changes nothing.
	ping := []byte(`{"zen":"Keep it logically awesome."}`)
	g.Eventually(func() int {
		return postRaw(t, url, ping, map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": githubSignature(token, ping)})
	}, timeout, 50*time.Millisecond).Should(Equal(http.StatusOK))

	requestedAt := func(name string) string {
		repo := &sourcev1.GitRepository{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, repo)).To(Succeed())
		return repo.Annotations[fluxmeta.ReconcileRequestAnnotation]
	}
	push := []byte(`{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567"}`)
	headers := map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": githubSignature("guessed", push)}
	g.Expect(postRaw(t, url, push, headers)).To(Equal(http.StatusUnauthorized))
	g.Expect(requestedAt("webapp")).To(BeEmpty())

	headers["X-Hub-Signature-256"] = githubSignature(token, push)
	g.Expect(postRaw(t, url, push, headers)).To(Equal(http.StatusOK))
	at := requestedAt("webapp")
	_, err := time.Parse(time.RFC3339Nano, at)
	g.Expect(err).NotTo(HaveOccurred(), at)
	g.Expect(requestedAt("other")).To(BeEmpty())

	g.Expect(postRaw(t, url, push, headers)).To(Equal(http.StatusConflict), "a replayed delivery is refused")
	g.Expect(requestedAt("webapp")).To(Equal(at))
}
