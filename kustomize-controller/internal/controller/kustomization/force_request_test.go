package kustomization

import (
	"context"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// TestForceRequestAppliesOnceWithForce: forceAt equal to requestedAt (what
// `ferry reconcile ks --force` writes) recreates an object whose immutable
// field changed, once; the next immutable change fails again, since
// spec.force stays false.
func TestForceRequestAppliesOnceWithForce(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	immutable := func(v string) string { return configMap("frozen", v) + "immutable: true\n" }
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"cm.yaml": immutable("v1")})
	k := newKustomization(ns, "app", "./", func(k *kustomizev1.Kustomization) { k.Spec.TargetNamespace = ns })
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")

	publish(t, ns, "repo", "main@sha1:2", map[string]string{"cm.yaml": immutable("v2")})
	waitFailed(t, k, kustomizev1.ReconciliationFailedReason, "immutable")

	token := time.Now().Format(time.RFC3339Nano)
	got := &kustomizev1.Kustomization{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(k), got)).To(Succeed())
	patch := client.MergeFrom(got.DeepCopy())
	got.SetAnnotations(map[string]string{fluxmeta.ReconcileRequestAnnotation: token, kustomizev1.ForceRequestAnnotation: token})
	g.Expect(env.Client.Patch(ctx, got, patch)).To(Succeed())
	applied := waitApplied(t, k, "main@sha1:2")
	g.Expect(applied.Status.LastHandledReconcileAt).To(Equal(token))
	g.Expect(applied.Spec.Force).To(BeFalse())
	cm, err := getConfigMap(ns, "frozen")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cm.Data["key"]).To(Equal("v2"))

	publish(t, ns, "repo", "main@sha1:3", map[string]string{"cm.yaml": immutable("v3")})
	waitFailed(t, k, kustomizev1.ReconciliationFailedReason, "immutable")
}
