package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	. "github.com/onsi/gomega"
)

// markdownInfo and markdownError are the Markdown message of the test
// events, as the Markdown chats show it.
const (
	markdownInfo = "✅ **Kustomization apps/webapp: ReconciliationSucceeded**\nApplied revision: main@sha1:" + testSHA +
		"\n\n**summary**: prod cluster\n**revision**: " + rev
	markdownError = "🚨 **Kustomization apps/webapp: ReconciliationFailed**\nkustomize build failed\nmissing resource" +
		"\n\n**summary**: prod cluster\n**revision**: " + rev
)

// fluxParityCases are the provider types Flux users have in their
// repositories beyond the first set, each posting one event to a sink.
var fluxParityCases = []payloadCase{
	{
		name: "pagerduty trigger",
		cfg: func(base string) Config {
			return Config{Type: "pagerduty", Address: base + "/ignored/path", Channel: "R0UT1NG"}
		},
		severity: eventv1.EventSeverityError,
		uri:      "/v2/enqueue",
		body: `{"routing_key": "R0UT1NG", "event_action": "trigger", "dedup_key": "Kustomization/apps/webapp",
		  "payload": {"summary": "Kustomization apps/webapp: ReconciliationFailed", "source": "Flux kustomize-controller",
		    "severity": "error", "timestamp": "2026-01-02T03:04:05Z", "component": "webapp", "group": "Kustomization",
		    "custom_details": {"message": "kustomize build failed\nmissing resource",
		      "metadata": {"revision": "` + rev + `", "summary": "prod cluster"}}}}`,
	},
	{
		name: "opsgenie",
		cfg: func(base string) Config {
			return Config{Type: "opsgenie", Address: base + "/v2/alerts", Token: "genie"}
		},
		severity: eventv1.EventSeverityError,
		uri:      "/v2/alerts",
		headers:  map[string]string{"Authorization": "GenieKey genie", "Content-Type": "application/json"},
		body: `{"message": "Kustomization/webapp", "description": "kustomize build failed\nmissing resource",
		  "details": {"revision": "` + rev + `", "summary": "prod cluster", "severity": "error"}}`,
	},
	{
		name: "datadog",
		cfg: func(base string) Config {
			return Config{Type: "datadog", Address: base, Token: "dd-key"}
		},
		severity: eventv1.EventSeverityInfo,
		uri:      "/api/v1/events",
		headers:  map[string]string{"DD-API-KEY": "dd-key"},
		body: `{"title": "Events from the Kustomization webapp/apps",
		  "text": "Applied revision: main@sha1:` + testSHA + `",
		  "tags": ["flux_reporting_controller:kustomize-controller", "flux_reason:reconciliationsucceeded",
		    "kube_kind:kustomization", "kube_name:webapp", "kube_namespace:apps",
		    "summary:prod cluster", "revision:` + rev + `"],
		  "source_type_name": "fluxcd", "date_happened": 1767323045, "alert_type": "info"}`,
	},
	{
		name: "webex",
		cfg: func(base string) Config {
			return Config{Type: "webex", Address: base + "/v1/messages", Channel: "room-1", Token: "bot-token"}
		},
		severity: eventv1.EventSeverityInfo,
		uri:      "/v1/messages",
		headers:  map[string]string{"Authorization": "Bearer bot-token"},
		body:     mustJSON(map[string]string{"roomId": "room-1", "markdown": markdownInfo}),
	},
	{
		name: "matrix",
		cfg: func(base string) Config {
			return Config{Type: "matrix", Address: base, Channel: "!room:example.org", Token: "mx-token"}
		},
		severity: eventv1.EventSeverityError,
		method:   http.MethodPut,
		// The transaction id is the start of the event's SHA-256, so a
		// retried delivery reuses it.
		uri:     "/_matrix/client/v3/rooms/!room:example.org/send/m.room.message/" + eventDigest(eventv1.EventSeverityError),
		headers: map[string]string{"Authorization": "Bearer mx-token"},
		body:    mustJSON(map[string]string{"msgtype": "m.text", "body": markdownError}),
	},
	{
		name: "lark",
		cfg: func(base string) Config {
			return Config{Type: "lark", Address: base + "/open-apis/bot/v2/hook/abc"}
		},
		severity: eventv1.EventSeverityError,
		answer:   `{"code": 0, "msg": "success"}`,
		uri:      "/open-apis/bot/v2/hook/abc",
		body: `{"msg_type": "interactive", "card": {
		  "config": {"wide_screen_mode": true},
		  "header": {"title": {"tag": "plain_text", "content": "Kustomization apps/webapp: ReconciliationFailed"}, "template": "red"},
		  "elements": [{"tag": "div", "text": {"tag": "lark_md",
		    "content": "kustomize build failed\nmissing resource\n**summary**: prod cluster\n**revision**: ` + rev + `"}}]}}`,
	},
	{
		name: "zulip",
		cfg: func(base string) Config {
			return Config{Type: "zulip", Address: base + "/anything", Channel: "ops/flux", Username: "bot@example.org", Password: "api-key"}
		},
		severity: eventv1.EventSeverityInfo,
		uri:      "/api/v1/messages",
		headers: map[string]string{"Authorization": basic("bot@example.org", "api-key"),
			"Content-Type": "application/x-www-form-urlencoded"},
		check: func(g Gomega, c captured) {
			form, err := url.ParseQuery(string(c.Body))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(form).To(Equal(url.Values{"type": {"stream"}, "to": {"ops"}, "topic": {"flux"}, "content": {markdownInfo}}))
		},
	},
	{
		name: "sentry error",
		cfg: func(base string) Config {
			return Config{Type: "sentry", Address: strings.Replace(base, "://", "://pubkey@", 1) + "/42", Channel: "production"}
		},
		severity: eventv1.EventSeverityError,
		uri:      "/api/42/envelope/",
		headers: map[string]string{"Content-Type": "application/x-sentry-envelope",
			"X-Sentry-Auth": "Sentry sentry_version=7, sentry_client=ferry-notification-controller/1.0, sentry_key=pubkey"},
		check: func(g Gomega, c captured) {
			lines := strings.Split(strings.TrimSuffix(string(c.Body), "\n"), "\n")
			g.Expect(lines).To(HaveLen(3))
			var header, item map[string]any
			g.Expect(json.Unmarshal([]byte(lines[0]), &header)).To(Succeed())
			g.Expect(json.Unmarshal([]byte(lines[1]), &item)).To(Succeed())
			g.Expect(item).To(Equal(map[string]any{"type": "event", "length": float64(len(lines[2]))}))
			var ev map[string]any
			g.Expect(json.Unmarshal([]byte(lines[2]), &ev)).To(Succeed())
			g.Expect(ev["event_id"]).To(MatchRegexp("^[0-9a-f]{32}$"))
			g.Expect(header["event_id"]).To(Equal(ev["event_id"]))
			delete(ev, "event_id")
			g.Expect(ev).To(Equal(map[string]any{
				"timestamp": "2026-01-02T03:04:05Z", "level": "error", "platform": "other",
				"server_name": "kustomize-controller", "transaction": "Kustomization: apps/webapp",
				"environment": "production", "message": map[string]any{"formatted": "kustomize build failed\nmissing resource"},
				"tags": map[string]any{"flux_involved_object_kind": "Kustomization", "flux_involved_object_namespace": "apps",
					"flux_involved_object_name": "webapp", "flux_reporting_controller": "kustomize-controller",
					"flux_reason": "ReconciliationFailed"},
				"extra": map[string]any{"revision": rev, "summary": "prod cluster"},
			}))
		},
	},
	{
		name: "sentry info is a transaction",
		cfg: func(base string) Config {
			return Config{Type: "sentry", Address: strings.Replace(base, "://", "://pubkey@", 1) + "/sentry/7"}
		},
		severity: eventv1.EventSeverityInfo,
		uri:      "/sentry/api/7/envelope/",
		check: func(g Gomega, c captured) {
			lines := strings.Split(strings.TrimSuffix(string(c.Body), "\n"), "\n")
			g.Expect(lines).To(HaveLen(3))
			g.Expect(lines[1]).To(ContainSubstring(`"type":"transaction"`))
			var ev map[string]any
			g.Expect(json.Unmarshal([]byte(lines[2]), &ev)).To(Succeed())
			g.Expect(ev["type"]).To(Equal("transaction"))
			g.Expect(ev["start_timestamp"]).To(Equal("2026-01-02T03:04:05Z"))
			g.Expect(ev).NotTo(HaveKey("level"))
			g.Expect(ev["tags"]).To(HaveKeyWithValue("revision", rev))
			g.Expect(ev["contexts"]).To(HaveKeyWithValue("trace", HaveKeyWithValue("trace_id", MatchRegexp("^[0-9a-f]{32}$"))))
		},
	},
	{
		name: "githubdispatch",
		cfg: func(base string) Config {
			return Config{Type: "githubdispatch", Address: base + "/org/app", Token: "ghp"}
		},
		severity: eventv1.EventSeverityInfo,
		uri:      "/api/v3/repos/org/app/dispatches",
		headers: map[string]string{"Authorization": "Bearer ghp", "Accept": "application/vnd.github+json",
			"X-GitHub-Api-Version": "2022-11-28"},
		body: `{"event_type": "Kustomization/webapp.apps", "client_payload": ` + mustJSON(testEvent(eventv1.EventSeverityInfo)) + `}`,
	},
	{
		name: "bitbucketserver token",
		cfg: func(base string) Config {
			return Config{Type: "bitbucketserver", Address: base + "/bitbucket/scm/PROJ/app.git", Token: "bb-token", ProviderUID: "0c9c2e41-aaaa"}
		},
		severity: eventv1.EventSeverityError,
		uri:      "/bitbucket/rest/api/latest/projects/PROJ/repos/app/commits/" + testSHA + "/builds",
		headers:  map[string]string{"Authorization": "Bearer bb-token", "X-Atlassian-Token": "no-check"},
		check: func(g Gomega, c captured) {
			var body map[string]string
			g.Expect(json.Unmarshal(c.Body, &body)).To(Succeed())
			g.Expect(body).To(HaveLen(5))
			g.Expect(body["state"]).To(Equal("FAILED"))
			g.Expect(body["key"]).To(MatchRegexp("^[0-9a-f]{40}$"))
			g.Expect(body["name"]).To(Equal("kustomization/webapp/0c9c2e41"))
			g.Expect(body["url"]).To(HaveSuffix("/bitbucket/scm/PROJ/app.git"))
			g.Expect(body["description"]).To(Equal("prod cluster - reconciliation failed: kustomize build failed"))
		},
	},
	{
		name: "bitbucketserver basic auth",
		cfg: func(base string) Config {
			return Config{Type: "bitbucketserver", Address: base + "/scm/PROJ/app.git", Username: "me", Password: "pw"}
		},
		severity: eventv1.EventSeverityInfo,
		uri:      "/rest/api/latest/projects/PROJ/repos/app/commits/" + testSHA + "/builds",
		headers:  map[string]string{"Authorization": basic("me", "pw")},
	},
	{
		name: "azuredevops",
		cfg: func(base string) Config {
			return Config{Type: "azuredevops", Address: base + "/org/proj/_git/app", Token: "pat", ProviderUID: "0c9c2e41-aaaa"}
		},
		severity: eventv1.EventSeverityError,
		uri:      "/org/proj/_apis/git/repositories/app/commits/" + testSHA + "/statuses?api-version=6.0",
		headers:  map[string]string{"Authorization": basic("", "pat")},
		body: `{"state": "error", "description": "prod cluster - reconciliation failed: kustomize build failed",
		  "context": {"genre": "fluxcd", "name": "kustomization/webapp/0c9c2e41"}}`,
	},
}

