package objects

import (
	"bytes"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func TestSortPutsFailingFirst(t *testing.T) {
	g := NewWithT(t)
	items := []Summary{
		{Namespace: "a", Kind: "Kustomization", Name: "ok", Ready: ReadyTrue},
		{Namespace: "b", Kind: "HelmRelease", Name: "progressing", Ready: ReadyUnknown},
		{Namespace: "b", Kind: "Kustomization", Name: "broken", Ready: ReadyFalse},
		{Namespace: "a", Kind: "GitRepository", Name: "src", Ready: ReadyTrue},
		{Namespace: "z", Kind: "Kustomization", Name: "stalled", Ready: ReadyUnknown, Stalled: true},
	}
	Sort(items)
	var got []string
	for _, s := range items {
		got = append(got, s.Namespace+"/"+s.Ref())
	}
	g.Expect(got).To(Equal([]string{
		"b/Kustomization/broken", "z/Kustomization/stalled", "b/HelmRelease/progressing",
		"a/GitRepository/src", "a/Kustomization/ok",
	}))
}

func TestSelector(t *testing.T) {
	items := []Summary{
		{Name: "ok", Ready: ReadyTrue},
		{Name: "bad", Ready: ReadyFalse},
		{Name: "bad-suspended", Ready: ReadyFalse, Suspended: true},
		{Name: "new", Ready: ReadyUnknown},
	}
	for _, tc := range []struct {
		sel  string
		want []string
		err  string
	}{
		{sel: "", want: []string{"ok", "bad", "bad-suspended", "new"}},
		{sel: "ready=false", want: []string{"bad", "bad-suspended"}},
		{sel: "Ready=False,suspended=false", want: []string{"bad"}},
		{sel: "ready=unknown", want: []string{"new"}},
		{sel: "suspended=1", want: []string{"bad-suspended"}},
		{sel: "ready", err: "want key=value"},
		{sel: "ready=maybe", err: "true, false or unknown"},
		{sel: "color=red", err: "unknown key"},
	} {
		t.Run(tc.sel, func(t *testing.T) {
			g := NewWithT(t)
			sel, err := ParseSelector(tc.sel)
			if tc.err != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.err)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			var got []string
			for _, s := range sel.Filter(items) {
				got = append(got, s.Name)
			}
			g.Expect(got).To(Equal(tc.want))
		})
	}
}

func obj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	// Decoded as the client decodes API responses, so numbers are int64.
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSummarize reads the status as Flux's controllers write it.
func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want Summary
	}{{
		name: "git repository",
		yaml: `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: podinfo, namespace: flux-system, generation: 2}
spec: {suspend: true}
status:
  observedGeneration: 2
  artifact: {revision: main@sha1:abc}
  conditions:
  - {type: Ready, status: "True", reason: Succeeded, message: stored artifact}`,
		want: Summary{Namespace: "flux-system", Kind: "GitRepository", Name: "podinfo", Ready: ReadyTrue,
			Reason: "Succeeded", Message: "stored artifact", Revision: "main@sha1:abc", Suspended: true,
			Generation: 2, ObservedGeneration: 2},
	}, {
		name: "failing kustomization without applied revision",
		yaml: `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: ns}
status:
  lastAttemptedRevision: main@sha1:def
  conditions:
  - {type: Ready, status: "False", reason: BuildFailed, message: "kustomize build failed"}
  - {type: Stalled, status: "True", reason: BuildFailed}`,
		want: Summary{Namespace: "ns", Kind: "Kustomization", Name: "apps", Ready: ReadyFalse,
			Reason: "BuildFailed", Message: "kustomize build failed", Revision: "main@sha1:def", Stalled: true},
	}, {
		name: "sync policy state joins the Ready message",
		yaml: `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: ns}
status:
  lastAppliedRevision: main@sha1:abc
  retries: 2
  nextRetryAt: "2026-12-07T10:00:00Z"
  conditions:
  - {type: Ready, status: "True", reason: ReconciliationSucceeded, message: "Applied revision: main@sha1:abc"}
  - {type: SyncWindow, status: "True", reason: SyncWindowBlocked, message: "sync blocked: denied by active window ns/freeze"}
  - {type: Drifted, status: "True", reason: OutOfSync, message: "ConfigMap/ns/cm: .data.key"}`,
		want: Summary{Namespace: "ns", Kind: "Kustomization", Name: "apps", Ready: ReadyTrue, Reason: "ReconciliationSucceeded",
			Message:  "Applied revision: main@sha1:abc; sync blocked: denied by active window ns/freeze; drifted: ConfigMap/ns/cm: .data.key; retry 2 at 2026-12-07T10:00:00Z",
			Revision: "main@sha1:abc"},
	}, {
		name: "helm release shows its chart version",
		yaml: `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: ns}
status:
  history: [{chartVersion: 1.2.3}, {chartVersion: 1.2.2}]
  conditions:
  - {type: Reconciling, status: "True", reason: Progressing}`,
		want: Summary{Namespace: "ns", Kind: "HelmRelease", Name: "web", Ready: ReadyUnknown,
			Revision: "1.2.3", Reconciling: true},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(Summarize(obj(t, tc.yaml))).To(Equal(tc.want))
		})
	}
}

func TestResolve(t *testing.T) {
	g := NewWithT(t)
	for name, want := range map[string]string{"ks": "Kustomization", "HelmRelease": "HelmRelease",
		"gitrepositories": "GitRepository", "hc": "HelmChart", "OCIREPO": "OCIRepository"} {
		k, err := Lookup(name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(k.Kind).To(Equal(want))
	}
	_, err := Lookup("deployment")
	g.Expect(err).To(HaveOccurred())
	srcs, err := Resolve("sources")
	g.Expect(err).NotTo(HaveOccurred())
	for _, k := range srcs {
		g.Expect(k.Source).To(BeTrue())
	}
	all, _ := Resolve("all")
	g.Expect(all).To(HaveLen(len(Kinds)))
}

func TestPrintTable(t *testing.T) {
	g := NewWithT(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var b bytes.Buffer
	g.Expect(PrintTable(&b, []Summary{{Namespace: "ns", Kind: "Kustomization", Name: "apps", Ready: ReadyFalse,
		Message: "line one\nline two", Created: now.Add(-3 * time.Hour)}}, true, now)).To(Succeed())
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	g.Expect(lines).To(HaveLen(2))
	g.Expect(lines[0]).To(MatchRegexp(`^NAMESPACE\s+KIND/NAME\s+READY\s+REVISION\s+SUSPENDED\s+AGE\s+MESSAGE$`))
	g.Expect(lines[1]).To(MatchRegexp(`^ns\s+Kustomization/apps\s+False\s+false\s+3h\s+line one line two$`))
}
