package webhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"slices"
	"strings"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// rejection is a request that fails a Receiver's checks, with the status to
// answer and a message that reveals nothing about the token.
type rejection struct {
	code int
	msg  string
}

func (r *rejection) Error() string { return r.msg }

func reject(code int, format string, args ...any) *rejection {
	return &rejection{code: code, msg: fmt.Sprintf(format, args...)}
}

// verdict is what an authentic request asks for.
type verdict struct {
	// eventType is the sender's event name, for logs; empty for types that
	// have none.
	eventType string
	// ping is a connectivity check that is answered 200 and changes
	// nothing.
	ping bool
	// deliveryID is the sender's unique id of this delivery, when it sends
	// one, used to refuse replays.
	deliveryID string
}

// verify applies the checks of the Receiver type to a request. Tokens and
// signatures are compared in constant time, and the signature is checked
// before anything in the request is trusted.
func verify(typ, token string, events []string, r *http.Request, body []byte) (verdict, *rejection) {
	h := r.Header
	switch typ {
	case notificationv1.GenericReceiver:
		return verdict{}, nil

	case notificationv1.GenericHMACReceiver:
		if err := checkHMAC(h.Get("X-Signature"), token, body, "sha1", "sha256", "sha512"); err != nil {
			return verdict{}, err
		}
		return verdict{}, nil

	case notificationv1.GitHubReceiver:
		sig := h.Get("X-Hub-Signature-256")
		if sig == "" {
			sig = h.Get("X-Hub-Signature")
		}
		if err := checkHMAC(sig, token, body, "sha1", "sha256"); err != nil {
			return verdict{}, err
		}
		v := verdict{eventType: h.Get("X-GitHub-Event"), deliveryID: h.Get("X-GitHub-Delivery")}
		v.ping = v.eventType == "ping"
		return v, filterEvent(v, events)

	case notificationv1.GitLabReceiver:
		if !equalToken(h.Get("X-Gitlab-Token"), token) {
			return verdict{}, reject(http.StatusUnauthorized, "the X-Gitlab-Token header does not match the Receiver's token")
		}
		v := verdict{eventType: h.Get("X-Gitlab-Event"), deliveryID: h.Get("X-Gitlab-Event-UUID")}
		return v, filterEvent(v, events)

	case notificationv1.BitbucketReceiver:
		if err := checkHMAC(h.Get("X-Hub-Signature"), token, body, "sha256"); err != nil {
			return verdict{}, err
		}
		v := verdict{eventType: h.Get("X-Event-Key"), deliveryID: h.Get("X-Request-Id")}
		v.ping = v.eventType == "diagnostics:ping"
		return v, filterEvent(v, events)

	case notificationv1.HarborReceiver:
		if !equalToken(h.Get("Authorization"), token) {
			return verdict{}, reject(http.StatusUnauthorized, "the Authorization header does not match the Receiver's token")
		}
		return verdict{}, nil

	case notificationv1.DockerHubReceiver:
		var p struct {
			Repository struct {
				RepoName string `json:"repo_name"`
			} `json:"repository"`
		}
		if json.Unmarshal(body, &p) != nil || p.Repository.RepoName == "" {
			return verdict{}, reject(http.StatusBadRequest, "the body is not a DockerHub webhook payload")
		}
		return verdict{}, nil

	case notificationv1.QuayReceiver:
		var p struct {
			DockerURL   string   `json:"docker_url"`
			UpdatedTags []string `json:"updated_tags"`
		}
		if json.Unmarshal(body, &p) != nil || p.DockerURL == "" {
			return verdict{}, reject(http.StatusBadRequest, "the body is not a Quay repository push notification")
		}
		return verdict{}, nil
	}
	return verdict{}, reject(http.StatusInternalServerError, "unsupported Receiver type %q", typ)
}

// filterEvent refuses an event the Receiver does not list in spec.events;
// pings always pass, so a Git host can test the webhook.
func filterEvent(v verdict, events []string) *rejection {
	if v.ping || len(events) == 0 || slices.Contains(events, v.eventType) {
		return nil
	}
	return reject(http.StatusBadRequest, "event type %q is not in the Receiver's spec.events", v.eventType)
}

// checkHMAC verifies a "<algorithm>=<hex>" signature of body keyed with
// token, for one of the allowed algorithms.
func checkHMAC(header, token string, body []byte, allowed ...string) *rejection {
	if header == "" {
		return reject(http.StatusUnauthorized, "the request has no signature header")
	}
	algo, sigHex, ok := strings.Cut(header, "=")
	if !ok || !slices.Contains(allowed, algo) {
		return reject(http.StatusUnauthorized, "the signature is not one of %s=<hex>", strings.Join(allowed, ", "))
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return reject(http.StatusUnauthorized, "the signature is not hexadecimal")
	}
	var newHash func() hash.Hash
	switch algo {
	case "sha1":
		newHash = sha1.New
	case "sha256":
		newHash = sha256.New
	case "sha512":
		newHash = sha512.New
	}
	mac := hmac.New(newHash, []byte(token))
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return reject(http.StatusUnauthorized, "the signature does not match the body and the Receiver's token")
	}
	return nil
}

// equalToken compares a header with the token in constant time.
func equalToken(got, token string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
