package kustomization

import (
	"context"
	"sort"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/test/suite"
)

// requests counts what the reconcilers send to the API server, by
// namespace, so parallel tests each see their own: TestMain wraps the
// manager's transport with it.
var requests = suite.NewRequests()

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

	mark := requests.Mark(ns)
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")
	g.Eventually(func() []string { return events(t, ns, "Progressing") }, timeout).Should(HaveLen(1))
	created := requests.Since(ns, mark)
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
		mark := requests.Mark(ns)
		requestAndWait(t, k)
		g.Expect(requests.Since(ns, mark)).To(Equal([]string{"patch kustomizations/status"}))
	}, timeout).Should(Succeed())

	// One object changed: a dry-run and an apply of it, reported configured.
	mark = requests.Mark(ns)
	files["b.yaml"] = configMap("b", "2")
	publish(t, ns, "repo", "main@sha1:2", files)
	waitApplied(t, k, "main@sha1:2")
	g.Eventually(func() []string { return events(t, ns, "Progressing") }, timeout).Should(HaveLen(2))
	g.Expect(requests.Since(ns, mark)).To(Equal([]string{
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
