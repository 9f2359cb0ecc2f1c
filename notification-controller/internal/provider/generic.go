package provider

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// generic POSTs the event as Flux's JSON, so any receiver written for Flux's
// generic provider reads it unchanged.
type generic struct {
	client  *http.Client
	url     *url.URL
	headers map[string]string
	user    string
	pass    string
	// hmacKey, when set, signs the body in the X-Signature header.
	hmacKey []byte
}

func newGeneric(cfg Config, client *http.Client, signed bool) (Notifier, error) {
	u, err := requireAddress(cfg)
	if err != nil {
		return nil, err
	}
	g := &generic{client: client, url: u, headers: cfg.Headers}
	if cfg.Password != "" {
		g.user, g.pass = cfg.Username, cfg.Password
	}
	if signed {
		if cfg.Token == "" {
			return nil, errors.New("generic-hmac provider needs the 'token' key in spec.secretRef to sign requests")
		}
		g.hmacKey = []byte(cfg.Token)
	}
	return g, nil
}

// Post sends the event. The Gotk-Component header names the controller that
// reported it, as Flux sets it; custom headers come from the Secret.
func (g *generic) Post(ctx context.Context, e eventv1.Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return permanent("encoding the event: %w", err)
	}
	headers := make(map[string]string, len(g.headers)+2)
	for k, v := range g.headers {
		headers[k] = v
	}
	headers["Gotk-Component"] = e.ReportingController
	if g.hmacKey != nil {
		headers["X-Signature"] = "sha256=" + sign(g.hmacKey, body)
	}
	return doRaw(ctx, g.client, request{url: g.url, headers: headers, user: g.user, pass: g.pass}, bytes.NewReader(body))
}

// sign returns the hex HMAC-SHA256 of body keyed with key.
func sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}
