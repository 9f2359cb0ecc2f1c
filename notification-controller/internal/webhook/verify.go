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
	"regexp"
	"slices"
	"strings"
	"time"

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
	case notificationv1.NexusReceiver:
		sig := h.Get("X-Nexus-Webhook-Signature")
		if sig == "" {
			return verdict{}, reject(http.StatusUnauthorized, "the request has no X-Nexus-Webhook-Signature header")
		}
		if err := checkHMAC("sha1="+sig, token, body, "sha1"); err != nil {
			return verdict{}, err
		}
		var p struct {
			Action         string `json:"action"`
			RepositoryName string `json:"repositoryName"`
		}
		if json.Unmarshal(body, &p) != nil || p.Action == "" {
			return verdict{}, reject(http.StatusBadRequest, "the body is not a Nexus webhook payload")
		}
		return verdict{eventType: p.Action, deliveryID: h.Get("X-Nexus-Webhook-Delivery")}, nil
	case notificationv1.ACRReceiver:
		var p struct {
			ID     string `json:"id"`
			Action string `json:"action"`
			Target struct {
				Repository string `json:"repository"`
			} `json:"target"`
		}
		if json.Unmarshal(body, &p) != nil || p.Action == "" || (p.Action != "ping" && p.Target.Repository == "") {
			return verdict{}, reject(http.StatusBadRequest, "the body is not an Azure Container Registry webhook payload")
		}
		return verdict{eventType: p.Action, ping: p.Action == "ping", deliveryID: p.ID}, nil
	case notificationv1.GCRReceiver:
		// The OIDC token was checked before the body is read (checkGoogleToken).
		var p struct {
			Message struct {
				Data      []byte `json:"data"`
				MessageID string `json:"messageId"`
			} `json:"message"`
		}
		var d struct {
			Action string `json:"action"`
		}
		if json.Unmarshal(body, &p) != nil || json.Unmarshal(p.Message.Data, &d) != nil || d.Action == "" {
			return verdict{}, reject(http.StatusBadRequest, "the body is not a Pub/Sub push of a container registry notification")
		}
		return verdict{eventType: d.Action, deliveryID: p.Message.MessageID}, nil
	case notificationv1.CDEventsReceiver:
		id, err := checkCDEvent(body)
		if err != nil {
			return verdict{}, err
		}
		ceType := h.Get("Ce-Type")
		if ceType == "" {
			ceType = id.typ
		}
		v := verdict{eventType: ceType, deliveryID: id.source + "/" + id.id}
		return v, filterEvent(v, events)
	}
	return verdict{}, reject(http.StatusInternalServerError, "unsupported Receiver type %q", typ)
}

// cdEventType is the form of a CDEvent type:
// dev.cdevents.<subject>.<predicate>.<semver>.
var cdEventType = regexp.MustCompile(`^dev\.cdevents\.[a-z]+\.[a-z]+\.[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

// cdEventID is what identifies one CDEvent.
type cdEventID struct{ id, source, typ string }

// checkCDEvent accepts a body that is a CDEvent in its JSON form: a context
// with a specversion, an id, a source, a dev.cdevents type and a timestamp,
// and a subject with an id. This is the check the CDEvents specification
// makes of an event, written here because the SDK would pull in a schema
// validator for these few fields.
func checkCDEvent(body []byte) (cdEventID, *rejection) {
	var e struct {
		Context struct {
			SpecVersion string `json:"specversion"`
			ID          string `json:"id"`
			Source      string `json:"source"`
			Type        string `json:"type"`
			Timestamp   string `json:"timestamp"`
		} `json:"context"`
		Subject *struct {
			ID string `json:"id"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return cdEventID{}, reject(http.StatusBadRequest, "the body is not a CDEvent: not a JSON object")
	}
	c := e.Context
	switch {
	case c.SpecVersion == "" || c.ID == "" || c.Source == "" || c.Timestamp == "":
		return cdEventID{}, reject(http.StatusBadRequest, "the body is not a CDEvent: context needs specversion, id, source and timestamp")
	case !cdEventType.MatchString(c.Type):
		return cdEventID{}, reject(http.StatusBadRequest, "the body is not a CDEvent: context.type %q is not a dev.cdevents type", c.Type)
	case e.Subject == nil || e.Subject.ID == "":
		return cdEventID{}, reject(http.StatusBadRequest, "the body is not a CDEvent: subject.id is missing")
	}
	if _, err := time.Parse(time.RFC3339Nano, c.Timestamp); err != nil {
		return cdEventID{}, reject(http.StatusBadRequest, "the body is not a CDEvent: context.timestamp is not RFC 3339")
	}
	return cdEventID{id: c.ID, source: c.Source, typ: c.Type}, nil
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
