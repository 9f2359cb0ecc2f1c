package devenv

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// env is the one development environment the tests of this package share,
// as `make dev` starts it.
var env *Env

func TestMain(m *testing.M) {
	e, err := Start(context.Background(), os.Stdout)
	env = e
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, "devenv:", err)
	} else {
		code = m.Run()
	}
	e.Stop()
	os.Exit(code)
}

// TestSampleReconcilesToReady is what `make dev` promises: from nothing, the
// sample repository reconciles to Ready through the four controller
// processes under their own RBAC, the app runs, and kubectl shows it all.
func TestSampleReconcilesToReady(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(env.WaitReady(ctx, 3*time.Minute)).To(Succeed())

	var d appsv1.Deployment
	g.Expect(env.Cluster.Client.Get(ctx, client.ObjectKey{Namespace: "apps", Name: "web"}, &d)).To(Succeed())
	g.Expect(*d.Spec.Replicas).To(Equal(int32(2)), "the staging overlay's patch")
	g.Expect(d.Status.AvailableReplicas).To(Equal(int32(2)), "wait: true waited for the rollout")
	var cm corev1.ConfigMap
	g.Expect(env.Cluster.Client.Get(ctx, client.ObjectKey{Namespace: "apps", Name: "web"}, &cm)).To(Succeed())
	g.Expect(cm.Data["environment"]).To(Equal("staging"), "postBuild substitution")

	var secret corev1.Secret
	g.Expect(env.Cluster.Client.Get(ctx, client.ObjectKey{Namespace: "apps", Name: "web-credentials"}, &secret)).To(Succeed())
	g.Expect(string(secret.Data["password"])).To(Equal("sample-password-decrypted-by-ferry"), "SOPS decryption with the age key")
	var hello corev1.ConfigMap
	// Flux's default release name: <targetNamespace>-<name>.
	g.Expect(env.Cluster.Client.Get(ctx, client.ObjectKey{Namespace: "infra", Name: "infra-hello"}, &hello)).To(Succeed())
	g.Expect(hello.Data["greeting"]).To(Equal("hello from a HelmRelease"), "the HelmRelease installed the chart with its values")

	status, err := env.Status()
	g.Expect(err).NotTo(HaveOccurred())
	for _, want := range []string{
		"gitrepository.source.toolkit.fluxcd.io/fleet",
		"kustomization.kustomize.toolkit.fluxcd.io/cluster",
		"kustomization.kustomize.toolkit.fluxcd.io/infrastructure",
		"kustomization.kustomize.toolkit.fluxcd.io/apps",
		"helmrelease.helm.toolkit.fluxcd.io/hello",
		"helmchart.source.toolkit.fluxcd.io/ferry-system-hello",
	} {
		g.Expect(status).To(ContainSubstring(want))
	}
	g.Expect(status).To(MatchRegexp(`kustomization.kustomize.toolkit.fluxcd.io/apps\s+\S+\s+True\s+Applied revision: main@sha1:`))
}
