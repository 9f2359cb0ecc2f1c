package e2e

import (
	"context"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// TestControllerKilledMidReconcileConverges kills the kustomize-controller
// while a Kustomization waits on a health check, pushes a fix while it is
// down, restarts it, and checks the cluster converges with nothing lost.
func TestControllerKilledMidReconcileConverges(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	repo := ns + "/app.git"
	gate := func(ready string) map[string]string {
		return map[string]string{
			"app/gate.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gate\ndata:\n  ready: \"" + ready + "\"\n",
			"app/other.yaml": configMapYAML("other", "v1"),
		}
	}
	_, err := gitSrv.Commit(repo, "main", "not ready", gate("false"))
	g.Expect(err).NotTo(HaveOccurred())
	src := gitRepository(ns, "app", repo)
	ks := kustomization(ns, "app", "app", "./app", func(k *kustomizev1.Kustomization) {
		k.Spec.Wait = true
		k.Spec.Timeout = &metav1.Duration{Duration: 10 * time.Minute}
		k.Spec.HealthCheckExprs = []kustomizev1.CustomHealthCheck{{
			APIVersion: "v1", Kind: "ConfigMap", Current: "!has(data.ready) || data.ready == 'true'",
		}}
	})
	g.Expect(testCluster.Client.Create(ctx, src)).To(Succeed())
	g.Expect(testCluster.Client.Create(ctx, ks)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKeyFromObject(ks), ks)).To(Succeed())
		h := conditions.Get(ks, kustomizev1.HealthyCondition)
		g.Expect(h).NotTo(BeNil())
		g.Expect(h.Reason).To(Equal(fluxmeta.ProgressingReason))
	}, 60*time.Second, 100*time.Millisecond).Should(Succeed(), "the Kustomization should be waiting on its health check")

	controllers["kustomize-controller"].Kill()
	head, err := gitSrv.Commit(repo, "main", "ready", gate("true"))
	g.Expect(err).NotTo(HaveOccurred())
	requestReconcile(t, src, "while-down")
	g.Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKeyFromObject(src), src)).To(Succeed())
		g.Expect(src.Status.Artifact.Revision).To(Equal("main@sha1:" + head))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	p, err := restart("kustomize-controller")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p.WaitReady(time.Minute)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKeyFromObject(ks), ks)).To(Succeed())
		g.Expect(conditions.IsReady(ks)).To(BeTrue())
		g.Expect(ks.Status.LastAppliedRevision).To(Equal("main@sha1:" + head))
	}, 60*time.Second, 100*time.Millisecond).Should(Succeed())
	var ids []string
	for _, e := range ks.Status.Inventory.Entries {
		ids = append(ids, e.ID)
	}
	g.Expect(ids).To(ConsistOf(ns+"_gate__ConfigMap", ns+"_other__ConfigMap"))
	for _, name := range []string{"gate", "other"} {
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &corev1.ConfigMap{})).To(Succeed())
	}
}
