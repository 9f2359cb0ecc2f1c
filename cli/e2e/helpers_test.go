package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/cli/internal/objects"
)

const (
	timeout = 90 * time.Second
	poll    = 200 * time.Millisecond
)

func configMapYAML(name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  value: %s\n", name, value)
}

func secretYAML(name, token string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\nstringData:\n  token: %s\n", name, token)
}

func gitRepositoryYAML(ns, name, url string) string {
	return fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: %s
  namespace: %s
spec:
  interval: 1h
  url: %s
  ref:
    branch: main
`, name, ns, url)
}

// kustomizationYAML is a Kustomization of path in source fleet that
// prunes and targets its own namespace.
func kustomizationYAML(ns, name, path string) string {
	return fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: %s
  namespace: %s
spec:
  interval: 1h
  path: %s
  prune: true
  targetNamespace: %s
  sourceRef:
    kind: GitRepository
    name: fleet
`, name, ns, path, ns)
}

// helmReleaseYAML installs the chart at path of source charts.
func helmReleaseYAML(ns, name, path, greeting string) string {
	return fmt.Sprintf(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %s
  namespace: %s
spec:
  interval: 1h
  chart:
    spec:
      chart: %s
      sourceRef:
        kind: GitRepository
        name: fleet
  values:
    greeting: %s
`, name, ns, path, greeting)
}

// chartFiles is a chart under dir with one ConfigMap of the greeting.
func chartFiles(dir string) map[string]string {
	return map[string]string{
		dir + "/Chart.yaml":               "apiVersion: v2\nname: hello\nversion: 0.1.0\n",
		dir + "/values.yaml":              "greeting: hello\n",
		dir + "/templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
	}
}

// waitReady waits until the object is Ready for its current generation
// and, when revision is set, has applied that revision.
func waitReady(t testing.TB, kind objects.Kind, ns, name, revision string) *unstructured.Unstructured {
	t.Helper()
	var obj *unstructured.Unstructured
	NewWithT(t).Eventually(func(g Gomega) {
		var err error
		obj, err = objects.Get(context.Background(), testCluster.Client, kind, ns, name)
		g.Expect(err).NotTo(HaveOccurred())
		s := objects.Summarize(obj)
		g.Expect(s.Ready).To(Equal(objects.ReadyTrue), s.Message)
		g.Expect(s.ObservedGeneration).To(Equal(s.Generation))
		if revision != "" {
			g.Expect(s.Revision).To(Equal(revision))
		}
	}, timeout, poll).Should(Succeed())
	return obj
}

func get(t testing.TB, obj client.Object) {
	t.Helper()
	if err := testCluster.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatal(err)
	}
}

func configMapObj(ns, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

// installHello installs the hello chart from Git as HelmRelease hello with
// greeting v1 and waits until it is released.
func installHello(t testing.TB, ns string) {
	t.Helper()
	if _, err := gitSrv.Commit(ns+"/fleet.git", "main", "chart", chartFiles("charts/hello")); err != nil {
		t.Fatal(err)
	}
	apply(t, gitRepositoryYAML(ns, "fleet", gitSrv.URL(ns+"/fleet.git"))+"---\n"+helmReleaseYAML(ns, "hello", "./charts/hello", "v1"))
	waitReady(t, objects.HelmRelease, ns, "hello", "0.1.0")
}

// editByHand changes a ConfigMap's key as a person with kubectl edit would.
func editByHand(t testing.TB, ns, name, key, value string) {
	t.Helper()
	cm := configMapObj(ns, name)
	get(t, cm)
	patch := client.MergeFrom(cm.DeepCopy())
	cm.Data[key] = value
	if err := testCluster.Client.Patch(context.Background(), cm, patch); err != nil {
		t.Fatal(err)
	}
}