// eventDigest is the hex of the first 16 bytes of the test event's SHA-256.
func eventDigest(severity string) string {
	sum := sha256.Sum256([]byte(mustJSON(testEvent(severity))))
	return hex.EncodeToString(sum[:16])
}

// TestPagerDutyInfoResolvesAndRecordsChange checks that an info event
// resolves the object's incident and is recorded as a change event, and
// that Progressing events send nothing.
func TestPagerDutyInfoResolvesAndRecordsChange(t *testing.T) {
	g := NewWithT(t)
	s := newSink(t, http.StatusAccepted, `{"status": "success"}`)
	n, err := New(Config{Type: "pagerduty", Address: s.URL, Channel: "R0UT1NG"})
	g.Expect(err).NotTo(HaveOccurred())
	progressing := testEvent(eventv1.EventSeverityInfo)
	progressing.Reason = "Progressing"
	g.Expect(n.Post(context.Background(), progressing)).To(Succeed())
	g.Expect(s.requests()).To(BeEmpty())

	g.Expect(n.Post(context.Background(), testEvent(eventv1.EventSeverityInfo))).To(Succeed())
	reqs := s.requests()
	g.Expect(reqs).To(HaveLen(2))
	g.Expect(reqs[0].URI).To(Equal("/v2/enqueue"))
	g.Expect(string(reqs[0].Body)).To(MatchJSON(`{"routing_key": "R0UT1NG", "event_action": "resolve", "dedup_key": "Kustomization/apps/webapp"}`))
	g.Expect(reqs[1].URI).To(Equal("/v2/change/enqueue"))
	g.Expect(string(reqs[1].Body)).To(MatchJSON(`{"routing_key": "R0UT1NG", "payload": {
	  "summary": "Kustomization apps/webapp: ReconciliationSucceeded", "source": "Flux kustomize-controller",
	  "timestamp": "2026-01-02T03:04:05Z",
	  "custom_details": {"message": "Applied revision: main@sha1:` + testSHA + `",
	    "metadata": {"revision": "` + rev + `", "summary": "prod cluster"}}}}`))
}

