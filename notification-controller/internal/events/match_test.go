package events

import (
	"context"
	"sort"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

func TestSourceSelects(t *testing.T) {
	obj := newEvent().InvolvedObject
	labels := func() map[string]string { return map[string]string{"team": "a", "tier": "web"} }
	noLabels := func() map[string]string { return nil }
	for _, tc := range []struct {
		name   string
		src    notificationv1.CrossNamespaceObjectReference
		alerNS string
		labels func() map[string]string
		want   bool
	}{
		{"by name", ref("GitRepository", "webapp", ""), "apps", noLabels, true},
		{"other name", ref("GitRepository", "api", ""), "apps", noLabels, false},
		{"other kind", ref("Kustomization", "webapp", ""), "apps", noLabels, false},
		{"wildcard", ref("GitRepository", "*", ""), "apps", noLabels, true},
		{"alert in other namespace without source namespace", ref("GitRepository", "*", ""), "ops", noLabels, false},
		{"alert in other namespace naming it", ref("GitRepository", "*", "apps"), "ops", noLabels, true},
		{"source names another namespace", ref("GitRepository", "webapp", "prod"), "apps", noLabels, false},
		{"all namespaces", ref("GitRepository", "*", "*"), "ops", noLabels, true},
		{"labels match", withLabels(ref("GitRepository", "*", ""), map[string]string{"team": "a"}), "apps", labels, true},
		{"labels differ", withLabels(ref("GitRepository", "*", ""), map[string]string{"team": "b"}), "apps", labels, false},
		{"label missing", withLabels(ref("GitRepository", "*", ""), map[string]string{"env": ""}), "apps", labels, false},
		{"object unreadable", withLabels(ref("GitRepository", "*", ""), map[string]string{"team": "a"}), "apps", noLabels, false},
	} {
		if got := sourceSelects(tc.src, tc.alerNS, obj, tc.labels); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func ref(kind, name, ns string) notificationv1.CrossNamespaceObjectReference {
	return notificationv1.CrossNamespaceObjectReference{Kind: kind, Name: name, Namespace: ns}
}

func withLabels(r notificationv1.CrossNamespaceObjectReference, l map[string]string) notificationv1.CrossNamespaceObjectReference {
	r.MatchLabels = l
	return r
}

func TestMessageAllowed(t *testing.T) {
	var p patternCache
	for _, tc := range []struct {
		name             string
		include, exclude []string
		msg              string
		want, wantErr    bool
	}{
		{name: "no lists", msg: "anything", want: true},
		{name: "included", include: []string{"^stored"}, msg: "stored artifact", want: true},
		{name: "not included", include: []string{"^failed", "timeout"}, msg: "stored artifact", want: false},
		{name: "excluded", exclude: []string{"artifact"}, msg: "stored artifact", want: false},
		{name: "included then excluded", include: []string{"stored"}, exclude: []string{"artifact$"}, msg: "stored artifact", want: false},
		{name: "not excluded", exclude: []string{"^no"}, msg: "stored artifact", want: true},
		{name: "bad inclusion", include: []string{"("}, msg: "x", wantErr: true},
		{name: "bad exclusion", exclude: []string{"[z-a]"}, msg: "x", wantErr: true},
	} {
		got, err := messageAllowed(&p, tc.include, tc.exclude, tc.msg)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s: got %v, %v", tc.name, got, err)
		}
	}
}

// TestMatchAlerts runs the matcher over a set of Alerts in a cache and checks
// which ones an event reaches.
func TestMatchAlerts(t *testing.T) {
	repo := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "webapp", Labels: map[string]string{"team": "a"}}}
	alerts := []*notificationv1.Alert{
		newAlert("apps", "all", "p"),
		newAlert("apps", "errors-only", "p", func(a *notificationv1.Alert) { a.Spec.EventSeverity = "error" }),
		newAlert("apps", "suspended", "p", func(a *notificationv1.Alert) { a.Spec.Suspend = true }),
		newAlert("apps", "other-kind", "p", func(a *notificationv1.Alert) { a.Spec.EventSources[0].Kind = "Kustomization" }),
		newAlert("apps", "team-a", "p", func(a *notificationv1.Alert) {
			a.Spec.EventSources[0].MatchLabels = map[string]string{"team": "a"}
		}),
		newAlert("apps", "team-b", "p", func(a *notificationv1.Alert) {
			a.Spec.EventSources[0].MatchLabels = map[string]string{"team": "b"}
		}),
		newAlert("apps", "include-fail", "p", func(a *notificationv1.Alert) { a.Spec.InclusionList = []string{"fail"} }),
		newAlert("apps", "exclude-stored", "p", func(a *notificationv1.Alert) { a.Spec.ExclusionList = []string{"^stored"} }),
		newAlert("apps", "bad-regexp", "p", func(a *notificationv1.Alert) { a.Spec.ExclusionList = []string{"("} }),
		newAlert("ops", "implicit-ns", "p"),
		newAlert("ops", "explicit-ns", "p", func(a *notificationv1.Alert) { a.Spec.EventSources[0].Namespace = "apps" }),
		newAlert("ops", "any-ns", "p", func(a *notificationv1.Alert) {
			a.Spec.EventSources = append(a.Spec.EventSources, ref("GitRepository", "*", "*"), ref("GitRepository", "webapp", "apps"))
		}),
	}
	objs := []client.Object{repo}
	for _, a := range alerts {
		objs = append(objs, a)
	}
	reader := newReader(objs...)

	run := func(noCross bool, e eventv1.Event) (names []string, warned []string) {
		t.Helper()
		m := &matcher{reader: reader, noCrossNamespaceRefs: noCross, log: logr.Discard(),
			warn: func(a *notificationv1.Alert, reason, _ string) { warned = append(warned, a.Name+":"+reason) }}
		in, err := decodeEvent(encode(t, e), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		targets, err := m.match(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range targets {
			names = append(names, tg.alert.Namespace+"/"+tg.alert.Name)
		}
		sort.Strings(names)
		return names, warned
	}

	g := NewWithT(t)
	names, warned := run(false, newEvent())
	g.Expect(names).To(Equal([]string{"apps/all", "apps/team-a", "ops/any-ns", "ops/explicit-ns"}))
	g.Expect(warned).To(Equal([]string{"bad-regexp:InvalidConfig"}))

	names, _ = run(false, newEvent(func(e *eventv1.Event) {
		e.Severity = eventv1.EventSeverityError
		e.Message = "fetch failed"
	}))
	g.Expect(names).To(Equal([]string{"apps/all", "apps/errors-only", "apps/exclude-stored", "apps/include-fail",
		"apps/team-a", "ops/any-ns", "ops/explicit-ns"}))

	names, _ = run(true, newEvent())
	g.Expect(names).To(Equal([]string{"apps/all", "apps/team-a"}))

	names, _ = run(false, newEvent(func(e *eventv1.Event) { e.InvolvedObject.Name = "missing" }))
	g.Expect(names).To(Equal([]string{"apps/all", "ops/any-ns", "ops/explicit-ns"}), "label selectors never match an object that cannot be read")
}

// TestNotificationMetadataPrecedence checks Flux's order: annotations, then
// the Alert's eventMetadata, then its summary, then the controller's keys.
func TestNotificationMetadataPrecedence(t *testing.T) {
	g := NewWithT(t)
	in, err := decodeEvent(encode(t, newEvent(func(e *eventv1.Event) {
		e.Metadata = map[string]string{
			"source.toolkit.fluxcd.io/revision": "from-controller",
			"event.toolkit.fluxcd.io/revision":  "from-annotation",
			"event.toolkit.fluxcd.io/team":      "from-annotation",
			"event.toolkit.fluxcd.io/env":       "from-annotation",
			"event.toolkit.fluxcd.io/summary":   "from-annotation",
		}
	})), time.Now())
	g.Expect(err).NotTo(HaveOccurred())
	a := newAlert("apps", "a", "p", func(a *notificationv1.Alert) {
		a.Spec.EventMetadata = map[string]string{"team": "from-alert", "revision": "from-alert", "summary": "from-alert"}
		a.Spec.Summary = "from-summary"
	})
	n := notificationFor(in, a)
	g.Expect(n.Metadata).To(Equal(map[string]string{
		"revision": "from-controller", "team": "from-alert", "env": "from-annotation", "summary": "from-summary",
	}))
	g.Expect(in.event.Metadata).To(BeNil(), "the shared event is not modified")
}
