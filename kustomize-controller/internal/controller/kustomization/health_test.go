package kustomization

import (
	"context"
	"fmt"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

func TestHealthCheckExpressions(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	ready := func(v string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gate\ndata:\n  ready: %q\n", v)
	}
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"gate.yaml": ready("false")})
	k := newKustomization(ns, "app", "./", func(k *kustomizev1.Kustomization) {
		k.Spec.TargetNamespace = ns
		k.Spec.Wait = true
		k.Spec.HealthCheckExprs = []kustomizev1.CustomHealthCheck{{
			APIVersion: "v1", Kind: "ConfigMap",
			Current: "data.ready == 'true'", Failed: "data.ready == 'false'",
		}}
	})
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	failed := waitFailed(t, k, kustomizev1.HealthCheckFailedReason, "gate")
	g.Expect(conditions.IsFalse(failed, kustomizev1.HealthyCondition)).To(BeTrue())

	publish(t, ns, "repo", "main@sha1:2", map[string]string{"gate.yaml": ready("true")})
	got := waitApplied(t, k, "main@sha1:2")
	g.Expect(conditions.IsTrue(got, kustomizev1.HealthyCondition)).To(BeTrue())
}

// TestNewRevisionCancelsAHealthWait checks that a fix pushed while a broken
// revision's health check is waiting is applied at once, not after the
// whole timeout.
func TestNewRevisionCancelsAHealthWait(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	deployment := func(nodeType string) string {
		return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      nodeSelector: {type: %s}
      containers:
        - name: web
          image: web:1
`, nodeType)
	}
	publish(t, ns, "repo", "main@sha1:broken", map[string]string{"deploy.yaml": deployment("no-such-node")})
	k := newKustomization(ns, "app", "./", func(k *kustomizev1.Kustomization) {
		k.Spec.TargetNamespace = ns
		k.Spec.Wait = true
		k.Spec.Timeout = &metav1.Duration{Duration: 5 * time.Minute}
	})
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &kustomizev1.Kustomization{}
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(k), got)).To(Succeed())
		h := conditions.Get(got, kustomizev1.HealthyCondition)
		g.Expect(h).NotTo(BeNil())
		g.Expect(h.Reason).To(Equal(fluxmeta.ProgressingReason))
		// kstatus (kubectl wait, the flux CLI) reads a long reconcile as in
		// progress.
		g.Expect(conditions.IsReconciling(got)).To(BeTrue())
		g.Expect(conditions.IsUnknown(got, fluxmeta.ReadyCondition)).To(BeTrue())
	}, timeout, 100*time.Millisecond).Should(Succeed(), "the health wait should be visible while it runs")

	start := time.Now()
	publish(t, ns, "repo", "main@sha1:fixed", map[string]string{"deploy.yaml": deployment("kwok")})
	waitApplied(t, k, "main@sha1:fixed")
	g.Expect(time.Since(start)).To(BeNumerically("<", time.Minute), "the broken revision's wait must not run to its 5m timeout")
}
