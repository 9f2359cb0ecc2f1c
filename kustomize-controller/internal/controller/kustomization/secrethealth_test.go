package kustomization

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// secretOperatorCRDs are minimal CRDs of External Secrets Operator's
// ExternalSecret and Sealed Secrets' SealedSecret, with a status
// subresource, as their operators install them.
const secretOperatorCRDs = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: externalsecrets.external-secrets.io
spec:
  group: external-secrets.io
  names: {kind: ExternalSecret, listKind: ExternalSecretList, plural: externalsecrets, singular: externalsecret}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: sealedsecrets.bitnami.com
spec:
  group: bitnami.com
  names: {kind: SealedSecret, listKind: SealedSecretList, plural: sealedsecrets, singular: sealedsecret}
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

// writeOperatorStatus sets the status of an object as its operator would.
func writeOperatorStatus(t *testing.T, gvk schema.GroupVersionKind, ns, name string, status map[string]any) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
			return err
		}
		if og, ok := status["observedGeneration"]; ok && og == "current" {
			status["observedGeneration"] = u.GetGeneration()
		}
		u.Object["status"] = status
		return env.Client.Status().Update(context.Background(), u)
	}, timeout, 100*time.Millisecond).Should(Succeed())
}

func condition(t, s, reason, msg string) []any {
	return []any{map[string]any{"type": t, "status": s, "reason": reason, "message": msg,
		"lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}}
}

// TestSecretOperatorHealth checks that a Kustomization waiting on an
// ExternalSecret or a SealedSecret waits while the operator has not synced
// it, fails at once (not after the timeout) with the operator's message when
// it cannot sync, and is Ready once it has.
func TestSecretOperatorHealth(t *testing.T) {
	if _, err := env.Kubectl([]byte(secretOperatorCRDs), "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Kubectl(nil, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/externalsecrets.external-secrets.io", "crd/sealedsecrets.bitnami.com"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		gvk      schema.GroupVersionKind
		manifest string
		failing  map[string]any
		failMsg  string
		healthy  map[string]any
	}{
		{
			name: "ExternalSecret",
			gvk:  schema.GroupVersionKind{Group: "external-secrets.io", Version: "v1", Kind: "ExternalSecret"},
			manifest: `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: db
spec:
  refreshInterval: 1h
  secretStoreRef: {kind: SecretStore, name: vault}
  target: {name: db}
`,
			failing: map[string]any{"conditions": condition("Ready", "False", "SecretSyncedError", "could not get secret data from provider")},
			failMsg: "ExternalSecret",
			healthy: map[string]any{"conditions": condition("Ready", "True", "SecretSynced", "secret synced")},
		},
		{
			name: "SealedSecret",
			gvk:  schema.GroupVersionKind{Group: "bitnami.com", Version: "v1alpha1", Kind: "SealedSecret"},
			manifest: `apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: db
spec:
  encryptedData: {password: AgBy3i4OJSWK+PiTySYZZA==}
`,
			failing: map[string]any{"observedGeneration": "current", "conditions": condition("Synced", "False", "ErrUnsealFailed", "no key could decrypt secret")},
			failMsg: "SealedSecret",
			healthy: map[string]any{"observedGeneration": "current", "conditions": condition("Synced", "True", "", "")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := newNamespace(t)
			publish(t, ns, "repo", "main@sha1:1", map[string]string{"secret.yaml": tt.manifest})
			k := newKustomization(ns, "app", "./", func(k *kustomizev1.Kustomization) {
				k.Spec.TargetNamespace = ns
				k.Spec.Wait = true
				// Longer than the test waits for the failure: a failure
				// seen means the health check failed fast.
				k.Spec.Timeout = &metav1.Duration{Duration: 10 * time.Minute}
			})
			g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())

			// Not yet synced by its operator: the health check waits.
			g.Eventually(func(g Gomega) {
				got := &kustomizev1.Kustomization{}
				g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(k), got)).To(Succeed())
				h := conditions.Get(got, kustomizev1.HealthyCondition)
				g.Expect(h).NotTo(BeNil())
				g.Expect(h.Status).To(Equal(metav1.ConditionUnknown))
			}, timeout, 100*time.Millisecond).Should(Succeed())

			writeOperatorStatus(t, tt.gvk, ns, "db", tt.failing)
			waitFailed(t, k, kustomizev1.HealthCheckFailedReason, tt.failMsg, "db")

			writeOperatorStatus(t, tt.gvk, ns, "db", tt.healthy)
			requestReconcile(t, k)
			got := waitApplied(t, k, "main@sha1:1")
			h := conditions.Get(got, kustomizev1.HealthyCondition)
			g.Expect(h).NotTo(BeNil())
			g.Expect(h.Status).To(Equal(metav1.ConditionTrue), fmt.Sprint(h))
		})
	}
}
