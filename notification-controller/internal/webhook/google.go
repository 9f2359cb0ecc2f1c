package webhook

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
)

// GoogleKeysURL is where Google publishes the keys that sign the OIDC
// tokens Pub/Sub push subscriptions send.
const GoogleKeysURL = "https://www.googleapis.com/oauth2/v3/certs"

// googleIssuers are the issuer values Google puts in those tokens.
var googleIssuers = []string{"accounts.google.com", "https://accounts.google.com"}

// googleKeys holds the signing keys, fetched on first use and refetched by
// go-oidc when a token names a key it has not seen (Google rotates them).
type googleKeys struct {
	url  string
	once sync.Once
	set  *oidc.RemoteKeySet
}

func (k *googleKeys) keySet() *oidc.RemoteKeySet {
	k.once.Do(func() { k.set = oidc.NewRemoteKeySet(context.Background(), k.url) })
	return k.set
}

// checkGoogleToken verifies the bearer token of a gcr Receiver's request,
// as Flux does: its signature against Google's keys, its expiry, its
// audience against the Secret's "audience", its issuer, and that it was
// issued to the verified service account in the Secret's "email". Flux
// 2.10 requires both keys, so a Secret without them refuses every request
// instead of accepting tokens minted for any audience.
func (h *Handler) checkGoogleToken(ctx context.Context, header string, secret map[string][]byte) *rejection {
	email, audience := string(secret["email"]), string(secret["audience"])
	if email == "" || audience == "" {
		return reject(http.StatusUnauthorized, "the Receiver's Secret needs the 'email' and 'audience' keys to verify Google's token")
	}
	raw, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || raw == "" {
		return reject(http.StatusUnauthorized, "the request has no bearer token in the Authorization header")
	}
	verifier := oidc.NewVerifier(googleIssuers[1], h.google.keySet(), &oidc.Config{ClientID: audience, SkipIssuerCheck: true})
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		return reject(http.StatusUnauthorized, "the bearer token is not a valid Google token for the Receiver's audience")
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	if tok.Claims(&claims) != nil || (tok.Issuer != googleIssuers[0] && tok.Issuer != googleIssuers[1]) {
		return reject(http.StatusUnauthorized, "the bearer token was not issued by Google")
	}
	if claims.Email != email || !claims.EmailVerified {
		return reject(http.StatusUnauthorized, "the bearer token was not issued to the service account in the Receiver's Secret")
	}
	return nil
}
