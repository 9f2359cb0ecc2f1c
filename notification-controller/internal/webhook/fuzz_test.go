package webhook

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"net/http"
	"strings"
	"testing"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// fuzzTypes are the Receiver types the fuzzer picks from.
var fuzzTypes = []string{
	notificationv1.GenericReceiver, notificationv1.GenericHMACReceiver, notificationv1.GitHubReceiver,
	notificationv1.GitLabReceiver, notificationv1.BitbucketReceiver, notificationv1.HarborReceiver,
	notificationv1.DockerHubReceiver, notificationv1.QuayReceiver, notificationv1.NexusReceiver,
	notificationv1.ACRReceiver, notificationv1.GCRReceiver, notificationv1.CDEventsReceiver,
}

// FuzzReceiverHandler sends arbitrary bodies and header values to a
// Receiver of each type. Nothing may panic, the answer must be a documented
// one, and a request answered 200 must carry valid credentials for the
// types that have them: no input gets through without the token. The seed
// corpus is in testdata/fuzz.
func FuzzReceiverHandler(f *testing.F) {
	f.Add(uint8(2), []byte(`{"ref":"main"}`), "sha256="+mac(sha256.New, token, []byte(`{"ref":"main"}`)), "push", "")
	receivers := map[string]*notificationv1.Receiver{}
	for _, typ := range fuzzTypes {
		r := newReceiver("r-"+typ, typ, func(r *notificationv1.Receiver) { r.Spec.Events = nil })
		receivers[typ] = r
	}
	h, _ := newHandler(receivers["generic"], receivers["generic-hmac"], receivers["github"], receivers["gitlab"],
		receivers["bitbucket"], receivers["harbor"], receivers["dockerhub"], receivers["quay"],
		receivers["nexus"], receivers["acr"], receivers["gcr"], receivers["cdevents"],
		newSecret(token), newRepo("apps", "webapp", nil))

	f.Fuzz(func(t *testing.T, pick uint8, body []byte, sig, event, auth string) {
		typ := fuzzTypes[int(pick)%len(fuzzTypes)]
		headers := map[string]string{
			"X-Signature": sig, "X-Hub-Signature-256": sig, "X-Hub-Signature": sig,
			"X-GitHub-Event": event, "X-Gitlab-Event": event, "X-Event-Key": event,
			"X-Gitlab-Token": auth, "Authorization": auth, "X-Nexus-Webhook-Signature": sig, "Ce-Type": event,
		}
		w := send(h, receivers[typ].Status.WebhookPath, body, headers)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusConflict, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("%s: unexpected status %d: %s", typ, w.Code, w.Body.String())
		}
		if w.Code != http.StatusOK {
			return
		}
		switch typ {
		case "generic-hmac", "github", "bitbucket":
			if !validSignature(sig, body) {
				t.Fatalf("%s accepted an invalid signature %q", typ, sig)
			}
		case "gitlab", "harbor":
			if auth != token {
				t.Fatalf("%s accepted the token %q", typ, auth)
			}
		case "nexus":
			if !validSignature("sha1="+sig, body) {
				t.Fatalf("nexus accepted an invalid signature %q", sig)
			}
		case "gcr":
			// The fuzzer's Secret has no email and audience, so no token
			// can pass.
			t.Fatalf("gcr accepted the token %q", auth)
		}
	})
}

// validSignature recomputes the signature independently of the handler.
func validSignature(sig string, body []byte) bool {
	for prefix, want := range map[string]string{
		"sha1=":   mac(sha1.New, token, body),
		"sha256=": mac(sha256.New, token, body),
		"sha512=": mac(sha512.New, token, body),
	} {
		if strings.HasPrefix(sig, prefix) && strings.EqualFold(strings.TrimPrefix(sig, prefix), want) {
			return true
		}
	}
	return false
}
