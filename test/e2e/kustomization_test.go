package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func configMapYAML(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  value: " + value + "\n"
}

// TestGitToClusterThroughTheBinaries drives a commit from the git server to
// the cluster through the source-controller and kustomize-controller
// processes under their own RBAC: apply, change, prune, the inventory `flux
// tree` walks, a reconcile request handled as `flux reconcile ks` waits for
// it, and suspend honoured at once.
func TestGitToClusterThroughTheBinaries(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	repo := ns + "/fleet.git"
	_, err := gitSrv.Commit(repo, "main", "apps", map[string]string{
		"apps/web.yaml": configMapYAML("web", "v1"),
		"apps/api.yaml": configMapYAML("api", "v1"),
	})
	g.Expect(err).NotTo(HaveOccurred())

	src := gitRepository(ns, "fleet", repo)
	ks := kustomization(ns, "apps", "fleet", "./apps")
	g.Expect(testCluster.Client.Create(ctx, src)).To(Succeed())
	g.Expect(testCluster.Client.Create(ctx, ks)).To(Succeed())

	applied := func(g Gomega, revision string) {
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKeyFromObject(ks), ks)).To(Succeed())
		g.Expect(conditions.IsReady(ks)).To(BeTrue())
		g.Expect(ks.Status.LastAppliedRevision).To(Equal(revision))
		g.Expect(ks.Status.ObservedGeneration).To(Equal(ks.Generation))
	}
	var revision string
	g.Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKeyFromObject(src), src)).To(Succeed())
		g.Expect(src.Status.Artifact).NotTo(BeNil())
		revision = src.Status.Artifact.Revision
		applied(g, revision)
	}, 60*time.Second, 200*time.Millisecond).Should(Succeed())
	var ids []string
	for _, e := range ks.Status.Inventory.Entries {
		ids = append(ids, e.ID)
	}
	g.Expect(ids).To(ConsistOf(ns+"_api__ConfigMap", ns+"_web__ConfigMap"))

	// A commit changes one app and removes the other; a webhook-style
	// reconcile request on the source brings it in without waiting an hour.
	head, err := gitSrv.Commit(repo, "main", "change web, drop api", map[string]string{
		"apps/web.yaml": configMapYAML("web", "v2"), "apps/api.yaml": "",
	})
	g.Expect(err).NotTo(HaveOccurred())
	requestReconcile(t, src, "first")
	g.Eventually(func(g Gomega) { applied(g, "main@sha1:"+head) }, 60*time.Second, 200*time.Millisecond).Should(Succeed())
	web := &corev1.ConfigMap{}
	g.Expect(testCluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, web)).To(Succeed())
	g.Expect(web.Data["value"]).To(Equal("v2"))
	g.Eventually(func() bool {
		return apierrors.IsNotFound(testCluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "api"}, &corev1.ConfigMap{}))
	}, 30*time.Second, 200*time.Millisecond).Should(BeTrue(), "a file removed from Git must be pruned")

	// `flux reconcile ks` sets requestedAt and waits for lastHandledReconcileAt.
	token := requestReconcile(t, ks, "second")
	g.Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKeyFromObject(ks), ks)).To(Succeed())
		g.Expect(ks.Status.LastHandledReconcileAt).To(Equal(token))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	// `flux suspend ks` sets spec.suspend: a new commit is then not applied.
	patch := client.MergeFrom(ks.DeepCopy())
	ks.Spec.Suspend = true
	g.Expect(testCluster.Client.Patch(ctx, ks, patch)).To(Succeed())
	next, err := gitSrv.Commit(repo, "main", "web v3", map[string]string{"apps/web.yaml": configMapYAML("web", "v3")})
	g.Expect(err).NotTo(HaveOccurred())
	requestReconcile(t, src, "third")
	g.Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKeyFromObject(src), src)).To(Succeed())
		g.Expect(src.Status.Artifact.Revision).To(Equal("main@sha1:" + next))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, web)).To(Succeed())
		g.Expect(web.Data["value"]).To(Equal("v2"))
	}, 3*time.Second, 200*time.Millisecond).Should(Succeed())

	// Resuming applies it.
	patch = client.MergeFrom(ks.DeepCopy())
	ks.Spec.Suspend = false
	g.Expect(testCluster.Client.Patch(ctx, ks, patch)).To(Succeed())
	g.Eventually(func(g Gomega) { applied(g, "main@sha1:"+next) }, 60*time.Second, 200*time.Millisecond).Should(Succeed())

	out, err := testCluster.Kubectl(nil, "describe", "kustomization", "apps", "-n", ns)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("ConfigMap/" + ns + "/web configured"))
	out, err = testCluster.Kubectl(nil, "get", "kustomization", "apps", "-n", ns)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(strings.Contains(out, "Applied revision: main@sha1:"+next)).To(BeTrue(), out)
}

// requestReconcile sets reconcile.fluxcd.io/requestedAt as `flux reconcile`
// and a Receiver do, and returns the token.
func requestReconcile(t *testing.T, obj client.Object, suffix string) string {
	t.Helper()
	token := time.Now().Format(time.RFC3339Nano) + "-" + suffix
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[fluxmeta.ReconcileRequestAnnotation] = token
	obj.SetAnnotations(ann)
	if err := testCluster.Client.Patch(context.Background(), obj, patch); err != nil {
		t.Fatal(err)
	}
	return token
}
