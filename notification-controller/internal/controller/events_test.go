package controller

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrycd/ferry/notification-controller/internal/httpserver"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// TestAlertFiltering runs events through the real endpoint and cache and
// checks which Alerts forward them: by severity, by source (name, labels,
// namespace) and by message. Each Alert has its own Provider and sink, and a
// last event that every Alert but one accepts marks the end of each sink's
// stream, since a Provider receives in order.
func TestAlertFiltering(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	apps, ops := newNamespace(t), newNamespace(t)
	create(t, newGitRepository(apps, "webapp", map[string]string{"team": "a"}), newGitRepository(apps, "api", map[string]string{"team": "b"}))

	sinks := map[string]*sink{}
	alerts := map[string]*notificationv1.Alert{
		"all":    newAlert(apps, "all", "all"),
		"errors": newAlert(apps, "errors", "errors", func(a *notificationv1.Alert) { a.Spec.EventSeverity = "error" }),
		"labels": newAlert(apps, "labels", "labels", func(a *notificationv1.Alert) {
			a.Spec.EventSources[0].MatchLabels = map[string]string{"team": "a"}
		}),
		"include": newAlert(apps, "include", "include", func(a *notificationv1.Alert) { a.Spec.InclusionList = []string{"^fetch"} }),
		"exclude": newAlert(apps, "exclude", "exclude", func(a *notificationv1.Alert) { a.Spec.ExclusionList = []string{"^stored"} }),
		"named":   newAlert(apps, "named", "named", func(a *notificationv1.Alert) { a.Spec.EventSources[0].Name = "api" }),
		"cross-explicit": newAlert(ops, "cross-explicit", "cross-explicit", func(a *notificationv1.Alert) {
			a.Spec.EventSources[0].Namespace = apps
		}),
		"cross-implicit": newAlert(ops, "cross-implicit", "cross-implicit"),
	}
	for name, a := range alerts {
		sinks[name] = newSink(t, http.StatusOK)
		create(t, a, newProvider(a.Namespace, name, "generic", sinks[name].URL))
	}
	waitCached(t, apps, 6, 6)
	waitCached(t, ops, 2, 2)

	for _, e := range []eventv1.Event{
		gitRepoEvent(apps, "webapp", "info", "stored webapp", "main@sha1:1"),
		gitRepoEvent(apps, "api", "info", "stored api", "main@sha1:2"),
		gitRepoEvent(apps, "webapp", "error", "fetch failed", "main@sha1:3"),
	} {
		g.Expect(postEvent(t, e)).To(Equal(http.StatusAccepted))
	}
	// The end marker reaches every Alert but "named" and "cross-implicit".
	g.Expect(postEvent(t, gitRepoEvent(apps, "webapp", "error", "fetch end", "main@sha1:4"))).To(Equal(http.StatusAccepted))
	g.Expect(postEvent(t, gitRepoEvent(apps, "api", "error", "fetch api end", "main@sha1:5"))).To(Equal(http.StatusAccepted))

	want := map[string][]string{
		"all":            {"stored webapp", "stored api", "fetch failed", "fetch end", "fetch api end"},
		"errors":         {"fetch failed", "fetch end", "fetch api end"},
		"labels":         {"stored webapp", "fetch failed", "fetch end"},
		"include":        {"fetch failed", "fetch end", "fetch api end"},
		"exclude":        {"fetch failed", "fetch end", "fetch api end"},
		"named":          {"stored api", "fetch api end"},
		"cross-explicit": {"stored webapp", "stored api", "fetch failed", "fetch end", "fetch api end"},
	}
	for name, msgs := range want {
		g.Eventually(sinks[name].messages, timeout).Should(Equal(msgs), name)
	}
	g.Expect(sinks["cross-implicit"].count()).To(Equal(0), "an Alert sees another namespace only when a source names it")
}

