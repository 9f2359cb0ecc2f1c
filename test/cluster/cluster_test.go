package cluster

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestFullModeRunsWorkloads proves the full-mode cluster does what the
// controllers' tests rely on: a Deployment rolls out to Available on the kwok
// node, and a deleted Namespace finalizes once its contents are gone.
func TestFullModeRunsWorkloads(t *testing.T) {
	g := NewWithT(t)
	c, err := Start(Options{Mode: Full})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(c.LogTails(30))
			out, _ := c.Kubectl(nil, "describe", "pods,nodes,replicasets", "-A")
			t.Log(out)
		}
		_ = c.Stop()
	})
	ctx := context.Background()

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "full-mode"}}
	g.Expect(c.Client.Create(ctx, ns)).To(Succeed())

	labels := map[string]string{"app": "web"}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns.Name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1"}}},
			},
		},
	}
	g.Expect(c.Client.Create(ctx, deploy)).To(Succeed())

	g.Eventually(func(g Gomega) {
		got := &appsv1.Deployment{}
		g.Expect(c.Client.Get(ctx, client.ObjectKeyFromObject(deploy), got)).To(Succeed())
		g.Expect(got.Status.AvailableReplicas).To(Equal(int32(2)))
		var available bool
		for _, cond := range got.Status.Conditions {
			if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue {
				available = true
			}
		}
		g.Expect(available).To(BeTrue(), "Deployment has no Available=True condition")
	}, 60*time.Second, 250*time.Millisecond).Should(Succeed())

	g.Expect(c.Client.Delete(ctx, ns)).To(Succeed())
	g.Eventually(func() bool {
		err := c.Client.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{})
		return apierrors.IsNotFound(err)
	}, 60*time.Second, 250*time.Millisecond).Should(BeTrue(), "namespace did not finalize")
}

// TestFastModeServesCRDsAndKubectl checks the fast cluster installs Ferry's
// CRDs and that kubectl works against it with the written kubeconfig.
func TestFastModeServesCRDsAndKubectl(t *testing.T) {
	g := NewWithT(t)
	c, err := Start(Options{})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = c.Stop() })

	out, err := c.Kubectl(nil, "get", "crd", "-o", "name")
	g.Expect(err).NotTo(HaveOccurred())
	for _, crd := range []string{
		"gitrepositories.source.toolkit.fluxcd.io",
		"helmrepositories.source.toolkit.fluxcd.io",
		"helmcharts.source.toolkit.fluxcd.io",
		"ocirepositories.source.toolkit.fluxcd.io",
		"kustomizations.kustomize.toolkit.fluxcd.io",
		"helmreleases.helm.toolkit.fluxcd.io",
		"providers.notification.toolkit.fluxcd.io",
		"alerts.notification.toolkit.fluxcd.io",
		"receivers.notification.toolkit.fluxcd.io",
	} {
		g.Expect(out).To(ContainSubstring("customresourcedefinition.apiextensions.k8s.io/" + crd))
	}
}
