package e2e

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/ferrycd/ferry/cli/internal/events"
	"github.com/ferrycd/ferry/cli/internal/objects"
	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// TestReconcileExitCodes: a reconcile that ends Ready exits 0, one that
// ends not Ready exits 1 with the reason; --with-source brings in a new
// commit; --force recreates an object whose immutable field changed.
func TestReconcileExitCodes(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := ns + "/fleet.git"
	immutable := func(v string) string { return configMapYAML("frozen", v) + "immutable: true\n" }
	head, err := gitSrv.Commit(repo, "main", "apps", map[string]string{"apps/frozen.yaml": immutable("v1")})
	g.Expect(err).NotTo(HaveOccurred())
	apply(t, gitRepositoryYAML(ns, "fleet", gitSrv.URL(repo))+"---\n"+kustomizationYAML(ns, "apps", "./apps")+"---\n"+
		kustomizationYAML(ns, "bad", "./does-not-exist"))
	waitReady(t, objects.Kustomization, ns, "apps", "main@sha1:"+head)

	r := ferry(t, "reconcile", "ks", "apps", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(ContainSubstring("✔ Kustomization/apps ready"))
	g.Expect(r.err).To(ContainSubstring("► requesting a reconcile of Kustomization/" + ns + "/apps"))

	r = ferry(t, "reconcile", "ks", "bad", "-n", ns)
	g.Expect(r.code).To(Equal(1), r.all())
	g.Expect(r.err).To(ContainSubstring("✗ Kustomization/bad ended not ready"))
	g.Expect(r.err).To(ContainSubstring("does-not-exist"))

	r = ferry(t, "reconcile", "ks", "missing", "-n", ns)
	g.Expect(r.code).To(Equal(2))
	g.Expect(r.err).To(ContainSubstring("not found"))

	// An immutable change fails the normal apply; --with-source fetches it.
	next, err := gitSrv.Commit(repo, "main", "frozen v2", map[string]string{"apps/frozen.yaml": immutable("v2")})
	g.Expect(err).NotTo(HaveOccurred())
	r = ferry(t, "reconcile", "ks", "apps", "-n", ns, "--with-source")
	g.Expect(r.code).To(Equal(1), r.all())
	g.Expect(r.err).To(ContainSubstring("► requesting a reconcile of GitRepository/" + ns + "/fleet"))
	g.Expect(r.err).To(ContainSubstring("immutable"))

	// The diff shows the recreate a force would do.
	r = ferry(t, "diff", "ks", "apps", "-n", ns)
	g.Expect(r.code).To(Equal(1), r.all())
	g.Expect(r.out).To(ContainSubstring(fmt.Sprintf("! ConfigMap/%s/frozen replaced", ns)))
	g.Expect(r.out).To(ContainSubstring("the apply fails unless forced"))
	g.Expect(r.out).To(ContainSubstring("-  value: v1\n+  value: v2\n"))

	r = ferry(t, "reconcile", "ks", "apps", "-n", ns, "--force")
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(ContainSubstring("revision main@sha1:" + next))
	cm := configMapObj(ns, "frozen")
	get(t, cm)
	g.Expect(cm.Data["value"]).To(Equal("v2"))
	ks := &kustomizev1.Kustomization{}
	ks.Namespace, ks.Name = ns, "apps"
	get(t, ks)
	g.Expect(ks.Spec.Force).To(BeFalse(), "--force is one apply, not a spec change")
	g.Expect(ks.ForceRequested()).To(BeFalse(), "the force request was handled")
}

// TestReconcileHelmReleaseForce: --force sets forceAt, which the
// helm-controller handles with an upgrade of the unchanged release.
func TestReconcileHelmReleaseForce(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	installHello(t, ns)

	r := ferry(t, "reconcile", "hr", "hello", "-n", ns, "--force", "--with-source")
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.err).To(ContainSubstring("► requesting a reconcile of HelmChart/" + ns + "/" + ns + "-hello"))
	hr := &helmv2.HelmRelease{}
	hr.Namespace, hr.Name = ns, "hello"
	get(t, hr)
	g.Expect(hr.Status.LastHandledForceAt).NotTo(BeEmpty())
	g.Expect(hr.Status.LastHandledForceAt).To(Equal(hr.Status.LastHandledReconcileAt))
	g.Expect(hr.Status.History[0].Version).To(Equal(2), "a forced upgrade makes a new release version")
}

