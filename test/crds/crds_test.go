// Package crds checks Ferry's CRDs against a real kube-apiserver: Flux's own
// documented manifests apply unchanged with kubectl's strict field validation,
// invalid ones are rejected with the API server's message, and kubectl shows
// the printcolumns, short names and categories Flux users rely on.
package crds

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	"github.com/ferrycd/ferry/test/cluster"
)

var testCluster *cluster.Cluster

func TestMain(m *testing.M) {
	c, err := cluster.Start(cluster.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCluster = c
	code := m.Run()
	_ = c.Stop()
	os.Exit(code)
}

const examples = "../testdata/flux-examples"

func TestFluxExamplesApplyUnchanged(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examples, "valid", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid examples found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			g := NewWithT(t)
			data, err := os.ReadFile(f)
			g.Expect(err).NotTo(HaveOccurred())
			for _, ns := range namespacesIn(data) {
				ensureNamespace(t, ns)
			}
			out, err := testCluster.Kubectl(nil, "apply", "--validate=strict", "-f", f)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(out).To(MatchRegexp(`(created|configured|unchanged)`))
		})
	}
}

var expectLine = regexp.MustCompile(`(?m)^# expect: (.+)$`)

func TestInvalidManifestsAreRejected(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examples, "invalid", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid examples found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			g := NewWithT(t)
			data, err := os.ReadFile(f)
			g.Expect(err).NotTo(HaveOccurred())
			m := expectLine.FindSubmatch(data)
			g.Expect(m).NotTo(BeNil(), "invalid example has no '# expect:' line")
			for _, ns := range namespacesIn(data) {
				ensureNamespace(t, ns)
			}
			_, err = testCluster.Kubectl(nil, "apply", "--validate=strict", "-f", f)
			g.Expect(err).To(HaveOccurred(), "the API server accepted an invalid manifest")
			g.Expect(err.Error()).To(ContainSubstring(strings.TrimSpace(string(m[1]))))
		})
	}
}

func TestKubectlShowsPrintColumnsAndCategories(t *testing.T) {
	g := NewWithT(t)
	ensureNamespace(t, "columns")
	_, err := testCluster.Kubectl([]byte(columnObjects), "apply", "--validate=strict", "-n", "columns", "-f", "-")
	g.Expect(err).NotTo(HaveOccurred())

	out, err := testCluster.Kubectl(nil, "get", "gitrepositories,kustomizations,helmreleases", "-n", "columns")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchRegexp(`(?m)^NAME\s+URL\s+AGE\s+READY\s+STATUS$`))
	g.Expect(out).To(MatchRegexp(`(?m)^gitrepository.source.toolkit.fluxcd.io/app\s+https://example.com/app\s+`))
	g.Expect(out).To(MatchRegexp(`(?m)^NAME\s+AGE\s+READY\s+STATUS$`))
	g.Expect(out).To(ContainSubstring("kustomization.kustomize.toolkit.fluxcd.io/app"))
	g.Expect(out).To(ContainSubstring("helmrelease.helm.toolkit.fluxcd.io/app"))

	out, err = testCluster.Kubectl(nil, "get", "fluxcd", "-n", "columns", "-o", "name")
	g.Expect(err).NotTo(HaveOccurred())
	for _, name := range []string{
		"gitrepository.source.toolkit.fluxcd.io/app",
		"helmrepository.source.toolkit.fluxcd.io/app",
		"helmchart.source.toolkit.fluxcd.io/app",
		"ocirepository.source.toolkit.fluxcd.io/app",
		"kustomization.kustomize.toolkit.fluxcd.io/app",
		"helmrelease.helm.toolkit.fluxcd.io/app",
	} {
		g.Expect(out).To(ContainSubstring(name))
	}

	out, err = testCluster.Kubectl(nil, "get", "fluxcd-sources", "-n", "columns", "-o", "name")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("gitrepository.source.toolkit.fluxcd.io/app"))
	g.Expect(out).NotTo(ContainSubstring("kustomization"))

	out, err = testCluster.Kubectl(nil, "get", "gitrepo,helmrepo,hc,ocirepo,ks,hr", "-n", "columns", "-o", "name")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(strings.Count(out, "/app")).To(Equal(6))
}

const columnObjects = `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: app
spec:
  interval: 1m
  url: https://example.com/app
  ref:
    branch: main
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: app
spec:
  interval: 5m
  url: https://charts.example.com
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata:
  name: app
spec:
  interval: 5m
  chart: app
  sourceRef:
    kind: HelmRepository
    name: app
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: app
spec:
  interval: 5m
  url: oci://registry.example.com/app
  ref:
    tag: latest
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app
spec:
  interval: 10m
  path: ./deploy
  prune: true
  sourceRef:
    kind: GitRepository
    name: app
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: app
spec:
  interval: 10m
  chart:
    spec:
      chart: app
      sourceRef:
        kind: HelmRepository
        name: app
`

// namespacesIn returns the namespaces the documents in data name.
func namespacesIn(data []byte) []string {
	var out []string
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		var obj struct {
			Metadata struct {
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if yaml.Unmarshal(doc, &obj) == nil && obj.Metadata.Namespace != "" {
			out = append(out, obj.Metadata.Namespace)
		}
	}
	return out
}

func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	ns := fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", name)
	if _, err := testCluster.Kubectl([]byte(ns), "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
}
