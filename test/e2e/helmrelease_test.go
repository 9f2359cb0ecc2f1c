package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestHelmReleaseUpgradeOnValuesChange installs a chart kept in Git through
// the source-controller (GitRepository, then the HelmChart the
// helm-controller creates) and the helm-controller processes, then changes
// spec.values and checks the release is upgraded, as `helm history` and the
// cluster show.
func TestHelmReleaseUpgradeOnValuesChange(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	repo := ns + "/charts.git"
	_, err := gitSrv.Commit(repo, "main", "chart", map[string]string{
		"charts/hello/Chart.yaml":               "apiVersion: v2\nname: hello\nversion: 0.1.0\n",
		"charts/hello/values.yaml":              "greeting: hello\n",
		"charts/hello/templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
	})
	g.Expect(err).NotTo(HaveOccurred())
	manifest := func(greeting string) []byte {
		return []byte(fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: charts
  namespace: %[1]s
spec:
  interval: 1h
  url: %[2]s
  ref:
    branch: main
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: hello
  namespace: %[1]s
spec:
  interval: 1h
  chart:
    spec:
      chart: ./charts/hello
      sourceRef:
        kind: GitRepository
        name: charts
  values:
    greeting: %[3]s
`, ns, gitSrv.URL(repo), greeting))
	}
	_, err = testCluster.Kubectl(manifest("hi from v1"), "apply", "--validate=strict", "-f", "-")
	g.Expect(err).NotTo(HaveOccurred())

	greeting := func(g Gomega) string {
		cm := &corev1.ConfigMap{}
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "hello"}, cm)).To(Succeed())
		return cm.Data["greeting"]
	}
	g.Eventually(func(g Gomega) { g.Expect(greeting(g)).To(Equal("hi from v1")) }, 60*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Eventually(func(g Gomega) {
		out, err := testCluster.Kubectl(nil, "get", "helmrelease", "hello", "-n", ns)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(MatchRegexp(`hello\s+\S+\s+True\s+Helm install succeeded`))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())

	_, err = testCluster.Kubectl(manifest("hi from v2"), "apply", "--validate=strict", "-f", "-")
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func(g Gomega) { g.Expect(greeting(g)).To(Equal("hi from v2")) }, 60*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Eventually(func(g Gomega) {
		out, err := testCluster.Kubectl(nil, "get", "helmrelease", "hello", "-n", ns,
			"-o", "jsonpath={.status.history[0].version} {.status.history[0].status}")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(strings.TrimSpace(out)).To(Equal("2 deployed"))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())

	out, err := testCluster.Kubectl(nil, "describe", "helmrelease", "hello", "-n", ns)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("upgrade"))
}
