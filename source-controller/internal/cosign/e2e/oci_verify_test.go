package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/archive"
	"github.com/ferrycd/ferry/source-controller/internal/cosign/cosigntest"
	"github.com/ferrycd/ferry/source-controller/internal/oci/ocitest"
	"github.com/ferrycd/ferry/test/suite"
)

const (
	timeout          = 60 * time.Second
	contentMediaType = "application/vnd.cncf.flux.content.v1.tar+gzip"
	configMediaType  = "application/vnd.cncf.flux.config.v1+json"
)

func configMap(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  value: " + value + "\n"
}

// pushManifests pushes files as a `flux push artifact` tarball to
// repo:latest and returns its host/repo@digest reference.
func pushManifests(t *testing.T, reg *ocitest.Registry, repo string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := archive.Build(&buf, dir, nil); err != nil {
		t.Fatal(err)
	}
	return reg.Host() + "/" + repo + "@" + reg.Push(t, repo, "latest", configMediaType, ocitest.Layer{MediaType: contentMediaType, Data: buf.Bytes()})
}

// pipeline creates a verified OCIRepository of repo and a Kustomization
// applying it into ns.
func pipeline(t *testing.T, ns, name, url string) (*sourcev1.OCIRepository, *kustomizev1.Kustomization) {
	t.Helper()
	src := &sourcev1.OCIRepository{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sourcev1.OCIRepositorySpec{URL: url, Interval: metav1.Duration{Duration: time.Hour},
			Verify: cosigntest.Verification("cosign-keys")},
	}
	ks := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: kustomizev1.KustomizationSpec{
			Interval: metav1.Duration{Duration: time.Hour}, Path: "./", Prune: true, TargetNamespace: ns,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.OCIRepositoryKind, Name: name},
		},
	}
	NewWithT(t).Expect(testCluster.Client.Create(context.Background(), src)).To(Succeed())
	NewWithT(t).Expect(testCluster.Client.Create(context.Background(), ks)).To(Succeed())
	return src, ks
}

func configMapValue(g Gomega, ns, name string) string {
	cm := &corev1.ConfigMap{}
	err := testCluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, cm)
	if apierrors.IsNotFound(err) {
		return "<absent>"
	}
	g.Expect(err).NotTo(HaveOccurred())
	return cm.Data["value"]
}

// waitRefused waits until src refuses the artifact ref for want.
func waitRefused(t *testing.T, src *sourcev1.OCIRepository, ref, want string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(context.Background(), client.ObjectKeyFromObject(src), src)).To(Succeed())
		ready := conditions.Get(src, fluxmeta.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(sourcev1.VerificationErrorReason), ready.Message)
		g.Expect(ready.Message).To(ContainSubstring(ref))
		g.Expect(ready.Message).To(ContainSubstring(want))
		g.Expect(conditions.IsFalse(src, sourcev1.SourceVerifiedCondition)).To(BeTrue())
	}, timeout, 200*time.Millisecond).Should(Succeed())
}

func TestKustomizationAppliesOnlyVerifiedArtifacts(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := suite.NewNamespace(t, testCluster.Client, "verify-")
	reg := ocitest.New(t)
	trusted, other := cosigntest.NewKey(t), cosigntest.NewKey(t)
	g.Expect(testCluster.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "cosign-keys", Namespace: ns}, Data: cosigntest.Secret(trusted),
	})).To(Succeed())

	// An artifact that was never signed is never applied.
	unsigned := pushManifests(t, reg, "manifests/unsigned", map[string]string{"never.yaml": configMap("never", "v1")})
	never, neverKs := pipeline(t, ns, "unsigned", "oci://"+reg.Host()+"/manifests/unsigned")
	waitRefused(t, never, unsigned, "no signature found")

	// A signed artifact is applied.
	v1 := pushManifests(t, reg, "manifests/app", map[string]string{"web.yaml": configMap("web", "v1")})
	trusted.Sign(t, v1)
	src, ks := pipeline(t, ns, "app", "oci://"+reg.Host()+"/manifests/app")
	revision := func(ref string) string { return "latest@" + ref[len(reg.Host()+"/manifests/app@"):] }
	applied := func(g Gomega, ref string) {
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKeyFromObject(ks), ks)).To(Succeed())
		g.Expect(conditions.IsReady(ks)).To(BeTrue(), conditions.GetMessage(ks, fluxmeta.ReadyCondition))
		g.Expect(ks.Status.LastAppliedRevision).To(Equal(revision(ref)))
	}
	g.Eventually(func(g Gomega) { applied(g, v1) }, timeout, 200*time.Millisecond).Should(Succeed())
	g.Expect(configMapValue(g, ns, "web")).To(Equal("v1"))

	// Unsigned and wrongly signed versions are refused by the source, and
	// the Kustomization, asked to reconcile, applies nothing of them.
	unsignedV2 := pushManifests(t, reg, "manifests/app", map[string]string{"web.yaml": configMap("web", "unsigned"), "extra.yaml": configMap("extra", "unsigned")})
	suite.RequestReconcile(t, testCluster.Client, src, timeout)
	waitRefused(t, src, unsignedV2, "no signature found")
	wrongV3 := pushManifests(t, reg, "manifests/app", map[string]string{"web.yaml": configMap("web", "wrong-key"), "extra.yaml": configMap("extra", "wrong-key")})
	other.Sign(t, wrongV3)
	suite.RequestReconcile(t, testCluster.Client, src, timeout)
	waitRefused(t, src, wrongV3, "not signed with any of these keys")
	for _, k := range []*kustomizev1.Kustomization{ks, neverKs} {
		token := suite.RequestReconcile(t, testCluster.Client, k, timeout)
		g.Eventually(func(g Gomega) {
			g.Expect(testCluster.Client.Get(ctx, client.ObjectKeyFromObject(k), k)).To(Succeed())
			g.Expect(k.Status.LastHandledReconcileAt).To(Equal(token))
		}, timeout, 200*time.Millisecond).Should(Succeed())
	}
	g.Expect(ks.Status.LastAppliedRevision).To(Equal(revision(v1)))
	g.Expect(neverKs.Status.LastAppliedRevision).To(BeEmpty())
	g.Expect(conditions.IsReady(neverKs)).To(BeFalse())
	g.Expect(configMapValue(g, ns, "web")).To(Equal("v1"))
	g.Expect(configMapValue(g, ns, "extra")).To(Equal("<absent>"))
	g.Expect(configMapValue(g, ns, "never")).To(Equal("<absent>"))

	// Signing a version with the trusted key lets it through.
	v4 := pushManifests(t, reg, "manifests/app", map[string]string{"web.yaml": configMap("web", "v4")})
	trusted.Sign(t, v4)
	suite.RequestReconcile(t, testCluster.Client, src, timeout)
	g.Eventually(func(g Gomega) { applied(g, v4) }, timeout, 200*time.Millisecond).Should(Succeed())
	g.Expect(configMapValue(g, ns, "web")).To(Equal("v4"))
}