// TestSuspendResume: suspend stops a new commit from being applied and
// shows in get; resume applies it and waits for the outcome.
func TestSuspendResume(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := ns + "/fleet.git"
	head, err := gitSrv.Commit(repo, "main", "apps", map[string]string{"apps/web.yaml": configMapYAML("web", "v1")})
	g.Expect(err).NotTo(HaveOccurred())
	apply(t, gitRepositoryYAML(ns, "fleet", gitSrv.URL(repo))+"---\n"+kustomizationYAML(ns, "apps", "./apps"))
	waitReady(t, objects.Kustomization, ns, "apps", "main@sha1:"+head)

	r := ferry(t, "suspend", "ks", "apps", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	r = ferry(t, "get", "ks", "apps", "-n", ns)
	g.Expect(r.out).To(MatchRegexp(`Kustomization/apps\s+True\s+main@sha1:` + head + `\s+true`))

	next, err := gitSrv.Commit(repo, "main", "web v2", map[string]string{"apps/web.yaml": configMapYAML("web", "v2")})
	g.Expect(err).NotTo(HaveOccurred())
	r = ferry(t, "reconcile", "source", "git", "fleet", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(ContainSubstring("revision main@sha1:" + next))
	web := configMapObj(ns, "web")
	get(t, web)
	g.Expect(web.Data["value"]).To(Equal("v1"), "a suspended Kustomization applies nothing")

	r = ferry(t, "resume", "ks", "apps", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(ContainSubstring("revision main@sha1:" + next))
	get(t, web)
	g.Expect(web.Data["value"]).To(Equal("v2"))
	obj, err := objects.Get(t.Context(), testCluster.Client, objects.Kustomization, ns, "apps")
	g.Expect(err).NotTo(HaveOccurred())
	suspended, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend")
	g.Expect(suspended).To(BeFalse())

	// The controllers' events of the object, oldest first.
	r = ferry(t, "events", "ks", "apps", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(MatchRegexp(`(?m)^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$`))
	g.Expect(r.out).To(ContainSubstring("Kustomization/apps"))
	object := func(o string) string { return `(?m)^\S+\s+\S+\s+\S+\s+` + o + `\s` }
	g.Expect(r.out).To(MatchRegexp(object("Kustomization/apps")))
	g.Expect(r.out).NotTo(MatchRegexp(object("GitRepository/fleet")))
	r = ferry(t, "events", "-n", ns)
	g.Expect(r.out).To(MatchRegexp(object("GitRepository/fleet")))
}

// TestCheck: the CRDs are installed; the controllers run as processes
// here, not as Deployments, so check says so and exits 1.
func TestCheck(t *testing.T) {
	g := NewWithT(t)
	r := ferry(t, "check")
	g.Expect(r.code).To(Equal(1), r.all())
	g.Expect(r.out).To(ContainSubstring("✔ kustomizations.kustomize.toolkit.fluxcd.io (served v1, stored v1)"))
	g.Expect(r.out).To(ContainSubstring("✔ helmreleases.helm.toolkit.fluxcd.io"))
	g.Expect(r.out).To(ContainSubstring("problem: no source-controller Deployment in ferry-system or flux-system"))
	r = ferry(t, "version")
	g.Expect(r.code).To(Equal(0))
	g.Expect(r.out).To(HavePrefix("ferry "))
	r = ferry(t, "completion", "bash")
	g.Expect(r.code).To(Equal(0))
	g.Expect(r.out).To(ContainSubstring("__start_ferry"))
}

// TestEventsWatch: a watch from the listed events' resourceVersion
// delivers the event of a later apply, and only events of the object.
func TestEventsWatch(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := ns + "/fleet.git"
	head, err := gitSrv.Commit(repo, "main", "apps", map[string]string{"apps/web.yaml": configMapYAML("web", "v1")})
	g.Expect(err).NotTo(HaveOccurred())
	apply(t, gitRepositoryYAML(ns, "fleet", gitSrv.URL(repo))+"---\n"+kustomizationYAML(ns, "apps", "./apps"))
	waitReady(t, objects.Kustomization, ns, "apps", "main@sha1:"+head)

	cs, err := kubernetes.NewForConfig(testCluster.Config)
	g.Expect(err).NotTo(HaveOccurred())
	f := events.Filter{Namespace: ns, Kind: objects.Kustomization, Name: "apps"}
	_, rv, err := events.List(t.Context(), cs, f)
	g.Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	seen := make(chan string, 16)
	done := make(chan error, 1)
	go func() {
		done <- events.Watch(ctx, cs, f, rv, func(e *corev1.Event) error {
			seen <- e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name + ": " + e.Message
			return nil
		})
	}()
	_, err = gitSrv.Commit(repo, "main", "web v2", map[string]string{"apps/web.yaml": configMapYAML("web", "v2")})
	g.Expect(err).NotTo(HaveOccurred())
	r := ferry(t, "reconcile", "ks", "apps", "-n", ns, "--with-source")
	g.Expect(r.code).To(Equal(0), r.all())
	g.Eventually(seen, timeout).Should(Receive(Equal(fmt.Sprintf("Kustomization/apps: ConfigMap/%s/web configured", ns))))
	cancel()
	g.Eventually(done, timeout).Should(Receive(BeNil()))
}