// TestFluxParityProvidersRefuseIncompleteConfig checks each new type names
// what is missing before any event is sent.
func TestFluxParityProvidersRefuseIncompleteConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Type: "pagerduty"}, "spec.channel"},
		{Config{Type: "opsgenie"}, "'token' key"},
		{Config{Type: "datadog"}, "'token' key"},
		{Config{Type: "webex", Token: "x"}, "room id"},
		{Config{Type: "matrix", Address: "https://matrix.example", Channel: "!r:x"}, "'token' key"},
		{Config{Type: "lark"}, "needs an address"},
		{Config{Type: "zulip", Address: "https://z.example", Channel: "ops", Username: "u", Password: "p"}, "<stream>/<topic>"},
		{Config{Type: "zulip", Address: "https://z.example", Channel: "ops/flux"}, "'username'"},
		{Config{Type: "sentry", Address: "https://sentry.example/42"}, "DSN"},
		{Config{Type: "githubdispatch", Address: "https://github.com/org/app"}, "'token' key"},
		{Config{Type: "bitbucketserver", Address: "https://bb.example/projects/PROJ/repos/app", Token: "x"}, "clone URL"},
		{Config{Type: "bitbucketserver", Address: "https://bb.example/scm/PROJ/app.git"}, "'username' and 'password'"},
		{Config{Type: "azuredevops", Address: "https://dev.azure.com/org/proj/app", Token: "x"}, "_git"},
		{Config{Type: "nats", Address: "nats://127.0.0.1:4222"}, "subject"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
}
