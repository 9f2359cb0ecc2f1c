package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"net/http/httptest"
	"testing"
)

const token = "s3cret-token"

func mac(newHash func() hash.Hash, key string, body []byte) string {
	m := hmac.New(newHash, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// gcrPushBody is a Pub/Sub push of a container registry notification.
func gcrPushBody(action string) []byte {
	data := base64.StdEncoding.EncodeToString([]byte(`{"action":"` + action + `","digest":"gcr.io/p/app@sha256:abc","tag":"gcr.io/p/app:v1"}`))
	return []byte(`{"message":{"data":"` + data + `","messageId":"m-1","publishTime":"2026-01-02T03:04:05Z"},"subscription":"projects/p/subscriptions/flux"}`)
}

func TestVerify(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	dockerhub := []byte(`{"push_data":{"tag":"v1"},"repository":{"repo_name":"org/app"}}`)
	quay := []byte(`{"docker_url":"registry.example/org/app","updated_tags":["v1"]}`)
	nexus := []byte(`{"timestamp":"2026-01-02T03:04:05.000+0000","nodeId":"n","initiator":"admin","repositoryName":"docker-hosted","action":"CREATED","component":{"name":"app","version":"v1"}}`)
	acr := []byte(`{"id":"acr-1","timestamp":"2026-01-02T03:04:05Z","action":"push","target":{"repository":"org/app","tag":"v1"},"request":{"host":"myregistry.azurecr.io"}}`)
	cdevent := []byte(`{"context":{"specversion":"0.3.0","id":"c-1","source":"https://ci.example/run/1","type":"dev.cdevents.artifact.published.0.1.1","timestamp":"2026-01-02T03:04:05Z"},
	  "subject":{"id":"pkg:oci/app@sha256:abc","source":"https://ci.example/run/1","content":{}}}`)
	for _, tc := range []struct {
		name    string
		typ     string
		events  []string
		headers map[string]string
		body    []byte
		code    int // 0 means accepted
		ping    bool
		id      string
	}{
		{name: "generic", typ: "generic", body: body},

		{name: "hmac sha256", typ: "generic-hmac", body: body, headers: map[string]string{"X-Signature": "sha256=" + mac(sha256.New, token, body)}},
		{name: "hmac sha1", typ: "generic-hmac", body: body, headers: map[string]string{"X-Signature": "sha1=" + mac(sha1.New, token, body)}},
		{name: "hmac sha512", typ: "generic-hmac", body: body, headers: map[string]string{"X-Signature": "sha512=" + mac(sha512.New, token, body)}},
		{name: "hmac wrong key", typ: "generic-hmac", body: body, headers: map[string]string{"X-Signature": "sha256=" + mac(sha256.New, "other", body)}, code: 401},
		{name: "hmac tampered body", typ: "generic-hmac", body: append(body, ' '), headers: map[string]string{"X-Signature": "sha256=" + mac(sha256.New, token, body)}, code: 401},
		{name: "hmac md5", typ: "generic-hmac", body: body, headers: map[string]string{"X-Signature": "md5=00"}, code: 401},
		{name: "hmac not hex", typ: "generic-hmac", body: body, headers: map[string]string{"X-Signature": "sha256=zz"}, code: 401},
		{name: "hmac missing", typ: "generic-hmac", body: body, code: 401},

		{name: "github push", typ: "github", events: []string{"push"}, body: body, id: "d-1", headers: map[string]string{
			"X-Hub-Signature-256": "sha256=" + mac(sha256.New, token, body), "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1"}},
		{name: "github legacy sha1", typ: "github", body: body, headers: map[string]string{
			"X-Hub-Signature": "sha1=" + mac(sha1.New, token, body), "X-GitHub-Event": "push"}},
		{name: "github ping outside events", typ: "github", events: []string{"push"}, body: body, ping: true, headers: map[string]string{
			"X-Hub-Signature-256": "sha256=" + mac(sha256.New, token, body), "X-GitHub-Event": "ping"}},
		{name: "github filtered event", typ: "github", events: []string{"push"}, body: body, code: 400, headers: map[string]string{
			"X-Hub-Signature-256": "sha256=" + mac(sha256.New, token, body), "X-GitHub-Event": "issues"}},
		{name: "github bad signature", typ: "github", body: body, code: 401, headers: map[string]string{
			"X-Hub-Signature-256": "sha256=" + mac(sha256.New, "guess", body), "X-GitHub-Event": "push"}},
		{name: "github unsigned ping", typ: "github", body: body, code: 401, headers: map[string]string{"X-GitHub-Event": "ping"}},

		{name: "gitlab", typ: "gitlab", events: []string{"Push Hook"}, body: body, id: "u-1", headers: map[string]string{
			"X-Gitlab-Token": token, "X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": "u-1"}},
		{name: "gitlab wrong token", typ: "gitlab", body: body, code: 401, headers: map[string]string{"X-Gitlab-Token": token + "x"}},
		{name: "gitlab filtered", typ: "gitlab", events: []string{"Push Hook"}, body: body, code: 400, headers: map[string]string{
			"X-Gitlab-Token": token, "X-Gitlab-Event": "Note Hook"}},

		{name: "bitbucket", typ: "bitbucket", events: []string{"repo:refs_changed"}, body: body, headers: map[string]string{
			"X-Hub-Signature": "sha256=" + mac(sha256.New, token, body), "X-Event-Key": "repo:refs_changed"}},
		{name: "bitbucket ping", typ: "bitbucket", events: []string{"repo:refs_changed"}, body: body, ping: true, headers: map[string]string{
			"X-Hub-Signature": "sha256=" + mac(sha256.New, token, body), "X-Event-Key": "diagnostics:ping"}},
		{name: "bitbucket bad signature", typ: "bitbucket", body: body, code: 401, headers: map[string]string{
			"X-Hub-Signature": "sha256=" + mac(sha256.New, token, []byte("other")), "X-Event-Key": "repo:refs_changed"}},

		{name: "harbor", typ: "harbor", body: body, headers: map[string]string{"Authorization": token}},
		{name: "harbor wrong", typ: "harbor", body: body, code: 401, headers: map[string]string{"Authorization": "Bearer " + token}},

		{name: "dockerhub", typ: "dockerhub", body: dockerhub},
		{name: "dockerhub not a payload", typ: "dockerhub", body: body, code: 400},
		{name: "quay", typ: "quay", body: quay},
		{name: "quay not json", typ: "quay", body: []byte("{"), code: 400},

		{name: "nexus", typ: "nexus", body: nexus, id: "n-1", headers: map[string]string{
			"X-Nexus-Webhook-Signature": mac(sha1.New, token, nexus), "X-Nexus-Webhook-Delivery": "n-1"}},
		{name: "nexus wrong key", typ: "nexus", body: nexus, code: 401, headers: map[string]string{
			"X-Nexus-Webhook-Signature": mac(sha1.New, "other", nexus)}},
		{name: "nexus sha256 is not nexus", typ: "nexus", body: nexus, code: 401, headers: map[string]string{
			"X-Nexus-Webhook-Signature": mac(sha256.New, token, nexus)}},
		{name: "nexus unsigned", typ: "nexus", body: nexus, code: 401},
		{name: "nexus signed but not a payload", typ: "nexus", body: body, code: 400, headers: map[string]string{
			"X-Nexus-Webhook-Signature": mac(sha1.New, token, body)}},

		{name: "acr push", typ: "acr", body: acr, id: "acr-1"},
		{name: "acr ping", typ: "acr", body: []byte(`{"id":"p","action":"ping"}`), ping: true, id: "p"},
		{name: "acr not a payload", typ: "acr", body: body, code: 400},

		{name: "gcr payload", typ: "gcr", body: gcrPushBody("INSERT"), id: "m-1"},
		{name: "gcr data not json", typ: "gcr", body: []byte(`{"message":{"data":"bm90IGpzb24=","messageId":"m"}}`), code: 400},

		{name: "cdevents", typ: "cdevents", events: []string{"dev.cdevents.artifact.published.0.1.1"}, body: cdevent,
			id: "https://ci.example/run/1/c-1", headers: map[string]string{"Ce-Type": "dev.cdevents.artifact.published.0.1.1"}},
		{name: "cdevents type from the body", typ: "cdevents", body: cdevent, id: "https://ci.example/run/1/c-1"},
		{name: "cdevents filtered", typ: "cdevents", events: []string{"dev.cdevents.pipelinerun.finished.0.1.1"}, body: cdevent, code: 400,
			headers: map[string]string{"Ce-Type": "dev.cdevents.artifact.published.0.1.1"}},
		{name: "cdevents not a cdevent", typ: "cdevents", body: []byte(`{"context":{"specversion":"1.0","id":"1","source":"s","type":"com.example.push","timestamp":"2026-01-02T03:04:05Z"},"subject":{"id":"x"}}`), code: 400},
		{name: "cdevents without subject", typ: "cdevents", body: []byte(`{"context":{"specversion":"0.3.0","id":"1","source":"s","type":"dev.cdevents.artifact.published.0.1.1","timestamp":"2026-01-02T03:04:05Z"}}`), code: 400},

		{name: "unknown type", typ: "generic-oidc", body: body, code: 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/hook/x", bytes.NewReader(tc.body))
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			v, rej := verify(tc.typ, token, tc.events, r, tc.body)
			switch {
			case tc.code == 0 && rej != nil:
				t.Fatalf("rejected with %d: %s", rej.code, rej.msg)
			case tc.code != 0 && rej == nil:
				t.Fatalf("accepted, want %d", tc.code)
			case rej != nil && rej.code != tc.code:
				t.Fatalf("rejected with %d (%s), want %d", rej.code, rej.msg, tc.code)
			}
			if rej == nil && (v.ping != tc.ping || v.deliveryID != tc.id) {
				t.Fatalf("verdict %+v, want ping=%v id=%q", v, tc.ping, tc.id)
			}
			if rej != nil && bytes.Contains([]byte(rej.msg), []byte(token)) {
				t.Fatal("a rejection message reveals the token")
			}
		})
	}
}
