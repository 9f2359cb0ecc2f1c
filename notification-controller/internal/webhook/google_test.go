package webhook

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// googleSigner stands in for Google: it serves its public key as a JWKS on
// loopback and signs OIDC tokens with the private key.
type googleSigner struct {
	keysURL string
	signer  jose.Signer
}

func newGoogleSigner(t *testing.T) *googleSigner {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(srv.Close)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	return &googleSigner{keysURL: srv.URL, signer: signer}
}

// token signs claims, starting from those of a valid Pub/Sub push token.
func (s *googleSigner) token(t *testing.T, change func(map[string]any)) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{
		"iss": "https://accounts.google.com", "aud": "https://flux.example/hook", "sub": "1234",
		"email": "pubsub@project.iam.gserviceaccount.com", "email_verified": true,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	if change != nil {
		change(claims)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGCRWebhookChecksGoogleToken runs gcr Receivers through the handler
// with tokens signed by a loopback stand-in for Google: only a token for
// the Secret's audience, issued by Google to its verified email, annotates.
func TestGCRWebhookChecksGoogleToken(t *testing.T) {
	google := newGoogleSigner(t)
	other := newGoogleSigner(t)
	rcv := newReceiver("gcr", notificationv1.GCRReceiver)
	secret := newSecret(token)
	secret.Data["email"] = []byte("pubsub@project.iam.gserviceaccount.com")
	secret.Data["audience"] = []byte("https://flux.example/hook")
	h, c := newHandler(rcv, secret, newRepo("apps", "webapp", nil))
	h.google = &googleKeys{url: google.keysURL}

	for _, tc := range []struct {
		name   string
		bearer string
	}{
		{"no token", ""},
		{"wrong audience", google.token(t, func(c map[string]any) { c["aud"] = "https://other.example" })},
		{"wrong email", google.token(t, func(c map[string]any) { c["email"] = "attacker@example.com" })},
		{"unverified email", google.token(t, func(c map[string]any) { c["email_verified"] = false })},
		{"not Google", google.token(t, func(c map[string]any) { c["iss"] = "https://issuer.example" })},
		{"expired", google.token(t, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })},
		{"signed by another key", other.token(t, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			w := send(h, rcv.Status.WebhookPath, gcrPushBody("INSERT"), map[string]string{"Authorization": "Bearer " + tc.bearer})
			g.Expect(w.Code).To(Equal(http.StatusUnauthorized), w.Body.String())
			g.Expect(requestedAt(t, c, "apps", "webapp")).To(BeEmpty())
		})
	}

	g := NewWithT(t)
	w := send(h, rcv.Status.WebhookPath, gcrPushBody("INSERT"), map[string]string{"Authorization": "Bearer " + google.token(t, nil)})
	g.Expect(w.Code).To(Equal(http.StatusOK), w.Body.String())
	g.Expect(requestedAt(t, c, "apps", "webapp")).NotTo(BeEmpty())
}

// TestGCRWebhookNeedsEmailAndAudience checks a gcr Receiver whose Secret
// lacks the keys refuses even a valid token, rather than accept tokens for
// any audience.
func TestGCRWebhookNeedsEmailAndAudience(t *testing.T) {
	g := NewWithT(t)
	google := newGoogleSigner(t)
	rcv := newReceiver("gcr", notificationv1.GCRReceiver)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "token"},
		Data: map[string][]byte{"token": []byte(token), "audience": []byte("https://flux.example/hook")}}
	h, c := newHandler(rcv, secret, newRepo("apps", "webapp", nil))
	h.google = &googleKeys{url: google.keysURL}
	w := send(h, rcv.Status.WebhookPath, gcrPushBody("INSERT"), map[string]string{"Authorization": "Bearer " + google.token(t, nil)})
	g.Expect(w.Code).To(Equal(http.StatusUnauthorized))
	g.Expect(w.Body.String()).To(ContainSubstring("'email' and 'audience'"))
	g.Expect(requestedAt(t, c, "apps", "webapp")).To(BeEmpty())
}
