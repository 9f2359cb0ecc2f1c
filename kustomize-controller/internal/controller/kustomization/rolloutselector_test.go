package kustomization

import (
	"context"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

func rolloutService(app string) string {
	return "apiVersion: v1\nkind: Service\nmetadata:\n  name: web-stable\nspec:\n  selector:\n    app: " + app +
		"\n  ports:\n  - port: 80\n"
}

// TestRolloutHashInServiceSelectorIsKept: the rollout controller adds
// rollouts-pod-template-hash to a Service whose selector Git writes
// without it. The selector is an atomic map, so applying Git's would drop
// the key; the drift watch sees the rollout controller's write, and the
// reconcile it causes keeps the key, while the rest of the selector stays
// Git's: a new revision changes it and keeps the hash.
func TestRolloutHashInServiceSelectorIsKept(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"svc.yaml": rolloutService("web")})
	k := newKustomization(ns, "app", "./", func(k *kustomizev1.Kustomization) { k.Spec.TargetNamespace = ns })
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")

	svc := &corev1.Service{}
	key := client.ObjectKey{Namespace: ns, Name: "web-stable"}
	g.Expect(env.Client.Get(ctx, key, svc)).To(Succeed())
	g.Expect(env.Client.Patch(ctx, svc, client.RawPatch(types.MergePatchType,
		[]byte(`{"spec":{"selector":{"rollouts-pod-template-hash":"abc123"}}}`)), client.FieldOwner("rollout-controller"))).To(Succeed())
	selector := func(g Gomega) map[string]string {
		got := &corev1.Service{}
		g.Expect(env.Client.Get(ctx, key, got)).To(Succeed())
		return got.Spec.Selector
	}
	want := map[string]string{"app": "web", rolloutHashLabel: "abc123"}
	// The drift watch reconciles at once; the hash must outlive it.
	g.Consistently(selector, 3*time.Second, 100*time.Millisecond).Should(Equal(want))
	token := time.Now().Format(time.RFC3339Nano)
	updateSpec(t, k, func(k *kustomizev1.Kustomization) {
		k.Annotations = map[string]string{fluxmeta.ReconcileRequestAnnotation: token}
	})
	g.Eventually(func(g Gomega) {
		got := &kustomizev1.Kustomization{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(k), got)).To(Succeed())
		g.Expect(got.Status.LastHandledReconcileAt).To(Equal(token))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(selector(g)).To(Equal(want))

	publish(t, ns, "repo", "main@sha1:2", map[string]string{"svc.yaml": rolloutService("web2")})
	waitApplied(t, k, "main@sha1:2")
	g.Expect(selector(g)).To(Equal(map[string]string{"app": "web2", rolloutHashLabel: "abc123"}))
}
