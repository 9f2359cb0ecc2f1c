package helmrelease

import (
	"context"
	"fmt"
	"testing"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// widgetCRD is a CRD in group g; extra adds a property to its schema.
func widgetCRD(group, extra string) string {
	return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.%[1]s
spec:
  group: %[1]s
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}%[2]s
`, group, extra)
}

func widgetChart(group, extra string) map[string]string {
	return withTemplate(goodChart, "crds/widgets.yaml", widgetCRD(group, extra))
}

// TestCRDs installs a chart's CRDs with the default policy (Create) and
// replaces them on upgrade with CreateReplace; a Widget template uses the
// new kind in the same release.
func TestCRDs(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	group := ns + ".example.com"
	withWidget := func(m map[string]string) map[string]string {
		return withTemplate(m, "widget.yaml", fmt.Sprintf("apiVersion: %s/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 3\n", group))
	}
	publishHelmChart(t, ns, "chart", "1.0.0", withWidget(widgetChart(group, "")))
	hr := newRelease(t, ns, "app", func(hr *helmv2.HelmRelease) {
		hr.Spec.Upgrade = &helmv2.Upgrade{CRDs: helmv2.CRDsPolicyCreateReplace}
	})
	waitReady(t, hr, "1.0.0", 1)
	w := &unstructured.Unstructured{}
	w.SetGroupVersionKind(schema.GroupVersionKind{Group: group, Version: "v1", Kind: "Widget"})
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "w"}, w)).To(Succeed())

	publishHelmChart(t, ns, "chart", "1.1.0", withWidget(widgetChart(group, "\n              color: {type: string}")))
	waitReady(t, hr, "1.1.0", 2)
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: "widgets." + group}, crd)).To(Succeed())
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	g.Expect(versions).To(HaveLen(1))
	props, _, _ := unstructured.NestedMap(versions[0].(map[string]any), "schema", "openAPIV3Schema", "properties", "spec", "properties")
	g.Expect(props).To(HaveKey("color"))
}

// TestTargetChange moves a release to another target namespace: the old
// release is uninstalled and a new one installed.
func TestTargetChange(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	other := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	hr := newRelease(t, ns, "app")
	waitReady(t, hr, "1.0.0", 1)
	update(t, hr, func(hr *helmv2.HelmRelease) { hr.Spec.TargetNamespace = other })
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(hr.Status.ObservedGeneration).To(Equal(hr.Generation))
		g.Expect(hr.Status.History.Latest().Namespace).To(Equal(other))
	})
	_, err := configMap(t, other, other+"-app-a")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = configMap(t, ns, "app-a")
	g.Expect(err).To(HaveOccurred(), "the old release was uninstalled")
	rels := helmList(t, hr)
	g.Expect(rels).To(HaveLen(1))
	g.Expect(rels[0].Name).To(Equal(other + "-app"))
}

// TestOCIRepositoryChartRef releases the chart of an OCIRepository: its
// version carries the artifact digest, so a re-pushed tag upgrades.
func TestOCIRepositoryChartRef(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	repo := &sourcev1.OCIRepository{}
	repo.Namespace, repo.Name = ns, "oci"
	repo.Spec.URL = "oci://registry.example.com/charts/app"
	repo.Spec.Interval.Duration = 3600e9
	g.Expect(env.Client.Create(ctx, repo)).To(Succeed())
	publishOCI := func(templates map[string]string) string {
		a, err := charts.Publish("app", "1.0.0", templates)
		g.Expect(err).NotTo(HaveOccurred())
		a.Revision = "1.0.0@" + a.Digest
		updateStatus(t, repo, func() {
			repo.Status.Artifact = a
			repo.Status.ObservedGeneration = repo.Generation
		})
		return "1.0.0+" + a.Digest[len("sha256:"):][:12]
	}
	version := publishOCI(goodChart)
	hr := newRelease(t, ns, "app", func(hr *helmv2.HelmRelease) {
		hr.Spec.ChartRef = &helmv2.CrossNamespaceSourceReference{Kind: sourcev1.OCIRepositoryKind, Name: "oci"}
	})
	waitReady(t, hr, version, 1)
	g.Expect(hr.Status.LastAttemptedRevision).To(Equal(version))
	g.Expect(hr.Status.LastAttemptedRevisionDigest).To(HavePrefix("sha256:"))
	g.Expect(hr.Status.History.Latest().OCIDigest).To(Equal(hr.Status.LastAttemptedRevisionDigest))

	version = publishOCI(withTemplate(goodChart, "c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"))
	waitReady(t, hr, version, 2)
}

// TestExternalArtifactChartRef releases the chart of an ExternalArtifact,
// both as a tarball of a chart directory (Chart.yaml at the root, as an
// ArtifactGenerator stores a chart copied from Git) and as a packaged
// chart. The version carries the artifact digest, so changed content under
// the same chart version upgrades.
func TestExternalArtifactChartRef(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	ea := &sourcev1.ExternalArtifact{}
	ea.Namespace, ea.Name = ns, "chart"
	g.Expect(env.Client.Create(ctx, ea)).To(Succeed())
	publish := func(a *fluxmeta.Artifact, err error) string {
		g.Expect(err).NotTo(HaveOccurred())
		updateStatus(t, ea, func() { ea.Status.Artifact = a })
		return "1.0.0+" + a.Digest[len("sha256:"):][:12]
	}

	version := publish(charts.PublishTree("app", "1.0.0", goodChart))
	hr := newRelease(t, ns, "app", func(hr *helmv2.HelmRelease) {
		hr.Spec.ChartRef = &helmv2.CrossNamespaceSourceReference{Kind: sourcev1.ExternalArtifactKind, Name: "chart"}
	})
	waitReady(t, hr, version, 1)
	g.Expect(hr.Status.LastAttemptedRevisionDigest).To(Equal(ea.Status.Artifact.Digest))
	g.Expect(configMap(t, ns, "app-a")).NotTo(BeNil())

	// New content, same Chart.yaml version: the watch on the
	// ExternalArtifact brings the upgrade.
	version = publish(charts.PublishTree("app", "1.0.0",
		withTemplate(goodChart, "c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-c\n")))
	waitReady(t, hr, version, 2)
	_, err := configMap(t, ns, "app-c")
	g.Expect(err).NotTo(HaveOccurred())

	version = publish(charts.Publish("app", "1.0.0", goodChart))
	waitReady(t, hr, version, 3)
}
