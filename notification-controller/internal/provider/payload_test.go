package provider

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	. "github.com/onsi/gomega"
)

// rev is the revision the test events carry.
const rev = "main@sha1:" + testSHA

// payloadCase is one provider type posting one event to a sink.
type payloadCase struct {
	name string
	// cfg builds the Config for a sink at base (scheme://host:port).
	cfg      func(base string) Config
	severity string
	// method is the HTTP method the service expects; empty means POST.
	method string
	// answer is what the sink replies with 200.
	answer string
	// uri is the request target the service expects.
	uri string
	// headers must all be present with these values.
	headers map[string]string
	// body is the exact JSON the service expects; empty skips the check.
	body string
	// check runs extra assertions on the request.
	check func(g Gomega, c captured)
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

var slackAttachmentInfo = `{
  "fallback": "Kustomization apps/webapp: ReconciliationSucceeded",
  "color": "#2EB886",
  "author_name": "Kustomization apps/webapp",
  "title": "ReconciliationSucceeded",
  "text": "Applied revision: main@sha1:` + testSHA + `",
  "fields": [
    {"title": "summary", "value": "prod cluster", "short": true},
    {"title": "revision", "value": "` + rev + `", "short": false}
  ],
  "footer": "kustomize-controller",
  "ts": 1767323045
}`

var payloadCases = []payloadCase{
	{
		name: "generic",
		cfg: func(base string) Config {
			return Config{Type: "generic", Address: base + "/hook", Username: "u", Password: "p",
				Headers: map[string]string{"X-Custom": "yes"}}
		},
		severity: eventv1.EventSeverityInfo,
		uri:      "/hook",
		headers: map[string]string{"Content-Type": "application/json", "Gotk-Component": "kustomize-controller",
			"X-Custom": "yes", "Authorization": basic("u", "p")},
		body: mustJSON(testEvent(eventv1.EventSeverityInfo)),
	},
	{
		name: "generic-hmac",
		cfg: func(base string) Config {
			return Config{Type: "generic-hmac", Address: base + "/hook", Token: "s3cret"}
		},
		severity: eventv1.EventSeverityError,
		uri:      "/hook",
		headers:  map[string]string{"Content-Type": "application/json", "Gotk-Component": "kustomize-controller"},
		body:     mustJSON(testEvent(eventv1.EventSeverityError)),
		check: func(g Gomega, c captured) {
			mac := hmac.New(sha256.New, []byte("s3cret"))
			mac.Write(c.Body)
			g.Expect(c.Header.Get("X-Signature")).To(Equal("sha256=" + hex.EncodeToString(mac.Sum(nil))))
		},
	},
	{
		name: "slack incoming webhook",
		cfg: func(base string) Config {
			return Config{Type: "slack", Address: base + "/services/T0/B0/x", Channel: "general", Username: "flux"}
		},
		severity: eventv1.EventSeverityInfo,
		answer:   "ok",
		uri:      "/services/T0/B0/x",
		headers:  map[string]string{"Content-Type": "application/json"},
		body:     `{"channel": "general", "username": "flux", "attachments": [` + slackAttachmentInfo + `]}`,
		check: func(g Gomega, c captured) {
			g.Expect(c.Header.Get("Authorization")).To(BeEmpty())
		},
	},
	{
		name: "slack bot token",
		cfg: func(base string) Config {
			return Config{Type: "slack", Address: base + "/api/chat.postMessage", Channel: "C123", Token: "xoxb-1"}
		},
		severity: eventv1.EventSeverityError,
		answer:   `{"ok": true}`,
		uri:      "/api/chat.postMessage",
		headers:  map[string]string{"Authorization": "Bearer xoxb-1", "Content-Type": "application/json; charset=utf-8"},
		body: `{"channel": "C123", "attachments": [{
		  "fallback": "Kustomization apps/webapp: ReconciliationFailed",
		  "color": "#A30200",
		  "author_name": "Kustomization apps/webapp",
		  "title": "ReconciliationFailed",
		  "text": "kustomize build failed\nmissing resource",
		  "mrkdwn_in": ["text"],
		  "fields": [
		    {"title": "summary", "value": "prod cluster", "short": true},
		    {"title": "revision", "value": "` + rev + `", "short": false}
		  ],
		  "footer": "kustomize-controller",
		  "ts": 1767323045
		}]}`,
	},
	{
		name: "discord",
		cfg: func(base string) Config {
			return Config{Type: "discord", Address: base + "/api/webhooks/1/tok", Username: "flux"}
		},
		severity: eventv1.EventSeverityInfo,
		uri:      "/api/webhooks/1/tok/slack",
		headers:  map[string]string{"Content-Type": "application/json"},
		body:     `{"username": "flux", "attachments": [` + slackAttachmentInfo + `]}`,
	},
	{
		name: "rocket",
		cfg: func(base string) Config {
			return Config{Type: "rocket", Address: base + "/hooks/abc", Channel: "#ops", Username: "flux"}
		},
		severity: eventv1.EventSeverityInfo,
		uri:      "/hooks/abc",
		body: `{"channel": "#ops", "alias": "flux", "text": "Kustomization apps/webapp: ReconciliationSucceeded",
		  "attachments": [{
		    "color": "#2EB886", "author_name": "Kustomization apps/webapp", "title": "ReconciliationSucceeded",
		    "text": "Applied revision: main@sha1:` + testSHA + `",
		    "fields": [
		      {"title": "summary", "value": "prod cluster", "short": true},
		      {"title": "revision", "value": "` + rev + `", "short": false}
		    ]
		  }]}`,
	},
	{
		name: "msteams workflow",
		cfg: func(base string) Config {
			return Config{Type: "msteams", Address: base + "/workflows/1/triggers/manual/paths/invoke?sig=x"}
		},
		severity: eventv1.EventSeverityError,
		uri:      "/workflows/1/triggers/manual/paths/invoke?sig=x",
		headers:  map[string]string{"Content-Type": "application/json"},
		body: `{"type": "message", "attachments": [{
		  "contentType": "application/vnd.microsoft.card.adaptive",
		  "content": {
		    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		    "type": "AdaptiveCard", "version": "1.4",
		    "body": [
		      {"type": "TextBlock", "text": "Kustomization apps/webapp: ReconciliationFailed", "weight": "Bolder", "size": "Medium", "color": "Attention", "wrap": true},
		      {"type": "TextBlock", "text": "kustomize build failed\nmissing resource", "wrap": true},
		      {"type": "FactSet", "facts": [{"title": "summary", "value": "prod cluster"}, {"title": "revision", "value": "` + rev + `"}]}
		    ],
		    "msteams": {"width": "Full"}
		  }
		}]}`,
	},
	{
		name: "googlechat",
		cfg: func(base string) Config {
			return Config{Type: "googlechat", Address: base + "/v1/spaces/AAA/messages?key=k"}
		},
		severity: eventv1.EventSeverityInfo,
		uri:      "/v1/spaces/AAA/messages?key=k",
		body: `{"cardsV2": [{"cardId": "flux-event", "card": {
		  "header": {"title": "Kustomization apps/webapp", "subtitle": "info: ReconciliationSucceeded"},
		  "sections": [
		    {"widgets": [{"textParagraph": {"text": "Applied revision: main@sha1:` + testSHA + `"}}]},
		    {"header": "Metadata", "widgets": [
		      {"decoratedText": {"topLabel": "summary", "text": "prod cluster"}},
		      {"decoratedText": {"topLabel": "revision", "text": "` + rev + `"}}
		    ]}
		  ]}}]}`,
	},
	{
		name: "telegram",
		cfg: func(base string) Config {
			return Config{Type: "telegram", Address: base, Token: "123:abc", Channel: "@ops"}
		},
		severity: eventv1.EventSeverityError,
		answer:   `{"ok": true, "result": {}}`,
		uri:      "/bot123:abc/sendMessage",
		body: `{"chat_id": "@ops", "parse_mode": "HTML", "disable_web_page_preview": true,
		  "text": "🚨 <b>Kustomization apps/webapp: ReconciliationFailed</b>\nkustomize build failed\nmissing resource\n\n<b>summary</b>: prod cluster\n<b>revision</b>: ` + rev + `"}`,
	},
	{
		name: "alertmanager",
		cfg: func(base string) Config {
			return Config{Type: "alertmanager", Address: base + "/api/v2/alerts", Token: "am-token"}
		},
		severity: eventv1.EventSeverityError,
		uri:      "/api/v2/alerts",
		headers:  map[string]string{"Authorization": "Bearer am-token"},
		body: `[{"labels": {
		    "alertname": "FluxKustomizationReconciliationFailed", "severity": "error", "reason": "ReconciliationFailed",
		    "kind": "Kustomization", "name": "webapp", "namespace": "apps", "reportingController": "kustomize-controller",
		    "revision": "` + rev + `"},
		  "annotations": {"message": "kustomize build failed\nmissing resource", "summary": "prod cluster"},
		  "startsAt": "2026-01-02T03:04:05Z"}]`,
	},
	{
		name: "grafana",
		cfg: func(base string) Config {
			return Config{Type: "grafana", Address: base + "/api/annotations", Username: "admin", Password: "pw"}
		},
		severity: eventv1.EventSeverityInfo,
		uri:      "/api/annotations",
		headers:  map[string]string{"Authorization": basic("admin", "pw")},
		body: `{"time": 1767323045000,
		  "text": "Kustomization apps/webapp: ReconciliationSucceeded\nApplied revision: main@sha1:` + testSHA + `",
		  "tags": ["flux", "kustomize-controller", "kind: Kustomization", "name: webapp", "namespace: apps",
		    "summary: prod cluster", "revision: ` + rev + `"]}`,
	},
	{
		name: "github success",
		cfg: func(base string) Config {
			return Config{Type: "github", Address: base + "/org/app.git", Token: "ghp", ProviderUID: "0c9c2e41-aaaa-bbbb"}
		},
		severity: eventv1.EventSeverityInfo,
		uri:      "/api/v3/repos/org/app/statuses/" + testSHA,
		headers: map[string]string{"Authorization": "Bearer ghp", "Accept": "application/vnd.github+json",
			"X-GitHub-Api-Version": "2022-11-28"},
		body: `{"state": "success", "context": "kustomization/webapp/0c9c2e41",
		  "description": "prod cluster - reconciliation succeeded: Applied revision: main@sha1:0123456789abcdef0123456789abcdef01234567"}`,
	},
	{
		name: "github failure",
		cfg: func(base string) Config {
			return Config{Type: "github", Address: base + "/org/app", Token: "ghp", ProviderUID: "0c9c2e41-aaaa-bbbb"}
		},
		severity: eventv1.EventSeverityError,
		uri:      "/api/v3/repos/org/app/statuses/" + testSHA,
		body: `{"state": "failure", "context": "kustomization/webapp/0c9c2e41",
		  "description": "prod cluster - reconciliation failed: kustomize build failed"}`,
	},
	{
		name: "gitlab failure",
		cfg: func(base string) Config {
			return Config{Type: "gitlab", Address: base + "/group/sub/app", Token: "glpat", ProviderUID: "0c9c2e41-aaaa"}
		},
		severity: eventv1.EventSeverityError,
		uri:      "/api/v4/projects/group%2Fsub%2Fapp/statuses/" + testSHA,
		headers:  map[string]string{"PRIVATE-TOKEN": "glpat"},
		body: `{"state": "failed", "name": "kustomization/webapp/0c9c2e41",
		  "description": "prod cluster - reconciliation failed: kustomize build failed"}`,
	},
	{
		name: "gitea success",
		cfg: func(base string) Config {
			return Config{Type: "gitea", Address: base + "/org/app", Token: "gt", ProviderUID: "0c9c2e41-aaaa"}
		},
		severity: eventv1.EventSeverityInfo,
		uri:      "/api/v1/repos/org/app/statuses/" + testSHA,
		headers:  map[string]string{"Authorization": "token gt"},
		body: `{"state": "success", "context": "kustomization/webapp/0c9c2e41",
		  "description": "prod cluster - reconciliation succeeded: Applied revision: main@sha1:0123456789abcdef0123456789abcdef01234567"}`,
	},
	{
		name: "bitbucket failure",
		cfg: func(base string) Config {
			return Config{Type: "bitbucket", Address: base + "/ws/app.git", Token: "me:app-pass", ProviderUID: "0c9c2e41-aaaa"}
		},
		severity: eventv1.EventSeverityError,
		uri:      "/2.0/repositories/ws/app/commit/" + testSHA + "/statuses/build",
		headers:  map[string]string{"Authorization": basic("me", "app-pass")},
		check: func(g Gomega, c captured) {
			var body map[string]string
			g.Expect(json.Unmarshal(c.Body, &body)).To(Succeed())
			g.Expect(body).To(HaveLen(5))
			g.Expect(body["state"]).To(Equal("FAILED"))
			g.Expect(body["key"]).To(MatchRegexp("^[0-9a-f]{40}$"))
			g.Expect(body["name"]).To(Equal("kustomization/webapp/0c9c2e41"))
			g.Expect(body["url"]).To(HaveSuffix("/ws/app"))
			g.Expect(body["description"]).To(Equal("prod cluster - reconciliation failed: kustomize build failed"))
		},
	},
}

func mustJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(data)
}

