package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	policyv1 "github.com/ferrycd/ferry/pkg/apis/policy/v1alpha1"
)

// TestSyncWindowThroughTheBinaries freezes a namespace with a deny window
// written as a user writes it, checks that a new commit is held back with
// the SyncWindow condition while `kubectl get syncwindows` shows the window
// active, and that suspending the window (the emergency override) lets the
// commit through at once.
func TestSyncWindowThroughTheBinaries(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	repo := ns + "/fleet.git"
	_, err := gitSrv.Commit(repo, "main", "web v1", map[string]string{"apps/web.yaml": configMapYAML("web", "v1")})
	g.Expect(err).NotTo(HaveOccurred())
	src := gitRepository(ns, "fleet", repo)
	ks := kustomization(ns, "apps", "fleet", "./apps")
	g.Expect(testCluster.Client.Create(ctx, src)).To(Succeed())
	g.Expect(testCluster.Client.Create(ctx, ks)).To(Succeed())
	applied := func(g Gomega, value string) {
		web := &corev1.ConfigMap{}
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, web)).To(Succeed())
		g.Expect(web.Data["value"]).To(Equal(value))
	}
	g.Eventually(func(g Gomega) { applied(g, "v1") }, 60*time.Second, 200*time.Millisecond).Should(Succeed())

	window := `apiVersion: policy.ferrycd.io/v1alpha1
kind: SyncWindow
metadata:
  name: freeze
  namespace: ` + ns + `
spec:
  kind: deny
  schedule: "* * * * *"
  duration: 24h
  timeZone: Europe/Berlin
  selector:
    kinds: [Kustomization]
`
	_, err = testCluster.Kubectl([]byte(window), "apply", "-f", "-")
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func(g Gomega) {
		out, err := testCluster.Kubectl(nil, "get", "syncwindows", "-n", ns)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(ContainSubstring("freeze"))
		g.Expect(out).To(ContainSubstring("true"), out)
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())

	_, err = gitSrv.Commit(repo, "main", "web v2", map[string]string{"apps/web.yaml": configMapYAML("web", "v2")})
	g.Expect(err).NotTo(HaveOccurred())
	requestReconcile(t, src, "window")
	g.Eventually(func(g Gomega) {
		got := &kustomizev1.Kustomization{}
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKeyFromObject(ks), got)).To(Succeed())
		c := conditions.Get(got, policyv1.SyncWindowConditionType)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Message).To(ContainSubstring("denied by active window " + ns + "/freeze"))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Consistently(func(g Gomega) { applied(g, "v1") }, 3*time.Second, 200*time.Millisecond).Should(Succeed())
	out, err := testCluster.Kubectl(nil, "describe", "kustomization", "apps", "-n", ns)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(strings.Contains(out, "SyncWindow")).To(BeTrue(), out)

	_, err = testCluster.Kubectl(nil, "patch", "syncwindow", "freeze", "-n", ns, "--type=merge", "-p", `{"spec":{"suspend":true}}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func(g Gomega) { applied(g, "v2") }, 60*time.Second, 200*time.Millisecond).Should(Succeed())
}
