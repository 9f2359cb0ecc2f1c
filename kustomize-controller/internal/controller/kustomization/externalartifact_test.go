package kustomization

import (
	"context"
	"testing"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// publishExternal sets the ExternalArtifact ns/name to serve files at
// revision rev, creating it on first use, as an ArtifactGenerator would.
func publishExternal(t *testing.T, ns, name, rev string, files map[string]string) {
	t.Helper()
	publishSource(t, rev, files, &sourcev1.ExternalArtifact{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sourcev1.ExternalArtifactSpec{SourceRef: &fluxmeta.NamespacedObjectKindReference{
			APIVersion: "source.extensions.fluxcd.io/v1beta1", Kind: "ArtifactGenerator", Name: "generator",
		}},
	}, func(ea *sourcev1.ExternalArtifact, a *fluxmeta.Artifact) { ea.Status.Artifact = a })
}

// TestExternalArtifactSource applies an ExternalArtifact's content, and
// applies its next artifact as soon as the producer stores it (the
// Kustomization's interval is an hour, so only the watch can do that).
func TestExternalArtifactSource(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	publishExternal(t, ns, "generated", "latest@sha256:1", map[string]string{"app/cm.yaml": configMap("cm", "v1")})
	k := newKustomization(ns, "app", "./app", withTargetNamespace(ns), func(k *kustomizev1.Kustomization) {
		k.Spec.SourceRef = kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.ExternalArtifactKind, Name: "generated"}
	})
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	waitApplied(t, k, "latest@sha256:1")
	cm, err := getConfigMap(ns, "cm")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cm.Data["key"]).To(Equal("v1"))

	publishExternal(t, ns, "generated", "latest@sha256:2", map[string]string{"app/cm.yaml": configMap("cm", "v2")})
	waitApplied(t, k, "latest@sha256:2")
	cm, err = getConfigMap(ns, "cm")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cm.Data["key"]).To(Equal("v2"))
}