// TestCommitStatus checks that Kustomization events set commit statuses on a
// GitHub-compatible and a GitLab-compatible API: success for a Normal event,
// failure for a Warning, on the commit of the revision.
func TestCommitStatus(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	github, gitlab := newSink(t, http.StatusCreated), newSink(t, http.StatusCreated)
	create(t,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "token"}, StringData: map[string]string{"token": "t0ken"}},
		newProvider(ns, "github", "github", github.URL+"/org/app", func(p *notificationv1.Provider) {
			p.Spec.SecretRef = &fluxmeta.LocalObjectReference{Name: "token"}
		}),
		newProvider(ns, "gitlab", "gitlab", gitlab.URL+"/group/app.git", func(p *notificationv1.Provider) {
			p.Spec.SecretRef = &fluxmeta.LocalObjectReference{Name: "token"}
		}),
	)
	for _, p := range []string{"github", "gitlab"} {
		create(t, newAlert(ns, p, p, func(a *notificationv1.Alert) {
			a.Spec.EventSources[0] = notificationv1.CrossNamespaceObjectReference{Kind: "Kustomization", Name: "webapp"}
		}))
	}
	waitCached(t, ns, 2, 2)

	sha := "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct{ severity, reason string }{
		{eventv1.EventSeverityInfo, "ReconciliationSucceeded"},
		{eventv1.EventSeverityError, "ReconciliationFailed"},
	} {
		e := eventv1.Event{
			InvolvedObject: corev1.ObjectReference{APIVersion: "kustomize.toolkit.fluxcd.io/v1", Kind: "Kustomization", Namespace: ns, Name: "webapp"},
			Severity:       tc.severity, Timestamp: metav1.Now(), Reason: tc.reason, Message: "applied",
			ReportingController: "kustomize-controller",
			Metadata:            map[string]string{"kustomize.toolkit.fluxcd.io/revision": "main@sha1:" + sha},
		}
		g.Expect(postEvent(t, e)).To(Equal(http.StatusAccepted))
	}
	g.Eventually(github.count, timeout).Should(Equal(2))
	g.Eventually(gitlab.count, timeout).Should(Equal(2))

	for i, state := range []string{"success", "failure"} {
		r := github.requests()[i]
		g.Expect(r.URI).To(Equal("/api/v3/repos/org/app/statuses/" + sha))
		g.Expect(r.Header.Get("Authorization")).To(Equal("Bearer t0ken"))
		var body map[string]string
		g.Expect(json.Unmarshal(r.Body, &body)).To(Succeed())
		g.Expect(body["state"]).To(Equal(state))
		g.Expect(body["context"]).To(HavePrefix("kustomization/webapp/"))
	}
	for i, state := range []string{"success", "failed"} {
		r := gitlab.requests()[i]
		g.Expect(r.URI).To(Equal("/api/v4/projects/group%2Fapp/statuses/" + sha))
		g.Expect(r.Header.Get("PRIVATE-TOKEN")).To(Equal("t0ken"))
		var body map[string]string
		g.Expect(json.Unmarshal(r.Body, &body)).To(Succeed())
		g.Expect(body["state"]).To(Equal(state))
	}
}

// TestEndpointOverHTTP checks the answers of the listening endpoint itself:
// limits, malformed input and duplicates.
func TestEndpointOverHTTP(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	g.Expect(postRaw(t, eventsURL, []byte("{nope"), nil)).To(Equal(http.StatusBadRequest))
	g.Expect(postRaw(t, eventsURL, bytes.Repeat([]byte(" "), httpserver.MaxBodyBytes+1), nil)).To(Equal(http.StatusRequestEntityTooLarge))

	e := gitRepoEvent(ns, "webapp", "info", "stored", "main@sha1:1")
	g.Expect(postEvent(t, e)).To(Equal(http.StatusAccepted))
	e.Timestamp = metav1.NewTime(time.Now().Add(time.Second))
	g.Expect(postEvent(t, e)).To(Equal(http.StatusTooManyRequests))
}
