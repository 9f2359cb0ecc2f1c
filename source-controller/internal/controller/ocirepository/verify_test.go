package ocirepository

import (
	"context"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/source-controller/internal/cosign/cosigntest"
	"github.com/ferrycd/ferry/source-controller/internal/oci/ocitest"
	"github.com/ferrycd/ferry/test/suite"
)

// keySecret creates a Secret holding the public keys, as Flux users store
// cosign.pub.
func keySecret(t *testing.T, ns, name string, keys ...*cosigntest.Key) {
	t.Helper()
	NewWithT(t).Expect(env.Client.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Data:       cosigntest.Secret(keys...),
	})).To(Succeed())
}

func verifyWith(secret string) func(*sourcev1.OCIRepository) {
	return func(o *sourcev1.OCIRepository) {
		o.Spec.Reference = &sourcev1.OCIRepositoryRef{Tag: "v1"}
		o.Spec.Verify = cosigntest.Verification(secret)
	}
}

func TestSignedArtifactIsServedAndUnsignedRefused(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	reg := ocitest.New(t)
	trusted, other := cosigntest.NewKey(t), cosigntest.NewKey(t)
	keySecret(t, ns, "cosign-keys", trusted)
	repo := reg.Host() + "/manifests/app"

	d1 := push(t, reg, "manifests/app", "v1", map[string]string{"app.yaml": "v1"})
	trusted.Sign(t, repo+"@"+d1)
	obj := newOCIRepository(ns, "app", "oci://"+repo, verifyWith("cosign-keys"))
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	good := waitReady(t, obj, metav1.ConditionTrue, fluxmeta.SucceededReason)
	g.Expect(good.Status.Artifact.Revision).To(Equal("v1@" + d1))
	cosigntest.ExpectSourceVerified(t, good, metav1.ConditionTrue, "verified signature of revision v1@"+d1)
	g.Expect(files(t, suite.Download(t, good.Status.Artifact))).To(Equal(map[string]string{"app.yaml": "v1"}))

	// An unchanged, verified digest is neither verified nor pulled again.
	repoPath := "manifests/app"
	manifests := reg.ManifestGets(repoPath)
	got := waitHandled(t, obj, suite.RequestReconcile(t, env.Client, obj, timeout))
	g.Expect(reg.ManifestGets(repoPath)).To(Equal(manifests), "no signature or artifact manifest is fetched for a verified digest")
	cosigntest.ExpectSourceVerified(t, got, metav1.ConditionTrue, "verified signature of revision v1@"+d1)

	steps := []struct {
		name string
		push func() string
		text string
	}{
		{"unsigned", func() string { return push(t, reg, "manifests/app", "v1", map[string]string{"app.yaml": "unsigned"}) },
			"no signature found for"},
		{"signed with another key", func() string {
			d := push(t, reg, "manifests/app", "v1", map[string]string{"app.yaml": "other key"})
			other.Sign(t, repo+"@"+d)
			return d
		}, "not signed with any of these keys"},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			g := NewWithT(t)
			d := step.push()
			suite.RequestReconcile(t, env.Client, obj, timeout)
			got := waitReady(t, obj, metav1.ConditionFalse, sourcev1.VerificationErrorReason,
				"failed to verify the signature using provider 'cosign'", step.text, repo+"@"+d)
			cosigntest.ExpectSourceVerified(t, got, metav1.ConditionFalse, step.text)
			g.Expect(got.Status.Artifact).To(Equal(good.Status.Artifact), "the previous verified artifact must stay")
			g.Expect(files(t, suite.Download(t, got.Status.Artifact))).To(Equal(map[string]string{"app.yaml": "v1"}))
		})
	}

	// Signing the refused digest with the trusted key lets it through.
	d4 := push(t, reg, "manifests/app", "v1", map[string]string{"app.yaml": "v4"})
	trusted.Sign(t, repo+"@"+d4)
	suite.RequestReconcile(t, env.Client, obj, timeout)
	waitReady(t, obj, metav1.ConditionTrue, fluxmeta.SucceededReason, d4)
	// The patch helper writes status.artifact after the conditions.
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		g.Expect(got.Status.Artifact.Revision).To(Equal("v1@" + d4))
	}, timeout, 50*time.Millisecond).Should(Succeed())
	cosigntest.ExpectSourceVerified(t, got, metav1.ConditionTrue, "verified signature of revision v1@"+d4)
	g.Expect(files(t, suite.Download(t, got.Status.Artifact))).To(Equal(map[string]string{"app.yaml": "v4"}))

	// Without spec.verify the condition goes away.
	update(t, obj, func(o *sourcev1.OCIRepository) { o.Spec.Verify = nil })
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(conditions.Get(got, sourcev1.SourceVerifiedCondition)).To(BeNil())
	}, timeout).Should(Succeed())
}

func TestUnsignedArtifactIsNeverStored(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	reg := ocitest.New(t)
	keySecret(t, ns, "cosign-keys", cosigntest.NewKey(t))
	push(t, reg, "manifests/app", "v1", map[string]string{"app.yaml": "v1"})

	obj := newOCIRepository(ns, "app", "oci://"+reg.Host()+"/manifests/app", verifyWith("cosign-keys"))
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	got := waitReady(t, obj, metav1.ConditionFalse, sourcev1.VerificationErrorReason, "no signature found for")
	cosigntest.ExpectSourceVerified(t, got, metav1.ConditionFalse, "no signature found for")
	g.Expect(got.Status.Artifact).To(BeNil())
	g.Expect(reg.BlobGets("manifests/app")).To(BeZero(), "no layer of an unverified artifact is downloaded")

	missing := newOCIRepository(ns, "missing-keys", "oci://"+reg.Host()+"/manifests/app", verifyWith("absent"))
	g.Expect(env.Client.Create(context.Background(), missing)).To(Succeed())
	got = waitReady(t, missing, metav1.ConditionFalse, sourcev1.VerificationErrorReason, "secret", "absent", "spec.verify.secretRef")
	g.Expect(got.Status.Artifact).To(BeNil())
}

func TestVerifySchemaRejectsKeyless(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	ociRepository := func(verify map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": sourcev1.GroupVersion.String(), "kind": sourcev1.OCIRepositoryKind,
			"metadata": map[string]any{"generateName": "verify-", "namespace": ns},
			"spec":     map[string]any{"url": "oci://registry.local/app", "interval": "1h", "verify": verify},
		}}
	}
	// Flux manifests that name only the key Secret get provider cosign.
	keyed := ociRepository(map[string]any{"secretRef": map[string]any{"name": "k"}})
	NewWithT(t).Expect(env.Client.Create(context.Background(), keyed, client.FieldValidation("Strict"))).To(Succeed())
	got := &sourcev1.OCIRepository{}
	NewWithT(t).Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(keyed), got)).To(Succeed())
	NewWithT(t).Expect(got.Spec.Verify.Provider).To(Equal("cosign"))

	tests := []struct {
		name   string
		verify map[string]any
		text   string
	}{
		{"keyless without secretRef", map[string]any{"provider": "cosign"}, "secretRef"},
		{"OIDC identities", map[string]any{"provider": "cosign", "secretRef": map[string]any{"name": "k"},
			"matchOIDCIdentity": []any{map[string]any{"issuer": ".*", "subject": ".*"}}}, "matchOIDCIdentity"},
		{"notation", map[string]any{"provider": "notation", "secretRef": map[string]any{"name": "k"}}, "notation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := env.Client.Create(context.Background(), ociRepository(tt.verify), client.FieldValidation("Strict"))
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tt.text)))
		})
	}
}
