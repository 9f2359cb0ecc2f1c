package kustomization

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// requests counts what the reconcilers send to the API server, by
// namespace, so parallel tests each see their own: TestMain wraps the
// manager's transport with it.
var requests = &requestCounter{byNamespace: map[string][]string{}}

type requestCounter struct {
	mu          sync.Mutex
	byNamespace map[string][]string
}

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if ns, what, ok := describeRequest(req); ok {
			c.mu.Lock()
			c.byNamespace[ns] = append(c.byNamespace[ns], what)
			c.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// describeRequest names a namespaced request as "<verb> <resource>[/<sub>]",
// the verb being apply, dry-run, patch, create, get, list, watch, delete.
func describeRequest(req *http.Request) (ns, what string, ok bool) {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	i := -1
	for j, p := range parts {
		if p == "namespaces" && j+2 < len(parts) {
			i = j
			break
		}
	}
	if i < 0 {
		return "", "", false
	}
	ns, rest := parts[i+1], parts[i+2:]
	resource := rest[0]
	if len(rest) > 2 {
		resource += "/" + rest[2]
	}
	verb := strings.ToLower(req.Method)
	switch {
	case req.Method == http.MethodPatch && req.URL.Query().Get("dryRun") != "":
		verb = "dry-run"
	case req.Method == http.MethodPatch && strings.Contains(req.Header.Get("Content-Type"), "apply-patch"):
		verb = "apply"
	case req.Method == http.MethodPost:
		verb = "create"
	case req.Method == http.MethodGet && req.URL.Query().Get("watch") != "":
		verb = "watch"
	case req.Method == http.MethodGet && len(rest) == 1:
		verb = "list"
	}
	return ns, verb + " " + resource, true
}

// since returns the requests made in ns from the mark on, sorted.
func (c *requestCounter) since(ns string, mark int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]string(nil), c.byNamespace[ns][mark:]...)
	sort.Strings(out)
	return out
}

func (c *requestCounter) mark(ns string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byNamespace[ns])
}

// TestRequestBudget holds the apply path to its request budget, counted on
// the wire: a new Kustomization of three objects costs its three applies,
// the finalizer, one status write and one event; a requested reconcile of
// an unchanged one costs one status write (lastHandledReconcileAt); a
// revision changing one of the three dry-runs and applies that one only.
func TestRequestBudget(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	files := map[string]string{"a.yaml": configMap("a", "1"), "b.yaml": configMap("b", "1"), "c.yaml": configMap("c", "1")}
	publish(t, ns, "repo", "main@sha1:1", files)
	k := newKustomization(ns, "app", "./", withTargetNamespace(ns))

	mark := requests.mark(ns)
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")
	g.Eventually(func() []string { return events(t, ns, "Progressing") }, timeout).Should(HaveLen(1))
	created := requests.since(ns, mark)
	g.Expect(created).To(HaveLen(6), "a new Kustomization of 3 objects: %v", created)
	g.Expect(created).To(Equal([]string{
		"apply configmaps", "apply configmaps", "apply configmaps",
		"create events", "patch kustomizations", "patch kustomizations/status",
	}))
	g.Expect(events(t, ns, "Progressing")[0]).To(Equal(strings.Join([]string{
		"ConfigMap/" + ns + "/a created", "ConfigMap/" + ns + "/b created", "ConfigMap/" + ns + "/c created"}, "\n")))

	// Unchanged: one status write, nothing else. Repeated until the drift
	// watch has seen the applied objects, as a reconcile compares with the
	// cluster until then.
	g.Eventually(func(g Gomega) {
		mark := requests.mark(ns)
		requestAndWait(t, k)
		g.Expect(requests.since(ns, mark)).To(Equal([]string{"patch kustomizations/status"}))
	}, timeout).Should(Succeed())

	// One object changed: a dry-run and an apply of it, reported configured.
	mark = requests.mark(ns)
	files["b.yaml"] = configMap("b", "2")
	publish(t, ns, "repo", "main@sha1:2", files)
	waitApplied(t, k, "main@sha1:2")
	g.Eventually(func() []string { return events(t, ns, "Progressing") }, timeout).Should(HaveLen(2))
	g.Expect(requests.since(ns, mark)).To(Equal([]string{
		"apply configmaps", "create events", "dry-run configmaps", "patch kustomizations/status",
	}))
	g.Expect(events(t, ns, "Progressing")).To(ContainElement("ConfigMap/" + ns + "/b configured"))
	cm, err := getConfigMap(ns, "b")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cm.Data["key"]).To(Equal("2"))
}

// events returns the messages of the events with reason in ns, oldest
// first.
func events(t *testing.T, ns, reason string) []string {
	t.Helper()
	var list corev1.EventList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(list.Items, func(i, j int) bool {
		return list.Items[i].CreationTimestamp.Before(&list.Items[j].CreationTimestamp)
	})
	var out []string
	for _, e := range list.Items {
		if e.Reason == reason && e.InvolvedObject.Kind == kustomizev1.KustomizationKind {
			out = append(out, e.Message)
		}
	}
	return out
}