// TestPayloads posts an event through every provider type to a loopback sink
// and checks the request is exactly what the real service accepts.
func TestPayloads(t *testing.T) {
	for _, tc := range append(payloadCases, fluxParityCases...) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			s := newSink(t, http.StatusOK, tc.answer)
			n, err := New(tc.cfg(s.URL))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(n.Post(context.Background(), testEvent(tc.severity))).To(Succeed())

			reqs := s.requests()
			g.Expect(reqs).To(HaveLen(1))
			c := reqs[0]
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			g.Expect(c.Method).To(Equal(method))
			g.Expect(c.URI).To(Equal(tc.uri))
			for k, v := range tc.headers {
				g.Expect(c.Header.Get(k)).To(Equal(v), k)
			}
			if tc.body != "" {
				g.Expect(string(c.Body)).To(MatchJSON(tc.body))
			}
			if tc.check != nil {
				tc.check(g, c)
			}
		})
	}
}

// TestMSTeamsConnectorFormat checks that an Office 365 connector address gets
// the legacy MessageCard, reaching the sink through the Provider's proxy.
func TestMSTeamsConnectorFormat(t *testing.T) {
	g := NewWithT(t)
	s := newSink(t, http.StatusOK, "1")
	proxy, err := parseProxy(s.URL)
	g.Expect(err).NotTo(HaveOccurred())
	n, err := New(Config{Type: "msteams", Address: "http://tenant.webhook.office.com/webhookb2/x", Proxy: proxy})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(n.Post(context.Background(), testEvent(eventv1.EventSeverityError))).To(Succeed())
	c := s.requests()[0]
	g.Expect(c.Host).To(Equal("tenant.webhook.office.com"))
	g.Expect(string(c.Body)).To(MatchJSON(`{
	  "@type": "MessageCard", "@context": "https://schema.org/extensions", "themeColor": "A30200",
	  "summary": "Kustomization apps/webapp: ReconciliationFailed",
	  "sections": [{"activityTitle": "Kustomization apps/webapp", "activitySubtitle": "ReconciliationFailed",
	    "text": "kustomize build failed\nmissing resource", "markdown": false,
	    "facts": [{"name": "summary", "value": "prod cluster"}, {"name": "revision", "value": "` + rev + `"}]}]}`))
}

// TestServiceLevelFailures checks the APIs that answer 200 with a failure in
// the body are reported as errors that no retry fixes.
func TestServiceLevelFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer string
		cfg    func(string) Config
	}{
		{"slack", `{"ok": false, "error": "channel_not_found"}`, func(b string) Config {
			return Config{Type: "slack", Address: b, Token: "xoxb", Channel: "nope"}
		}},
		{"telegram", `{"ok": false, "description": "chat not found"}`, func(b string) Config {
			return Config{Type: "telegram", Address: b, Token: "1:x", Channel: "@nope"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			s := newSink(t, http.StatusOK, tc.answer)
			n, err := New(tc.cfg(s.URL))
			g.Expect(err).NotTo(HaveOccurred())
			err = n.Post(context.Background(), testEvent(eventv1.EventSeverityInfo))
			g.Expect(err).To(HaveOccurred())
			g.Expect(IsRetryable(err)).To(BeFalse())
			g.Expect(strings.ToLower(err.Error())).To(ContainSubstring("not"))
		})
	}
}
