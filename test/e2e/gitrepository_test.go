package e2e

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// TestGitRepositoryThroughTheBinary runs a GitRepository through the
// source-controller process under its own RBAC: the artifact it advertises
// downloads with the digest in status, a reconcile request is handled the way
// `flux reconcile source git` waits for it, and kubectl shows the revision.
func TestGitRepositoryThroughTheBinary(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	repo := ns + "/app.git"
	head, err := gitSrv.Commit(repo, "main", "add app", map[string]string{"deploy/app.yaml": "kind: ConfigMap\n"})
	g.Expect(err).NotTo(HaveOccurred())

	obj := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{
			URL:       gitSrv.URL(repo),
			Interval:  metav1.Duration{Duration: time.Hour},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"},
		},
	}
	g.Expect(testCluster.Client.Create(ctx, obj)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		g.Expect(conditions.IsReady(obj)).To(BeTrue())
		g.Expect(obj.Status.ObservedGeneration).To(Equal(obj.Generation))
		g.Expect(obj.Status.Artifact.Revision).To(Equal("main@sha1:" + head))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	resp, err := http.Get(obj.Status.Artifact.URL)
	g.Expect(err).NotTo(HaveOccurred())
	data, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(fmt.Sprintf("sha256:%x", sha256.Sum256(data))).To(Equal(obj.Status.Artifact.Digest))

	next, err := gitSrv.Commit(repo, "main", "change app", map[string]string{"deploy/app.yaml": "kind: Secret\n"})
	g.Expect(err).NotTo(HaveOccurred())
	token := time.Now().Format(time.RFC3339Nano)
	patch := client.MergeFrom(obj.DeepCopy())
	obj.Annotations = map[string]string{fluxmeta.ReconcileRequestAnnotation: token}
	g.Expect(testCluster.Client.Patch(ctx, obj, patch)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		g.Expect(obj.Status.LastHandledReconcileAt).To(Equal(token))
		g.Expect(conditions.IsReady(obj)).To(BeTrue())
		g.Expect(obj.Status.Artifact.Revision).To(Equal("main@sha1:" + next))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	out, err := testCluster.Kubectl(nil, "get", "gitrepository", "app", "-n", ns)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchRegexp(`app\s+` + gitSrv.URL(repo) + `\s+\S+\s+True\s+stored artifact for revision 'main@sha1:` + next + `'`))

	out, err = testCluster.Kubectl(nil, "describe", "gitrepository", "app", "-n", ns)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("NewArtifact"))

	resp, err = http.Get("http://" + controllers["source-controller"].MetricsAddr + "/metrics")
	g.Expect(err).NotTo(HaveOccurred())
	metrics, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(metrics)).To(ContainSubstring(`gotk_reconcile_duration_seconds_count{kind="GitRepository",name="app",namespace="` + ns + `"}`))
	g.Expect(string(metrics)).To(ContainSubstring("ferry_gitrepository_clones_total"))
}
